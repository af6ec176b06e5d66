"""Unit codes of the model (`Quantity.unit`, `EnergyRange.unit`) → QUDT unit IRIs and the kind of quantity measured.

The model writes units as UCUM-style codes (`GeV`, `TeV`, `kg.d`, `d`, `s`). QUDT names most of them
(`http://qudt.org/vocab/unit/GigaEV`); for those QUDT lacks (TeV and above, and the exposure units kg·d and t·yr of
dark-matter searches) dmlake defines its own `qudt:Unit`s in `ontology/vocab/unit.ttl`, each a scaling of a QUDT unit
with its conversion multiplier, so a consumer can still convert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

QUDT_UNIT = "http://qudt.org/vocab/unit/"
DML_UNIT = "https://w3id.org/dmlake/unit/"

Dimension = Literal["energy", "time", "mass", "exposure"]


@dataclass(frozen=True)
class Unit:
    code: str
    """The canonical UCUM-style code, as the model writes it."""
    iri: str
    dimension: Dimension
    symbol: str


def _qudt(code: str, local: str, dimension: Dimension, symbol: str | None = None) -> Unit:
    return Unit(code, QUDT_UNIT + local, dimension, symbol or code)


def _dml(code: str, local: str, dimension: Dimension, symbol: str | None = None) -> Unit:
    return Unit(code, DML_UNIT + local, dimension, symbol or code)


UNITS: tuple[Unit, ...] = (
    _qudt("eV", "EV", "energy"),
    _qudt("keV", "KiloEV", "energy"),
    _qudt("MeV", "MegaEV", "energy"),
    _qudt("GeV", "GigaEV", "energy"),
    _dml("TeV", "TeraEV", "energy"),
    _dml("PeV", "PetaEV", "energy"),
    _dml("EeV", "ExaEV", "energy"),
    _qudt("J", "J", "energy"),
    _qudt("s", "SEC", "time"),
    _qudt("min", "MIN", "time"),
    _qudt("h", "HR", "time"),
    _qudt("d", "DAY", "time"),
    _qudt("a", "YR", "time", "yr"),
    _qudt("g", "GM", "mass"),
    _qudt("kg", "KiloGM", "mass"),
    _qudt("t", "TONNE", "mass"),
    _dml("kg.d", "KiloGM-DAY", "exposure", "kg·d"),
    _dml("kg.a", "KiloGM-YR", "exposure", "kg·yr"),
    _dml("t.a", "TONNE-YR", "exposure", "t·yr"),
    _dml("t.d", "TONNE-DAY", "exposure", "t·d"),
    _dml("g.d", "GM-DAY", "exposure", "g·d"),
)
_BY_CODE = {unit.code: unit for unit in UNITS}
_BY_IRI = {unit.iri: unit for unit in UNITS}

# Energy prefixes are case-sensitive (MeV is not meV), so energies match exactly or in the all-capitals HEP spelling
# (HEPData writes GEV, TEV); the other units match case-insensitively through these spellings.
_ENERGY_CAPITALS = {unit.code.upper(): unit.code for unit in UNITS if unit.dimension == "energy" and unit.code != "J"}
_ALIASES = {
    "sec": "s", "second": "s", "seconds": "s",
    "minute": "min", "minutes": "min",
    "hr": "h", "hour": "h", "hours": "h",
    "day": "d", "days": "d",
    "y": "a", "yr": "a", "year": "a", "years": "a",
    "gram": "g", "kilogram": "kg", "kilograms": "kg",
    "tonne": "t", "tonnes": "t", "ton": "t", "tons": "t",
    "kgd": "kg.d", "kgday": "kg.d", "kgdays": "kg.d",
    "kga": "kg.a", "kgyr": "kg.a", "kgy": "kg.a", "kgyear": "kg.a", "kgyears": "kg.a",
    "ta": "t.a", "tyr": "t.a", "ty": "t.a", "tyear": "t.a", "tyears": "t.a", "tonneyear": "t.a", "tonneyears": "t.a",
    "tonyear": "t.a", "tonyears": "t.a",
    "td": "t.d", "tday": "t.d", "tdays": "t.d", "tonneday": "t.d", "tonnedays": "t.d",
    "gd": "g.d", "gday": "g.d", "gdays": "g.d",
}  # fmt: skip


def _alias_key(code: str) -> str:
    text = re.sub(r"\s+[x×]\s+", ".", code.strip().lower())
    return re.sub(r"[\s.·×*\-_]+", "", text)


def unit(code: str) -> Unit | None:
    """The unit a code stands for (`GeV`, `GEV`, `kg·d`, `kg x day`, `days`…), or None if dmlake does not know it."""
    text = code.strip()
    if text in _BY_CODE:
        return _BY_CODE[text]
    if text in _ENERGY_CAPITALS:
        return _BY_CODE[_ENERGY_CAPITALS[text]]
    key = _alias_key(text)
    canonical = _ALIASES.get(key) or next(
        (u.code for u in UNITS if u.dimension != "energy" and _alias_key(u.code) == key), None
    )
    return _BY_CODE[canonical] if canonical else None


def by_iri(iri: str) -> Unit | None:
    return _BY_IRI.get(iri)


def iris(dimension: Dimension) -> list[str]:
    """Every unit IRI of one kind of quantity (for SHACL `sh:in` lists)."""
    return [u.iri for u in UNITS if u.dimension == dimension]
