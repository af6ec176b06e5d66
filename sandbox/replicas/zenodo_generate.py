"""Deterministic Zenodo records for the replica: dark-matter and astroparticle data releases, up to a million.

Record `i` is computed from `(seed, i)` alone, when it is asked for, so `generated(1_000)` is the first thousand
records of `generated(1_000_000)` and a million records cost nothing until served. Each is a full InvenioRDM
record: an experiment of the vocabulary and its collaboration, a data product (event data, background model,
detector response, likelihood, exclusion limits, simulation, analysis software, technical note), creators with
ORCIDs and affiliations (ROR ids where we know them for certain), communities, keywords, licence, files with md5
checksums and sizes, related papers (arXiv, DOIs), data-taking dates, and version families with concept DOIs.

What the search filters on — community, resource type, access, keywords, file types, version family shape —
repeats with a period of `PERIOD` records, and update and creation stamps grow with `i`. That is what lets the
search answer filtered, range-restricted, sorted pages over a million records by arithmetic instead of a scan.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.replicas.zenodo_records import Facts, Wrapper
from sandbox.replicas.zenodo_shapes import (
    LICENSES,
    RESOURCE_TYPES,
    community_field,
    community_record,
    community_uuid,
    relation_title,
)

MAX_RECORDS = 1_000_000
FAMILY_BLOCK = 4
PERIOD = FAMILY_BLOCK * 251
RECID_BASE = 40_000_000
EPOCH = datetime(2018, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=180)
_PARTITIONS = ((4,), (3, 1), (1, 3), (2, 2), (2, 1, 1), (1, 2, 1), (1, 1, 2), (1, 1, 1, 1), (1, 1, 1, 1), (2, 1, 1))

# (experiment as written in keywords, collaboration, group, physics keywords, target keyword)
EXPERIMENTS = (
    ("XENONnT", "XENON Collaboration", "dm", ("dark matter", "WIMP", "direct detection"), "liquid xenon"),
    ("LZ", "LZ Collaboration", "dm", ("dark matter", "WIMP", "direct detection"), "liquid xenon"),
    ("PandaX-4T", "PandaX Collaboration", "dm", ("dark matter", "WIMP", "direct detection"), "liquid xenon"),
    ("DarkSide-50", "DarkSide Collaboration", "dm", ("dark matter", "WIMP", "direct detection"), "liquid argon"),
    ("CRESST-III", "CRESST Collaboration", "dm", ("dark matter", "low-mass dark matter", "direct detection"), "CaWO4"),
    ("SuperCDMS", "SuperCDMS Collaboration", "dm", ("dark matter", "direct detection"), "germanium"),
    ("COSINE-100", "COSINE-100 Collaboration", "dm", ("dark matter", "annual modulation"), "NaI(Tl)"),
    ("ANAIS-112", "ANAIS Collaboration", "dm", ("dark matter", "annual modulation"), "NaI(Tl)"),
    ("IceCube", "IceCube Collaboration", "nu", ("neutrino astronomy", "neutrinos"), "ice"),
    ("KM3NeT", "KM3NeT Collaboration", "nu", ("neutrino astronomy", "neutrinos"), "sea water"),
    ("Pierre Auger Observatory", "Pierre Auger Collaboration", "cr", ("cosmic rays", "extensive air showers"), "air"),
    ("KASCADE-Grande", "KASCADE-Grande Collaboration", "cr", ("cosmic rays", "extensive air showers"), "air"),
    ("Telescope Array", "Telescope Array Collaboration", "cr", ("cosmic rays", "extensive air showers"), "air"),
    ("H.E.S.S.", "H.E.S.S. Collaboration", "gamma", ("gamma-ray astronomy", "very high energy"), "atmosphere"),
    ("MAGIC", "MAGIC Collaboration", "gamma", ("gamma-ray astronomy", "very high energy"), "atmosphere"),
    ("LHAASO", "LHAASO Collaboration", "gamma", ("gamma-ray astronomy", "cosmic rays"), "atmosphere"),
    ("Fermi-LAT", "Fermi-LAT Collaboration", "gamma", ("gamma-ray astronomy",), "space"),
    ("LIGO", "LIGO Scientific Collaboration", "gw", ("gravitational waves", "multi-messenger"), "interferometer"),
    ("Virgo", "Virgo Collaboration", "gw", ("gravitational waves", "multi-messenger"), "interferometer"),
)

ENERGY_UNITS = {"dm": "keV", "nu": "TeV", "cr": "EeV", "gamma": "TeV", "gw": "Hz"}
"""The unit each field quotes its range in (gravitational-wave strain data: a frequency band)."""

GROUP_COMMUNITIES = {
    "dm": ("dark-matter-direct-detection", "Dark Matter Direct Detection"),
    "nu": ("neutrino-astronomy", "Neutrino Astronomy"),
    "cr": ("cosmic-ray-data", "Cosmic-Ray Data"),
    "gamma": ("gamma-ray-astronomy", "Gamma-Ray Astronomy"),
    "gw": ("gw-open-science", "Gravitational-Wave Open Science"),
}
SHARED_COMMUNITIES = (("escape2020", "ESCAPE 2020"), ("astroparticle-open-data", "Astroparticle Open Data"))

# (keyword naming the product, title, resource type, files as (name pattern, extension, mimetype))
PRODUCTS = (
    ("event data", "Event data", "dataset", (("events_run{run}.h5", "h5", "application/x-hdf5"),
                                             ("events_run{run}.csv", "csv", "text/csv"))),
    ("background model", "Background model", "dataset",
     (("background_model_run{run}.json", "json", "application/json"),)),
    ("detector response", "Detector response: efficiencies and quenching factors", "dataset",
     (("efficiency_run{run}.csv", "csv", "text/csv"), ("quenching_factor.csv", "csv", "text/csv"))),
    ("likelihood", "Binned likelihood", "dataset",
     (("likelihood_run{run}.json", "json", "application/json"), ("README.md", "md", "text/markdown"))),
    ("limit or exclusion curve", "Exclusion limits", "dataset",
     (("limits_run{run}.csv", "csv", "text/csv"), ("limits_run{run}.pdf", "pdf", "application/pdf"))),
    ("simulation", "Monte Carlo simulation", "dataset",
     (("simulation_run{run}.root", "root", "application/octet-stream"),)),
    ("software", "Analysis software", "software", (("analysis-v{version}.zip", "zip", "application/zip"),)),
    ("documentation", "Technical note", "publication-technicalnote",
     (("technical_note_run{run}.pdf", "pdf", "application/pdf"),)),
)  # fmt: skip
PRODUCT_WEIGHTS = (22, 14, 12, 12, 12, 10, 10, 8)

GIVEN = (
    "Anna", "Marco", "Yuki", "Priya", "Lukas", "Sofia", "Chen", "Amara", "Jonas", "Elena", "Rafael", "Ingrid",
    "Kwame", "Mei", "Tomás", "Leila", "Pavel", "Hana", "Diego", "Freya", "Omar", "Julia", "Kenji", "Noor",
)  # fmt: skip
FAMILY = (
    "Rossi", "Müller", "Tanaka", "Sharma", "Schmidt", "García", "Wang", "Okafor", "Larsen", "Petrova", "Silva",
    "Andersson", "Mensah", "Li", "Novak", "Haddad", "Ivanov", "Kim", "Fernández", "Nielsen", "Aziz", "Weber",
    "Sato", "Khan", "Bianchi", "Fischer", "Dubois", "Moreau",
)  # fmt: skip
AFFILIATIONS = (
    ("European Organization for Nuclear Research", "01ggx4157"),
    ("Karlsruhe Institute of Technology", "04t3en479"),
    ("Gran Sasso National Laboratory", None),
    ("University of Zurich", None),
    ("Stockholm University", None),
    ("Technical University of Munich", None),
    ("University of Chicago", None),
    ("Institute for Basic Science", None),
    ("University of Zaragoza", None),
    ("Max Planck Institute for Nuclear Physics", None),
    ("Kamioka Observatory", None),
    ("SNOLAB", None),
)
DATA_LICENSES = ("cc-by-4.0", "cc-by-4.0", "cc-by-4.0", "cc0-1.0", "cc-by-sa-4.0", "cc-by-nc-4.0")
SOFTWARE_LICENSES = ("mit", "bsd-3-clause", "gpl-3.0-or-later", "apache-2.0")


def _hash(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=8).digest(), "big")


def orcid(number: int) -> str:
    """A well-formed ORCID iD (ISO 7064 11,2 check digit) in the range ORCID assigns."""
    digits = f"{15_000_000 + number % 24_999_999:015d}"  # 0000-0001-5000-0007 to 0000-0003-9999-999x
    total = 0
    for digit in digits:
        total = (total + int(digit)) * 2
    check = (12 - total % 11) % 11
    text = digits + ("X" if check == 10 else str(check))
    return "-".join(text[i : i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class Pattern:
    """What record `i` has in common with every record `i ± k·PERIOD`."""

    family_offset: int
    """How far the record is from the first version of its family."""
    family_size: int
    version_index: int
    experiment: int
    product: int
    resource_type: str
    access: str
    license: str
    communities: tuple[tuple[str, str], ...]
    keywords: tuple[str, ...]
    file_types: tuple[str, ...]

    @property
    def is_last_version(self) -> bool:
        return self.version_index == self.family_size


def _pattern(seed: int, residue: int) -> Pattern:
    block, position = divmod(residue, FAMILY_BLOCK)
    partition = _PARTITIONS[_hash(seed, "block", block) % len(_PARTITIONS)]
    start = 0
    for size in partition:
        if position < start + size:
            break
        start += size
    family = _hash(seed, "family", block * FAMILY_BLOCK + start)
    experiment = family % len(EXPERIMENTS)
    product = random.Random(family).choices(range(len(PRODUCTS)), weights=PRODUCT_WEIGHTS)[0]
    label, _, group, physics, target = EXPERIMENTS[experiment]
    keyword, _, resource_type, files = PRODUCTS[product]
    roll = family % 100
    access = "open" if roll < 90 else ("embargoed" if roll < 96 else "restricted")
    licences = SOFTWARE_LICENSES if resource_type == "software" else DATA_LICENSES
    communities = [GROUP_COMMUNITIES[group]]
    if family % 5 < 2:
        communities.append(SHARED_COMMUNITIES[0])
    if family % 7 < 2:
        communities.append(SHARED_COMMUNITIES[1])
    keywords = (label, *physics, target, keyword)
    return Pattern(
        family_offset=position - start,
        family_size=size,
        version_index=position - start + 1,
        experiment=experiment,
        product=product,
        resource_type=resource_type,
        access=access,
        license=licences[family % len(licences)],
        communities=tuple(communities),
        keywords=tuple(dict.fromkeys(keywords)),
        file_types=tuple(sorted({ext for _, ext, _ in files})),
    )


class GeneratedBase:
    """`count` generated records (see the module docstring), computed on demand."""

    def __init__(self, count: int, seed: int = 0) -> None:
        if not 0 <= count <= MAX_RECORDS:
            raise ValueError(f"the Zenodo replica generates 0 to {MAX_RECORDS:,} records, not {count:,}")
        self.count = count
        self.seed = seed
        self.patterns = [_pattern(seed, r) for r in range(PERIOD)]

    # -- RecordBase ------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.count

    def native_id(self, index: int) -> str:
        return str(RECID_BASE + 2 * index)

    def index_of(self, native_id: str) -> int | None:
        if not native_id.isdigit():
            return None
        offset = int(native_id) - RECID_BASE
        if offset < 0 or offset % 2:
            return None
        index = offset // 2
        return index if index < self.count else None

    def created(self, index: int) -> datetime:
        jitter = _hash(self.seed, "created", index) % 60_000_000
        return EPOCH + STEP * index + timedelta(microseconds=jitter)

    def updated(self, index: int) -> datetime:
        jitter = _hash(self.seed, "updated", index) % 60_000_000
        return self.created(index) + timedelta(microseconds=jitter)

    def record(self, index: int) -> Wrapper:
        return {"rdm": self._rdm(index), "legacy": None}

    # -- what the search needs -------------------------------------------------------------------------------------
    def pattern(self, index: int) -> Pattern:
        return self.patterns[index % PERIOD]

    def family_bounds(self, index: int) -> tuple[int, int]:
        pattern = self.pattern(index)
        first = index - pattern.family_offset
        return first, min(first + pattern.family_size, self.count)

    def is_latest(self, index: int) -> bool:
        return index == self.family_bounds(index)[1] - 1

    def family(self, index: int) -> list[int]:
        first, stop = self.family_bounds(index)
        return list(range(first, stop))

    def concept_family(self, concept_id: str) -> list[int] | None:
        if not concept_id.isdigit():
            return None
        offset = int(concept_id) - RECID_BASE - 1
        if offset < 0 or offset % 2 or offset // 2 >= self.count:
            return None
        first = offset // 2
        return self.family(first) if self.pattern(first).family_offset == 0 else None

    def concept_id(self, index: int) -> int:
        return RECID_BASE + 2 * self.family_bounds(index)[0] + 1

    def facts(self, index: int) -> Facts:
        pattern = self.pattern(index)
        recid, concept = RECID_BASE + 2 * index, self.concept_id(index)
        created = self.created(index)
        return Facts(
            recid=recid,
            parent=concept,
            version_index=pattern.version_index,
            is_latest=self.is_latest(index),
            created=created,
            updated=self.updated(index),
            publication_date=created.date().isoformat(),
            resource_type=pattern.resource_type,
            access=pattern.access,
            communities=(*(s for s, _ in pattern.communities), *(community_uuid(s) for s, _ in pattern.communities)),
            keywords=pattern.keywords,
            file_types=pattern.file_types if pattern.access == "open" else (),
            views=_hash(self.seed, "views", index) % 5000,
            doi=f"10.5281/zenodo.{recid}",
            conceptdoi=f"10.5281/zenodo.{concept}",
        )

    def community_records(self, base: str) -> list[dict[str, Any]]:
        every = [*GROUP_COMMUNITIES.values(), *SHARED_COMMUNITIES]
        return [community_record(slug, title, base, "2017-06-01T09:00:00.000000+00:00") for slug, title in every]

    # -- the record ------------------------------------------------------------------------------------------------
    def _rdm(self, index: int) -> dict[str, Any]:
        facts = self.facts(index)
        pattern = self.pattern(index)
        rng = random.Random(f"zenodo:{self.seed}:{index}")
        label, collaboration, group, _, target = EXPERIMENTS[pattern.experiment]
        keyword, product_title, resource_type, file_specs = PRODUCTS[pattern.product]
        run = 1 + (facts.parent // 2) % 12
        version = f"v{pattern.version_index}.0"
        created = facts.created
        year = created.year
        title = f"{label}: {product_title}, science run {run} ({year})"
        exposure = round(rng.uniform(0.1, 5.0), 2)
        low, high = sorted((round(rng.uniform(0.5, 5), 1), round(rng.uniform(20, 200), 0)))
        description = (
            f"<p>{product_title} of the {collaboration} for science run {run}, released with the "
            f"{label} analysis of {year}.</p>"
            f"<p>Detection medium: {target}. The release contains:</p><ul>"
            f"<li>exposure: {exposure} tonne&nbsp;&times;&nbsp;year</li>"
            f"<li>range: {low}&ndash;{high:.0f} {ENERGY_UNITS[group]}</li>"
            f"<li>version {version} of this {keyword} release</li></ul>"
        )
        creators: list[dict[str, Any]] = []
        if rng.random() < 0.5:
            creators.append({"person_or_org": {"type": "organizational", "name": collaboration}})
        for _ in range(rng.randint(2, 5)):
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            person: dict[str, Any] = {
                "type": "personal",
                "name": f"{family}, {given}",
                "given_name": given,
                "family_name": family,
            }
            if rng.random() < 0.6:
                person["identifiers"] = [{"identifier": orcid(_hash(self.seed, given, family)), "scheme": "orcid"}]
            name, ror = rng.choice(AFFILIATIONS)
            place: dict[str, Any] = {"name": name}
            if ror:
                place["id"] = ror
            creators.append({"person_or_org": person, "affiliations": [place]})
        contributors = []
        if rng.random() < 0.4:
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            contributors.append(
                {
                    "person_or_org": {
                        "type": "personal",
                        "name": f"{family}, {given}",
                        "given_name": given,
                        "family_name": family,
                    },
                    "role": {"id": "contactperson", "title": {"en": "Contact person"}},
                }
            )
        related = []
        arxiv = f"arXiv:{(year % 100):02d}{rng.randint(1, 12):02d}.{rng.randint(1, 29999):05d}"
        related.append(self._relation(arxiv, "arxiv", "issupplementto", "publication-preprint"))
        if rng.random() < 0.5:
            paper = f"10.1103/PhysRevD.{100 + year % 20}.{rng.randint(10000, 129999):06d}"
            related.append(self._relation(paper, "doi", "issupplementto", "publication-article"))
        if rng.random() < 0.3:
            cited = f"10.1140/epjc/s10052-{year}-{rng.randint(10000, 12999)}-{rng.randint(1, 9)}"
            related.append(self._relation(cited, "doi", "references", "publication-article"))
        if pattern.version_index > 1 and rng.random() < 0.5:
            previous = f"10.5281/zenodo.{facts.recid - 2}"
            related.append(self._relation(previous, "doi", "isnewversionof", resource_type))
        if rng.random() < 0.25:
            page = f"https://www.{label.lower().replace(' ', '').replace('.', '')}.org/data/run{run}"
            related.append(self._relation(page, "url", "isdocumentedby", None))
        files_public = pattern.access == "open"
        entries: dict[str, dict[str, Any]] = {}
        for name_pattern, ext, mimetype in file_specs:
            key = name_pattern.format(run=run, version=version.lstrip("v"))
            checksum = hashlib.md5(f"{self.seed}:{index}:{key}".encode()).hexdigest()
            entries[key] = {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"zenodo-replica:{self.seed}:{index}:{key}")),
                "checksum": f"md5:{checksum}",
                "ext": ext,
                "key": key,
                "mimetype": mimetype,
                "size": 1024 + _hash(self.seed, "size", index, key) % 4_000_000_000,
                "storage_class": "L",
                "metadata": {},
                "access": {"hidden": False},
            }
        licence_title, licence_url = LICENSES[pattern.license]
        access: dict[str, Any] = {
            "record": "public",
            "files": "public" if files_public else "restricted",
            "embargo": {"active": pattern.access == "embargoed", "reason": None},
            "status": pattern.access,
        }
        if pattern.access == "embargoed":
            access["embargo"].update(until="2030-01-01", reason="Publication of the collaboration's paper pending")
        first = self.family_bounds(index)[0]
        communities = [
            community_record(slug, name, "https://zenodo.org", "2017-06-01T09:00:00.000000+00:00")
            for slug, name in pattern.communities
        ]
        views = facts.views
        metadata: dict[str, Any] = {
            "resource_type": {"id": resource_type, "title": {"en": RESOURCE_TYPES.get(resource_type, resource_type)}},
            "creators": creators,
            "title": title,
            "publisher": "Zenodo",
            "publication_date": facts.publication_date,
            "subjects": [{"subject": k} for k in pattern.keywords],
            "contributors": contributors,
            "dates": [
                {
                    "date": f"{year - 1}-{rng.randint(1, 6):02d}/{year - 1}-{rng.randint(7, 12):02d}",
                    "type": {"id": "collected", "title": {"en": "Collected"}},
                }
            ]
            if resource_type == "dataset"
            else [],
            "languages": [{"id": "eng", "title": {"en": "English"}}],
            "related_identifiers": related,
            "version": version,
            "rights": [
                {
                    "id": pattern.license,
                    "title": {"en": licence_title},
                    "description": {"en": ""},
                    "props": {"url": licence_url, "scheme": "spdx"},
                }
            ],
            "description": description,
        }
        if not contributors:
            del metadata["contributors"]
        if not metadata["dates"]:
            del metadata["dates"]
        files: dict[str, Any] = {"enabled": True, "order": []}
        if files_public:
            files.update(count=len(entries), total_bytes=sum(int(e["size"]) for e in entries.values()), entries=entries)
        return {
            "created": created.isoformat(),
            "updated": facts.updated.isoformat(),
            "id": str(facts.recid),
            "pids": {
                "doi": {"identifier": facts.doi, "provider": "datacite", "client": "datacite"},
                "oai": {"identifier": f"oai:zenodo.org:{facts.recid}", "provider": "oai"},
            },
            "metadata": metadata,
            "custom_fields": {},
            "access": access,
            "files": files,
            "media_files": {"enabled": False, "order": []},
            "status": "published",
            "is_published": True,
            "is_draft": False,
            "versions": {"is_latest": facts.is_latest, "index": pattern.version_index},
            "parent": {
                "id": str(facts.parent),
                "pids": {"doi": {"identifier": facts.conceptdoi, "provider": "datacite", "client": "datacite"}},
                "communities": community_field(communities),
                "access": {"owned_by": {"user": 100_000 + _hash(self.seed, "owner", first) % 900_000}},
            },
            "revision_id": 3,
            "stats": {
                "this_version": {
                    "views": views,
                    "unique_views": views * 9 // 10,
                    "downloads": views // 4,
                    "unique_downloads": views // 5,
                },
                "all_versions": {
                    "views": views * pattern.family_size,
                    "unique_views": views * pattern.family_size * 9 // 10,
                    "downloads": views * pattern.family_size // 4,
                    "unique_downloads": views * pattern.family_size // 5,
                },
            },
            "deletion_status": {"is_deleted": False, "status": "P"},
        }

    @staticmethod
    def _relation(identifier: str, scheme: str, relation: str, resource_type: str | None) -> dict[str, Any]:
        item: dict[str, Any] = {
            "identifier": identifier,
            "scheme": scheme,
            "relation_type": {"id": relation, "title": {"en": relation_title(relation)}},
        }
        if resource_type:
            item["resource_type"] = {
                "id": resource_type,
                "title": {"en": RESOURCE_TYPES.get(resource_type, resource_type)},
            }
        return item
