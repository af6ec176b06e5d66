"""Zenodo's OAI-PMH endpoint (`/oai2d`, invenio-oaiserver), replayed from the recorded sessions or generated.

From the corpus (`zenodo/oai/extracted/`): every identifier of every recorded answer (347), with its latest
recorded header (datestamp, sets, `status="deleted"`) and the metadata bodies recorded for it (`oai_dc` for 216,
the DataCite kernel for 54 of those). They are served in the order Zenodo listed them (its listing follows the
search index, not the datestamp), 50 per page, through real resumption tokens. `oai_datacite` is the recorded
DataCite kernel inside DataCite's OAI envelope, as invenio's serializer writes it (no oai_datacite answer was
recorded). The 131 identifiers recorded only as ListIdentifiers headers are listed by ListIdentifiers under the
prefix they were recorded with; their metadata was never recorded, so GetRecord answers `cannotDisseminateFormat`
for them and ListRecords does not list them. Errors are answered as Zenodo answers them — HTTP 422, invenio's
envelope, the recorded codes and messages (`badArgument` "metadataPrefix does not exist" for an unknown prefix,
`noRecordsMatch` for an unknown set or an empty range, `badResumptionToken`, `idDoesNotExist`, and "You have passed
too many arguments." for a token with other arguments).

Generated: Zenodo-like dark-matter and astroparticle records `oai:zenodo.org:<40000000+i>`, record i from
(seed, i) alone, in `oai_dc`, `datacite` and `oai_datacite`, with community sets (`user-<slug>`) and
`openaire_data`; datestamps grow with i, so a million costs nothing until listed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from sandbox.replicas.oaipmh import (
    DATACITE,
    OAI_DATACITE,
    OAI_DC,
    OAI_DC_OPEN,
    SECONDS,
    MetadataFormat,
    OaiBaseDefaults,
    OaiListBase,
    OaiPmhReplica,
    OaiRecord,
    RepositoryProfile,
    revise,
    wrap_oai_datacite,
)
from sandbox.store import ReplicaStore

_OAI = "{http://www.openarchives.org/OAI/2.0/}"
NAMESPACE_PREFIX = {
    "http://www.openarchives.org/OAI/2.0/oai_dc/": "oai_dc",
    "http://datacite.org/schema/kernel-4": "datacite",
}
COMMUNITIES = ("dark-matter", "astroparticle", "cosine-100", "kcdc", "icecube", "xenon", "hess", "auger")
ZENODO_FORMATS = (
    MetadataFormat(
        "marcxml",
        "https://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd",
        "https://www.loc.gov/standards/marcxml/",
    ),
    OAI_DC,
    DATACITE,
    OAI_DATACITE,
)
ZENODO = RepositoryProfile(
    name="Zenodo",
    path="/oai2d",
    admin_email="info@zenodo.org",
    formats=ZENODO_FORMATS,
    sets=(
        ("openaire_data", "OpenAIRE data sets"),
        ("software", "Software"),
        *((f"user-{slug}", slug.replace("-", " ").title()) for slug in COMMUNITIES),
    ),
    granularity=SECONDS,
    deleted_record="no",
    earliest_datestamp="2014-02-03T14:41:33Z",
    error_status=422,
    unknown_prefix=("badArgument", "metadataPrefix does not exist"),
    page_size=50,
    order="index",
    token_lifetime=120.0,
    stylesheet="/static/oai2.xsl",
    derived={"oai_datacite": wrap_oai_datacite("CERN.ZENODO")},
)


def _recover_parser() -> etree.XMLParser:
    # one recorded page (2024, ListIdentifiers) was cut short before </ListIdentifiers>: read what it holds
    return etree.XMLParser(recover=True, resolve_entities=False, no_network=True, load_dtd=False)


def load_corpus(corpus: Path) -> list[OaiRecord] | None:
    folder = corpus / "zenodo" / "oai" / "extracted"
    index = folder / "INDEX.json"
    if not index.is_file():
        return None
    entries = sorted(json.loads(index.read_text()), key=lambda e: e["recorded_at"])
    order: list[str] = []
    headers: dict[str, tuple[str, tuple[str, ...], bool]] = {}
    bodies: dict[str, dict[str, str]] = {}
    listed: dict[str, set[str]] = {}
    for entry in entries:
        if entry["status"] != 200:
            continue
        root = etree.fromstring((folder / Path(entry["file"]).name).read_bytes(), _recover_parser())
        prefix = _prefix_of(entry["uri"])
        for header in root.iter(_OAI + "header"):
            identifier = (header.findtext(_OAI + "identifier") or "").strip()
            if not identifier:
                continue
            if identifier not in headers:
                order.append(identifier)
            specs = tuple((s.text or "").strip() for s in header.iterfind(_OAI + "setSpec"))
            # Zenodo flags the same record, at the same datestamp, deleted in one answer and live in another: a
            # record any answer called deleted is served as deleted
            was_deleted = identifier in headers and headers[identifier][2]
            stamp = (header.findtext(_OAI + "datestamp") or "").strip()
            headers[identifier] = (stamp, specs, was_deleted or _deleted(header))
            record = header.getparent()
            metadata = record.find(_OAI + "metadata") if record is not None and record.tag == _OAI + "record" else None
            if metadata is not None and len(metadata):
                body = metadata[0]
                kind = NAMESPACE_PREFIX.get(etree.QName(body).namespace or "")
                if kind:
                    bodies.setdefault(identifier, {})[kind] = etree.tostring(body, encoding="unicode", with_tail=False)
            elif prefix:
                listed.setdefault(identifier, set()).add(prefix)
    records = [
        OaiRecord(
            identifier=identifier,
            datestamp=datetime.fromisoformat(headers[identifier][0].replace("Z", "+00:00")),
            sets=headers[identifier][1],
            bodies=bodies.get(identifier, {}),
            listed=frozenset(listed.get(identifier, set())),
            deleted=headers[identifier][2],
        )
        for identifier in order
    ]
    return records or None


def _deleted(header: etree._Element) -> bool:
    return header.get("status") == "deleted"


def _prefix_of(uri: str) -> str | None:
    from urllib.parse import parse_qs, urlsplit

    values = parse_qs(urlsplit(uri).query).get("metadataPrefix")
    return values[0] if values else ("oai_dc" if "resumptionToken" in uri else None)


class ZenodoOaiReplica(OaiPmhReplica):
    profile = ZENODO

    def source_options(self) -> dict[str, Any]:
        return {"profile": "zenodo", "metadata_prefix": "oai_dc"}

    @classmethod
    def from_corpus(cls, corpus: Path) -> ZenodoOaiReplica | None:
        records = load_corpus(corpus)
        if records is None:
            return None
        return cls(ReplicaStore(OaiListBase(records), revise))

    @classmethod
    def generated(cls, count: int, seed: int = 0) -> ZenodoOaiReplica:
        return cls(ReplicaStore(GeneratedZenodoBase(count, seed), revise))


# -- generated records ----------------------------------------------------------------------------------------------
RECID_BASE = 40_000_000
EPOCH = datetime(2019, 1, 1, tzinfo=UTC)
STEP_SECONDS = 97
EXPERIMENTS = (
    ("XENONnT", "XENON Collaboration", "liquid xenon", "dark matter"),
    ("LZ", "LZ Collaboration", "liquid xenon", "dark matter"),
    ("COSINE-100", "COSINE-100 Collaboration", "NaI(Tl)", "dark matter"),
    ("CRESST-III", "CRESST Collaboration", "CaWO4", "dark matter"),
    ("IceCube", "IceCube Collaboration", "ice", "neutrino astronomy"),
    ("KASCADE-Grande", "KASCADE-Grande Collaboration", "air", "cosmic rays"),
    ("H.E.S.S.", "H.E.S.S. Collaboration", "atmosphere", "gamma-ray astronomy"),
    ("Pierre Auger Observatory", "Pierre Auger Collaboration", "air", "cosmic rays"),
)
PRODUCTS = (
    ("event data", "Dataset"),
    ("background model", "Dataset"),
    ("detector response", "Dataset"),
    ("likelihood", "Dataset"),
    ("exclusion limits", "Dataset"),
    ("analysis software", "Software"),
)
FAMILY = ("Schmidt", "Rossi", "Kim", "Tanaka", "Novak", "García", "Müller", "Okafor", "Larsen", "Dubois")
GIVEN = ("Anna", "Luca", "Jiwoo", "Haruto", "Petra", "Diego", "Lena", "Chinedu", "Ingrid", "Claire")
LICENSES = (
    (
        "cc-by-4.0",
        "Creative Commons Attribution 4.0 International",
        "https://creativecommons.org/licenses/by/4.0/legalcode",
    ),
    ("cc0-1.0", "Creative Commons Zero v1.0 Universal", "https://creativecommons.org/publicdomain/zero/1.0/legalcode"),
)
DATACITE_OPEN = (
    '<resource xmlns="http://datacite.org/schema/kernel-4" '
    'xsi:schemaLocation="http://datacite.org/schema/kernel-4 http://schema.datacite.org/meta/kernel-4.5/metadata.xsd">'
)


class GeneratedZenodoBase(OaiBaseDefaults):
    """Record i of a deterministic Zenodo-like repository; datestamps grow with i (so ranges are bisected)."""

    def __init__(self, count: int, seed: int = 0) -> None:
        self.count_ = count
        self.seed = seed

    def __len__(self) -> int:
        return self.count_

    def native_id(self, index: int) -> str:
        return f"oai:zenodo.org:{RECID_BASE + index}"

    def index_of(self, native_id: str) -> int | None:
        head, _, number = native_id.rpartition(":")
        if head != "oai:zenodo.org" or not number.isdigit():
            return None
        index = int(number) - RECID_BASE
        return index if 0 <= index < self.count_ else None

    def updated(self, index: int) -> datetime:
        return EPOCH + timedelta(seconds=STEP_SECONDS * index)

    def sets_of(self, index: int) -> tuple[str, ...]:
        community = COMMUNITIES[index % len(COMMUNITIES)]
        kind = PRODUCTS[(index // len(COMMUNITIES)) % len(PRODUCTS)][1]
        return (f"user-{community}", "software" if kind == "Software" else "openaire_data")

    def formats_of(self, index: int) -> frozenset[str]:
        return frozenset(("oai_dc", "datacite"))

    def count(self, lo: int, hi: int, set_spec: str | None, prefixes: frozenset[str]) -> int | None:
        if not prefixes & {"oai_dc", "datacite"}:
            return 0
        if set_spec is None:
            return max(0, hi - lo)
        if set_spec.startswith("user-") and set_spec[5:] in COMMUNITIES:
            residue, period = COMMUNITIES.index(set_spec[5:]), len(COMMUNITIES)
            return _count_residue(lo, hi, residue, period)
        if set_spec in ("software", "openaire_data"):
            period = len(COMMUNITIES) * len(PRODUCTS)
            blocks = [k for k, (_, kind) in enumerate(PRODUCTS) if (kind == "Software") == (set_spec == "software")]
            return sum(
                _count_residue(lo, hi, block * len(COMMUNITIES) + c, period)
                for block in blocks
                for c in range(len(COMMUNITIES))
            )
        return 0

    def record(self, index: int) -> dict[str, Any]:
        return {"identifier": self.native_id(index), "sets": list(self.sets_of(index)), "bodies": self.bodies(index)}

    def bodies(self, index: int) -> dict[str, str]:
        digest = hashlib.blake2b(f"{self.seed}:{index}".encode(), digest_size=16).digest()
        experiment, collaboration, target, field = EXPERIMENTS[digest[0] % len(EXPERIMENTS)]
        product, kind = PRODUCTS[(index // len(COMMUNITIES)) % len(PRODUCTS)]
        recid = RECID_BASE + index
        concept = recid - 1 - (index % 3)
        year = 2015 + digest[1] % 11
        run = 1 + digest[2] % 9
        title = f"{experiment} {product}, run {run} ({year})"
        people = [
            (FAMILY[(digest[3 + k]) % len(FAMILY)], GIVEN[(digest[6 + k]) % len(GIVEN)])
            for k in range(1 + digest[9] % 3)
        ]
        orcids = [
            f"0000-000{digest[10 + k] % 3}-{1000 + digest[11 + k] * 7 % 9000}-{1000 + index % 8999}"
            for k in range(len(people))
        ]
        spdx, license_name, license_url = LICENSES[digest[12] % len(LICENSES)]
        issued = (self.updated(index) - timedelta(days=digest[13] % 30)).strftime("%Y-%m-%d")
        description = (
            f"{product.capitalize()} of the {collaboration} ({experiment}), {field}, target {target}. "
            f"Released for reuse with the analysis of run {run}."
        )
        keywords = (field, experiment, product, target)
        doi = f"10.5281/zenodo.{recid}"
        creators_dc = "".join(f"<dc:creator>{escape(f)}, {escape(g)}</dc:creator>" for f, g in people)
        subjects_dc = "".join(f"<dc:subject>{escape(k)}</dc:subject>" for k in keywords)
        oai_dc = (
            f"{OAI_DC_OPEN}{creators_dc}<dc:date>{issued}</dc:date>"
            f"<dc:description>{escape(description)}</dc:description>"
            f"<dc:identifier>https://doi.org/{doi}</dc:identifier><dc:identifier>oai:zenodo.org:{recid}</dc:identifier>"
            f"<dc:publisher>Zenodo</dc:publisher>"
            f"<dc:relation>https://zenodo.org/communities/{self.sets_of(index)[0][5:]}/</dc:relation>"
            f"<dc:relation>https://doi.org/10.5281/zenodo.{concept}</dc:relation>"
            f"<dc:rights>info:eu-repo/semantics/openAccess</dc:rights><dc:rights>{escape(license_name)}</dc:rights>"
            f"<dc:rights>{license_url}</dc:rights>{subjects_dc}<dc:title>{escape(title)}</dc:title>"
            f"<dc:type>info:eu-repo/semantics/other</dc:type></oai_dc:dc>"
        )
        creators = "".join(
            f'<creator><creatorName nameType="Personal">{escape(f)}, {escape(g)}</creatorName>'
            f"<givenName>{escape(g)}</givenName><familyName>{escape(f)}</familyName>"
            f'<nameIdentifier nameIdentifierScheme="ORCID" schemeURI="https://orcid.org">{o}</nameIdentifier>'
            f"<affiliation>{escape(collaboration)}</affiliation></creator>"
            for (f, g), o in zip(people, orcids, strict=True)
        )
        subjects = "".join(f"<subject>{escape(k)}</subject>" for k in keywords)
        datacite = (
            f'{DATACITE_OPEN}<identifier identifierType="DOI">{doi}</identifier>'
            f'<alternateIdentifiers><alternateIdentifier alternateIdentifierType="oai">oai:zenodo.org:{recid}'
            f"</alternateIdentifier></alternateIdentifiers><creators>{creators}</creators>"
            f"<titles><title>{escape(title)}</title></titles><publisher>Zenodo</publisher>"
            f"<publicationYear>{issued[:4]}</publicationYear><subjects>{subjects}</subjects>"
            f'<contributors><contributor contributorType="HostingInstitution">'
            f'<contributorName nameType="Organizational">'
            f"{escape(collaboration)}</contributorName></contributor></contributors>"
            f'<dates><date dateType="Issued">{issued}</date>'
            f'<date dateType="Updated">{self.updated(index).strftime("%Y-%m-%d")}</date></dates>'
            f'<resourceType resourceTypeGeneral="{kind}">{escape(product)}</resourceType>'
            f'<relatedIdentifiers><relatedIdentifier relatedIdentifierType="DOI" relationType="IsVersionOf">'
            f"10.5281/zenodo.{concept}</relatedIdentifier></relatedIdentifiers>"
            f"<version>{1 + index % 3}</version>"
            f'<rightsList><rights rightsURI="{license_url}" rightsIdentifierScheme="spdx" rightsIdentifier="{spdx}">'
            f'{escape(license_name)}</rights><rights rightsURI="info:eu-repo/semantics/openAccess">Open Access</rights>'
            f'</rightsList><descriptions><description descriptionType="Abstract">{escape(description)}</description>'
            f"</descriptions></resource>"
        )
        return {"oai_dc": oai_dc, "datacite": datacite}


def _count_residue(lo: int, hi: int, residue: int, period: int) -> int:
    """How many i in [lo, hi) have i % period == residue."""
    if hi <= lo:
        return 0

    def upto(n: int) -> int:  # i in [0, n)
        return (n - residue + period - 1) // period if n > residue else 0

    return upto(hi) - upto(lo)
