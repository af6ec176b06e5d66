"""Deterministic generated HEPData holdings: record `i` is computed from `(seed, i)` alone, on demand.

Up to millions of records cost nothing until asked for. What is cheap to ask for without building a record (its
INSPIRE id, HEPData record id and last-updated time) is computed arithmetically, so `/search/ids` over a million
records stays fast. Records cover several collaborations, collision systems, reactions, observables and √s values;
each has 1 to 3 finalised versions with table DOIs, some submission resources (links, and files with DOIs), and
table data that the converter routes can serve.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.replicas.hepdata_submission import DOI_PREFIX, iso, resource_id, table_id

INSPIRE_BASE = 2_000_000
RECID_BASE = 200_000
FIRST_UPDATE = datetime(2012, 1, 1, tzinfo=UTC)
SPARSE_STEP, SPARSE_COUNT = timedelta(hours=8), 10_000
DENSE_STEP = timedelta(seconds=20)
"""Records are updated in index order: the first 10,000 every 8 hours (nine years, about HEPData's own pace),
the rest every 20 seconds (a million records end in 2021). Stamps depend on (seed, i) only."""


@dataclass(frozen=True)
class Profile:
    collaboration: str
    beams: str
    energies: tuple[float, ...]
    processes: tuple[str, ...]
    observables: tuple[str, ...]
    phrases: tuple[str, ...]
    journal: str


PROFILES = (
    Profile("ATLAS", "P P", (7000.0, 8000.0, 13000.0, 13600.0),
            ("TOP TOPBAR X", "Z0 < LEPTON+ LEPTON- > X", "HIGGS X", "JET JET X", "W+ < LEPTON+ NU > X"),
            ("SIG", "DSIG/DPT", "DSIG/DYRAP", "DSIG/DMASS", "1/SIG*DSIG/DPT"),
            ("Top", "Cross Section", "Jet Production", "Higgs", "Electroweak"), "Phys.Rev.D"),
    Profile("CMS", "P P", (7000.0, 8000.0, 13000.0),
            ("TOP TOPBAR X", "GAMMA JET X", "Z0 Z0 X", "B BBAR X"),
            ("SIG", "DSIG/DPT", "DSIG/DETARAP", "ASYM"), ("Top", "Photon Production", "Diboson", "Bottom"),
            "JHEP"),
    Profile("CMS", "PB PB", (2760.0, 5020.0), ("CHARGED X", "JET X"), ("RAA", "V2"),
            ("Heavy Ion", "Nuclear Modification Factor", "Flow"), "Phys.Lett.B"),
    Profile("LHCb", "P P", (7000.0, 8000.0, 13000.0),
            ("(D0 + DBAR0) X", "B+ X", "J/PSI X", "Z0 < MU+ MU- > X"),
            ("D2SIG/DPT/DYRAP", "DSIG/DYRAP", "RATIO"), ("Charm Production", "Bottom", "Forward Physics"), "JHEP"),
    Profile("ALICE", "P PB", (5020.0, 8160.0), ("CHARGED X", "PI0 X", "(D0 + DBAR0) X"),
            ("DSIG/DPT", "RPPB", "DN/DETARAP"), ("Proton-Lead", "Charged Particle Production"), "Eur.Phys.J.C"),
    Profile("H1", "E+ P", (318.0, 319.0), ("E+ JET X", "E+ D*+ X"), ("D2SIG/DQ**2/DX", "DSIG/DET"),
            ("Deep Inelastic Scattering", "Jet Production"), "Eur.Phys.J.C"),
    Profile("STAR", "AU AU", (62.4, 200.0), ("CHARGED X", "PI+ X"), ("V2", "DN/DPT"),
            ("Heavy Ion", "Flow"), "Phys.Rev.C"),
    Profile("Belle", "E+ E-", (10580.0,), ("B BBAR", "TAU+ TAU-"), ("SIG", "BR"),
            ("Bottom", "Branching Ratio"), "Phys.Rev.Lett."),
    Profile("CDF", "P PBAR", (1800.0, 1960.0), ("JET X", "W+ X", "TOP TOPBAR X"), ("SIG", "DSIG/DET"),
            ("Jet Production", "Top"), "Phys.Rev.Lett."),
)  # fmt: skip

SURNAMES = (
    "Aaij", "Abbott", "Adam", "Bauer", "Chen", "Dubois", "Ekström", "Fujii", "García", "Hoffmann", "Ivanov",
    "Jones", "Kowalski", "López", "Müller", "Nakamura", "Olsen", "Petrov", "Rossi", "Singh", "Tanaka",
)  # fmt: skip
INITIALS = ("A.", "B.", "C.", "D.", "E.", "F.", "G.", "H.", "J.", "K.", "L.", "M.", "N.", "P.", "R.", "S.", "T.")


class GeneratedHoldings:
    """A `RecordBase` of `count` generated HEPData holdings (record i from seed and i)."""

    def __init__(self, count: int, seed: int = 0) -> None:
        if count < 0:
            raise ValueError(f"cannot generate {count} records: the count must be zero or more")
        self.count = count
        self.seed = seed
        self._offset = seed % 3

    def __len__(self) -> int:
        return self.count

    # -- cheap accessors ---------------------------------------------------------------------------------------
    def inspire_id(self, index: int) -> int:
        return INSPIRE_BASE + 3 * index + self._offset

    def recid(self, index: int) -> int:
        return RECID_BASE + index

    def native_id(self, index: int) -> str:
        return f"ins{self.inspire_id(index)}"

    def updated(self, index: int) -> datetime:
        # a cheap integer hash: /search/ids asks for up to a million of these
        jitter = timedelta(seconds=(index * 2_654_435_761 + self.seed * 40_503) % 20)
        if index < SPARSE_COUNT:
            return FIRST_UPDATE + index * SPARSE_STEP + jitter
        return FIRST_UPDATE + SPARSE_COUNT * SPARSE_STEP + (index - SPARSE_COUNT) * DENSE_STEP + jitter

    def first_index_since(self, when: datetime) -> int:
        """The first index updated at or after `when` (stamps grow with the index, so a binary search)."""
        low, high = 0, self.count
        while low < high:
            middle = (low + high) // 2
            if self.updated(middle) < when:
                low = middle + 1
            else:
                high = middle
        return low

    def inspire_number(self, index: int) -> int:
        return self.inspire_id(index)

    def numbers_between(self, start: int, stop: int, inspire: bool) -> range:
        """The INSPIRE ids (or HEPData record ids) of records [start, stop): both grow with the index, evenly."""
        if inspire:
            return range(self.inspire_id(start), self.inspire_id(stop), 3)
        return range(self.recid(start), self.recid(stop))

    def index_of(self, native_id: str) -> int | None:
        digits = native_id.removeprefix("ins")
        if not digits.isdigit():
            return None
        offset = int(digits) - INSPIRE_BASE - self._offset
        if offset < 0 or offset % 3:
            return None
        index = offset // 3
        return index if index < self.count else None

    def index_of_recid(self, recid: int) -> int | None:
        index = recid - RECID_BASE
        return index if 0 <= index < self.count else None

    # -- the record --------------------------------------------------------------------------------------------
    def record(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.count:
            raise IndexError(f"generated record {index} is out of range 0..{self.count - 1}")
        rng = random.Random(f"hepdata:{self.seed}:{index}")
        profile = PROFILES[rng.randrange(len(PROFILES))]
        inspire, recid = self.inspire_id(index), self.recid(index)
        energy = rng.choice(profile.energies)
        process = rng.choice(profile.processes)
        observable = rng.choice(profile.observables)
        newest = self.updated(index)
        paper_date = newest - timedelta(days=rng.randrange(120, 900))
        year = paper_date.year
        authors = [
            {"full_name": f"{rng.choice(SURNAMES)}, {rng.choice(INITIALS)}", "affiliation": f"Institute {k + 1}"}
            for k in range(rng.randrange(3, 14))
        ]
        beams_text = profile.beams.replace(" ", "").replace("+", "⁺").replace("-", "⁻")
        title = (
            f"Measurement of {observable} for {beams_text} → {process.split(' <')[0]} "
            f"at $\\sqrt{{s}} = {energy:g}$ GeV with the {profile.collaboration} detector"
        )
        publication = {
            "title": title,
            "abstract": (
                f"The {profile.collaboration} collaboration reports a measurement of {observable} in "
                f"{profile.beams} collisions at a centre-of-mass energy of {energy:g} GeV. Generated record {index}."
            ),
            "doi": f"10.99999/generated.{profile.journal.replace('.', '').lower()}.{year}.{inspire}",
            "arxiv_id": f"arXiv:{year % 100:02d}{paper_date.month:02d}.{10000 + index % 90000:05d}",
            "collaborations": [profile.collaboration],
            "creation_date": paper_date.date().isoformat(),
            "year": str(year),
            "journal_info": f"{profile.journal} {rng.randrange(1, 120)} ({year}) {rng.randrange(1, 999999):06d}",
            "keywords": [{"value": p, "schema": "INSPIRE"} for p in rng.sample(profile.phrases, 2)],
            "type": ["article"],
            "subject_area": ["hep-ex"] if profile.beams not in ("AU AU", "PB PB") else ["nucl-ex", "hep-ex"],
            "authors": authors,
        }
        version_count = 1 + rng.randrange(3)
        tables = self._tables(rng, profile, energy, process, observable)
        links = self._submission_resources(rng, profile, inspire)
        versions: list[dict[str, Any]] = []
        for number in range(1, version_count + 1):
            stamp = newest - timedelta(days=45 * (version_count - number))
            versions.append(
                {
                    "version": number,
                    "status": "finished",
                    "last_updated": iso(stamp),
                    "data_abstract": (
                        f"{profile.collaboration} data for {profile.beams} → {process} at √s = {energy:g} GeV "
                        f"(generated record {index}, version {number})."
                    ),
                    "resources": [
                        {
                            **link,
                            "id": resource_id(recid, number, position),
                            "doi": f"{DOI_PREFIX}/hepdata.{recid}.v{number}/r{position}" if link["is_file"] else None,
                        }
                        for position, link in enumerate(links, 1)
                    ],
                    "revision_message": None if number == 1 else f"Version {number}: corrected systematic errors.",
                    "tables": [
                        {
                            **table,
                            "id": table_id(recid, number, position),
                            "doi": f"{DOI_PREFIX}/hepdata.{recid}.v{number}/t{position}",
                        }
                        for position, table in enumerate(tables[: len(tables) - (version_count - number)] or tables, 1)
                    ],
                }
            )
        for version in versions:
            for resource in version["resources"]:
                resource.pop("is_file", None)
        return {
            "inspire_id": str(inspire),
            "recid": recid,
            "recid_verified": False,
            "publication": publication,
            "other_ids": [],
            "coordinator": 1 + index % 7,
            "analyses": [],
            "original": {},
            "versions": versions,
        }

    def _tables(
        self, rng: random.Random, profile: Profile, energy: float, process: str, observable: str
    ) -> list[dict[str, Any]]:
        tables = []
        for position in range(1, 2 + rng.randrange(8)):
            name = f"Table {position}" if rng.random() < 0.8 else f"Figure {position}{'abc'[rng.randrange(3)]}"
            reaction = f"{profile.beams} --> {rng.choice(profile.processes) if position > 1 else process}"
            table_observable = observable if position == 1 else rng.choice(profile.observables)
            bins = 3 + rng.randrange(8)
            edges = sorted(round(rng.uniform(0, 500), 1) for _ in range(bins + 1))
            values = []
            for _ in range(bins):
                central = round(rng.lognormvariate(2, 1.5), 4)
                values.append(
                    {
                        "value": central,
                        "errors": [
                            {"label": "stat", "symerror": round(central * rng.uniform(0.01, 0.2), 4)},
                            {
                                "label": "sys",
                                "asymerror": {
                                    "plus": round(central * rng.uniform(0.01, 0.3), 4),
                                    "minus": -round(central * rng.uniform(0.01, 0.3), 4),
                                },
                            },
                        ],
                    }
                )
            data = {
                "independent_variables": [
                    {
                        "header": {"name": "PT", "units": "GEV"},
                        "values": [{"low": lo, "high": hi} for lo, hi in itertools.pairwise(edges)],
                    }
                ],
                "dependent_variables": [
                    {
                        "header": {"name": table_observable, "units": "PB/GEV"},
                        "qualifiers": [
                            {"name": "RE", "value": reaction},
                            {"name": "SQRT(S)", "units": "GEV", "value": f"{energy:.1f}"},
                        ],
                        "values": values,
                    }
                ],
            }
            tables.append(
                {
                    "name": name,
                    "description": (
                        f"Measured {table_observable} as a function of the transverse momentum for {reaction}, "
                        f"{bins} bins. The first uncertainty is statistical, the second systematic."
                    ),
                    "location": f"Data from Figure {position}",
                    "keywords": [
                        {"name": "reactions", "values": [reaction]},
                        {"name": "observables", "values": [table_observable]},
                        {"name": "cmenergies", "values": [f"{energy:.1f}"]},
                        {"name": "phrases", "values": rng.sample(profile.phrases, 1 + rng.randrange(2))},
                    ],
                    "data_file": f"data{position}.yaml",
                    "data_license": {"name": "CC0", "url": "https://creativecommons.org/publicdomain/zero/1.0/"}
                    if rng.random() < 0.2
                    else None,
                    "resources": [],
                    "data": data,
                    "data_text": None,
                }
            )
        return tables

    @staticmethod
    def _submission_resources(rng: random.Random, profile: Profile, inspire: int) -> list[dict[str, Any]]:
        resources = []
        if rng.random() < 0.5:
            resources.append(
                {
                    "location": f"https://github.com/{profile.collaboration.lower()}/analysis-{inspire}",
                    "description": "Analysis code",
                    "type": "github",
                    "is_file": False,
                }
            )
        if rng.random() < 0.3:
            resources.append(
                {
                    "location": f"https://{profile.collaboration.lower()}.example.org/papers/{inspire}.html",
                    "description": "Web page with auxiliary material",
                    "type": "html",
                    "is_file": False,
                }
            )
        if rng.random() < 0.3:
            resources.append(
                {
                    "location": "covariance.root",
                    "description": "Full covariance matrix",
                    "type": "ROOT",
                    "is_file": True,
                }
            )
        return resources
