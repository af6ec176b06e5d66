"""KCDC's OAI-PMH prototype (FastAPI, `/oai`, oai_dc only), serving the 37 preselection records of the corpus.

As the prototype does (github.com/CantaTronic/OAI_PMH_server_KCDC, `main.py`, `services/`): the identifier is the
record file's name (`KASCADE_ReducedData_runs_4685-7417_HDF5`), the metadata is the file's `oai_dc:dc` as written,
sets are `experimental:<detector component>` (the name up to its first `_`), datestamps are days, every answer
(errors included) is HTTP 200, and ListRecords answers everything at once — no resumption tokens. One deliberate
difference: the prototype stamps every record with the day of the request, which would make each record look
changed every day; the replica stamps a record with its `dc:date`, so incremental harvests can be tested.

Generated: KCDC-like preselections (detector component × selection × run range × file format), record i from
(seed, i), with the prototype's description blocks (abstract, table of contents with file sizes, the quantity table
with ranges and cuts).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from sandbox.replicas.oaipmh import (
    DAY,
    OAI_DC,
    OAI_DC_OPEN,
    OaiBaseDefaults,
    OaiListBase,
    OaiPmhReplica,
    OaiRecord,
    RepositoryProfile,
    revise,
)
from sandbox.store import ReplicaStore

DC = "{http://purl.org/dc/elements/1.1/}"
COMPONENTS = ("KASCADE", "COMBINED", "KASCADE-GRANDE", "KASCADE-CALOR", "KASCADE-LOPES", "COMBINED-LOPES")
KCDC = RepositoryProfile(
    name="KCDC OAI-PMH prototype",
    path="/oai",
    admin_email="kcdc-support@iap.kit.edu",
    formats=(OAI_DC,),
    sets=tuple((f"experimental:{c}", f"{c} preselections (experimental)") for c in COMPONENTS),
    granularity=DAY,
    deleted_record="no",
    earliest_datestamp="2020-01-01",
    error_status=200,
    unknown_prefix=("cannotDisseminateFormat", "The metadataPrefix is not supported by this repository."),
    page_size=100_000,  # the prototype answers every record in one response
    order="datestamp",
)


def _component(identifier: str) -> str:
    return identifier.split("_", 1)[0]


def load_corpus(corpus: Path) -> list[OaiRecord] | None:
    folder = corpus / "kcdc" / "oai_dc_prototype_server" / "records"
    files = sorted(folder.glob("*.md.xml")) if folder.is_dir() else []
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    records = []
    for path in files:
        root = etree.fromstring(path.read_bytes(), parser)
        dc = root if root.tag.endswith("}dc") else root.find("{http://www.openarchives.org/OAI/2.0/oai_dc/}dc")
        if dc is None:
            continue
        identifier = path.name.removesuffix(".md.xml")
        date = (dc.findtext(f"{DC}date") or "2020-01-01").strip()
        records.append(
            OaiRecord(
                identifier=identifier,
                datestamp=datetime.fromisoformat(date).replace(tzinfo=UTC),
                sets=(f"experimental:{_component(identifier)}",),
                bodies={"oai_dc": etree.tostring(dc, encoding="unicode", with_tail=False)},
            )
        )
    records.sort(key=lambda r: (r.datestamp, r.identifier))
    return records or None


class KcdcOaiReplica(OaiPmhReplica):
    profile = KCDC

    def source_options(self) -> dict[str, Any]:
        return {"profile": "kcdc", "metadata_prefix": "oai_dc"}

    @classmethod
    def from_corpus(cls, corpus: Path) -> KcdcOaiReplica | None:
        records = load_corpus(corpus)
        return None if records is None else cls(ReplicaStore(OaiListBase(records), revise))

    @classmethod
    def generated(cls, count: int, seed: int = 0) -> KcdcOaiReplica:
        return cls(ReplicaStore(GeneratedKcdcBase(count, seed), revise))


# -- generated preselections ----------------------------------------------------------------------------------------
SELECTIONS = ("ReducedData", "HighEnergyData", "SmallDataSample_nA", "SmallDataSample_wA")
FORMATS = ("ASCII", "HDF5", "ROOT")
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
QUANTITIES = (
    ("E", "Estimated primary energy", "10^13 - 10^19 eV"),
    ("Xc", "X-core position", "-91 - +91 m"),
    ("Yc", "Y-core position", "-91 - +91 m"),
    ("Ze", "Zenith angle", "0° - 60°"),
    ("Az", "Azimuth angle", "0° - 360°"),
    ("Ne", "Number of electrons", "100 - 500,000,000"),
    ("Nmu", "Number of Muons", "100 - 50,000,000"),
    ("Age", "Shower age", "0.1 - 1.48"),
)


class GeneratedKcdcBase(OaiBaseDefaults):
    """Preselection i: component, selection and format from i, runs and sizes from (seed, i); one a day."""

    def __init__(self, count: int, seed: int = 0) -> None:
        self.size = count
        self.seed = seed

    def __len__(self) -> int:
        return self.size

    def _parts(self, index: int) -> tuple[str, str, str, int, int]:
        component = COMPONENTS[index % len(COMPONENTS)]
        selection = SELECTIONS[(index // len(COMPONENTS)) % len(SELECTIONS)]
        fmt = FORMATS[(index // (len(COMPONENTS) * len(SELECTIONS))) % len(FORMATS)]
        first = 877 + (index * 37) % 6000
        return component, selection, fmt, first, first + 200 + index % 900

    def native_id(self, index: int) -> str:
        component, selection, fmt, first, last = self._parts(index)
        return f"{component}_{selection}_runs_{first:04d}-{last:04d}_{fmt}_{index}"

    def index_of(self, native_id: str) -> int | None:
        match = re.search(r"_(\d+)$", native_id)
        if match is None:
            return None
        index = int(match.group(1))
        return index if 0 <= index < self.size and self.native_id(index) == native_id else None

    def updated(self, index: int) -> datetime:
        return EPOCH + timedelta(hours=6 * index)

    def sets_of(self, index: int) -> tuple[str, ...]:
        return (f"experimental:{self._parts(index)[0]}",)

    def formats_of(self, index: int) -> frozenset[str]:
        return frozenset(("oai_dc",))

    def count(self, lo: int, hi: int, set_spec: str | None, prefixes: frozenset[str]) -> int | None:
        if "oai_dc" not in prefixes:
            return 0
        if set_spec is None:
            return max(0, hi - lo)
        return None

    def record(self, index: int) -> dict[str, Any]:
        identifier = self.native_id(index)
        component, selection, fmt, first, last = self._parts(index)
        digest = hashlib.blake2b(f"{self.seed}:{index}".encode(), digest_size=8).digest()
        size_mb = 5 + int.from_bytes(digest[:3]) % 50_000 / 10
        rows = "\n".join(
            f"{q:^9}| {d:^26} | {r:^19} | {'full range' if (digest[3] >> k) & 1 else 'cut':^10}"
            for k, (q, d, r) in enumerate(QUANTITIES)
        )
        table = (
            f"TechnicalInfo: {component} quantities selected\n"
            "Quantity |        Description         |        Range        |    Cut    \n"
            "---------+----------------------------+---------------------+-----------\n"
            f"{rows}\n"
        )
        body = (
            f"{OAI_DC_OPEN}<dc:title>{identifier}</dc:title>"
            "<dc:creator>Institute for Astroparticle Physics, Karlsruhe Institute of Technology</dc:creator>"
            "<dc:publisher>KASCADE Cosmic Ray Data Centre (KCDC)</dc:publisher>"
            f"<dc:date>{self.updated(index).strftime('%Y-%m-%d')}</dc:date>"
            "<dc:type>Reconstructed events</dc:type><dc:subject>Cosmic rays &amp; astroparticles</dc:subject>"
            "<dc:identifier>https://doi.org/10.17616/R3TS4P</dc:identifier>"
            f"<dc:identifier>https://kcdc.iap.kit.edu/Preselections/{identifier}.zip</dc:identifier>"
            f"<dc:language>en</dc:language><dc:format>Size: {size_mb:.3f} MB</dc:format>"
            f"<dc:format>Format: {fmt}</dc:format>"
            f"<dc:description>Abstract: {selection.replace('_', ' ')} of {component}, runs {first}-{last}"
            "</dc:description>"
            f"<dc:description>Table of Contents: Data file names / sizes events.{fmt.lower()} / {size_mb:.0f} MB"
            f"</dc:description><dc:description>{escape(table)}</dc:description>"
            "<dc:rights>End User Licence Agreement for using the KCDC IAP webportal and the KCDC data (EULA)"
            "</dc:rights>"
            "<dc:rights>https://kcdc.iap.kit.edu/static/pdf/kcdc_mainpage/EULA.pdf</dc:rights></oai_dc:dc>"
        )
        return {"identifier": identifier, "sets": list(self.sets_of(index)), "bodies": {"oai_dc": body}}
