"""Deterministic, varied canonical records for indexes built without a harvest (the index tests, the search benchmark).

Many records share titles, dates and values, so ties are common; every facet the search offers has several values
(sources, experiments, messengers, collision types, √s, energy intervals, licences, file formats, availability, dates
of every precision, DOIs on one record in three). The same arguments always give the same records.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from ontology.model import (
    Availability,
    Collision,
    Distribution,
    EnergyRange,
    Identifier,
    IdentifierScheme,
    Provenance,
    Quantity,
    Record,
    record_id,
)
from ontology.vocabulary import concept, license_concept

SOURCES = ("cernopendata", "zenodo", "hepdata", "kcdc", "gitlab")
EXPERIMENTS = ("CMS", "ATLAS", "ALICE", "LHCb", "XENON", "IceCube", "KASCADE", "CRESST", "LIGO", "Fermi-LAT")
COLLISIONS = ("pp", "PbPb", "pPb", "e+e-")
MESSENGERS = ("collider", "neutrino", "photon", "charged cosmic ray", "dark-matter direct detection")
FORMATS = ("root", "csv", "yaml", "json", "hdf5")
LICENSES = ("CC0-1.0", "CC-BY-4.0", "MIT")
KEYWORDS = ("dark matter", "Higgs boson", "muon", "jets", "WIMP", "cosmic rays", "top quark", "B physics")
TITLES = (
    "Measurement of the inclusive cross section",
    "Search for dark matter",
    "Open data release",
    "Table 1",
    "Muon spectrum",
    "Élan of neutrino oscillations",
    "Jet energy scale",
)
TITLE_ENDINGS = ("", "in pp collisions", "at 13 TeV", "with the full Run 2 data set")
ENERGIES = ((13.0, "TeV"), (7.0, "TeV"), (900.0, "GeV"), (5.02, "TeV"), (91.2, "GeV"))


def generated_provenance(source: str) -> Provenance:
    return Provenance(source=source, source_kind=source, raw_sha256="0" * 64, mapping_version="1")


def generated_record(i: int, rng: random.Random, **overrides: Any) -> Record:
    """Record number `i` of a generated collection, drawing from `rng`; `overrides` replace any field."""
    source = SOURCES[i % len(SOURCES)]
    experiment = rng.choice(EXPERIMENTS)
    year = rng.randint(1995, 2024)
    month = rng.randint(1, 12)
    issued = rng.choice([str(year), f"{year}-{month:02d}", f"{year}-{month:02d}-15", None])
    files = [
        Distribution(
            name=f"file{j}.{fmt}",
            url=f"https://example.org/{i}/file{j}.{fmt}",
            size_bytes=rng.randint(1, 10**9),
            format=fmt,
            availability=rng.choice([Availability.ONLINE, Availability.ON_TAPE]),
        )
        for j, fmt in enumerate(rng.sample(FORMATS, rng.randint(0, 3)))
    ]
    collision = None
    if rng.random() < 0.6:
        value, unit = rng.choice(ENERGIES)
        collision = Collision(
            type=concept("collision-type", rng.choice(COLLISIONS)), sqrt_s=Quantity(value=value, unit=unit)
        )
    energy_range = None
    if rng.random() < 0.3:
        low = rng.choice([0.001, 0.1, 1.0, 10.0])
        unit = rng.choice(["GeV", "TeV", "keV"])
        energy_range = EnergyRange(min=low, max=low * rng.choice([10, 100, 1000]), unit=unit)
    identifiers = []
    if i % 3 == 0:
        identifiers.append(Identifier(scheme=IdentifierScheme.DOI, value=f"10.5281/ZENODO.{100000 + i}"))
    description = rng.choice([None, f"<p>Data of the {experiment} experiment recorded in {year}.</p>"])
    fields: dict[str, Any] = {
        "id": record_id(source, str(i)),
        "source": source,
        "native_id": str(i),
        "title": f"{rng.choice(TITLES)} {rng.choice(TITLE_ENDINGS)}".strip(),
        "description": description,
        "experiments": [concept("experiment", experiment)],
        "messengers": [concept("messenger", rng.choice(MESSENGERS))],
        "keywords": rng.sample(KEYWORDS, rng.randint(0, 2)),
        "license": license_concept(rng.choice(LICENSES)),
        "issued": issued,
        "modified": rng.choice([None, f"{year + 1}-01-02T03:04:05Z"]),
        "collision": collision,
        "energy_range": energy_range,
        "distributions": files,
        "identifiers": identifiers,
        "provenance": generated_provenance(source),
    }
    fields.update(overrides)
    return Record(**fields)


def generated_records(count: int, seed: int = 7, start: int = 0) -> Iterator[Record]:
    """`count` records numbered from `start`; the same arguments give the same records."""
    rng = random.Random(seed * 1_000_003 + start)
    for i in range(start, start + count):
        yield generated_record(i, rng)
