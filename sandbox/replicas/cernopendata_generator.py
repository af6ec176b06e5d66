"""Generated CERN Open Data records in the portal's fixture format, computed from (seed, index) alone.

No record is held: record `i` is rebuilt on demand from a few independent splitmix64 streams seeded by (seed, i).
The mix follows the real portal: experiments
in the full fixture snapshot's proportions (CMS 6,992 · DELPHI 768 · ATLAS 171 · ALICE 160 · JADE 142 · LHCb 118 ·
OPERA 89 · TOTEM 2 · PHENIX 1, MANIFEST §1a) and, per experiment, the kinds of records the corpus has (CMS: mostly
trigger and configuration supplementaries, then simulated, collision and derived datasets, a little software,
environment and documentation; LEP and PETRA: collision and simulated datasets), with each experiment's real
data-taking eras (collision type, √s, years, run periods), formats, collections, DOIs on most datasets, index files
listing the data files for large datasets, adler32 checksums, and a few datasets in cold storage (`ondemand`).

A record's facet values (its search `Profile`) come from one stream only, so the search can evaluate a record's
profile without building the record; `profile_of(record(i))` equals `profile(profile_id_at(i))` by construction.
What the search reads is one profile id per record (4 bytes: 4 MB for a million records), filled block by block
with each block's profile counts (`fill` does all of it, in about a second per million records), so counting the
hits and facets of a recid range costs a few block counts, whatever the range. A search hit is built from a light
record (`hit_record`: the same draws, without the file names and checksums hits never show).
"""

from __future__ import annotations

import bisect
import itertools
import re
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any, Generic, TypeVar

from sandbox.replicas.cernopendata_api import spread_stamps
from sandbox.replicas.cernopendata_search import EVENT_RANGES, TERM_FACETS, Profile, events_bucket

T = TypeVar("T")
_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix(value: int) -> int:
    value = (value + _GOLDEN) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


class _Draw:
    """A splitmix64 stream: cheap, reproducible draws for one (seed, index, stream)."""

    __slots__ = ("state",)

    def __init__(self, seed: int, index: int, stream: int) -> None:
        self.state = _mix(_mix(seed & _MASK) ^ _mix((index << 8) | stream))

    def next(self) -> int:
        self.state = (self.state + _GOLDEN) & _MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next() % n

    def between(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return low + self.next() % (high - low + 1)

    def skip(self, count: int) -> None:
        """Make `count` draws whose values are not needed (so the stream's later draws stay where they were)."""
        for _ in range(count):
            self.next()

    def several_between(self, low: int, high: int, count: int) -> list[int]:
        """`count` successive `between(low, high)` draws, in one loop (a dataset lists up to 48 file sizes)."""
        span = high - low + 1
        state = self.state
        out = []
        for _ in range(count):
            state = (state + _GOLDEN) & _MASK
            z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
            out.append(low + (z ^ (z >> 31)) % span)
        self.state = state
        return out

    def chance(self, probability: float) -> bool:
        return (self.next() >> 11) < probability * (1 << 53)

    def pick(self, items: Sequence[T]) -> T:
        return items[self.next() % len(items)]

    def hex(self, digits: int) -> str:
        return format(self.next() & ((1 << (4 * digits)) - 1), f"0{digits}x")


@dataclass(frozen=True)
class _Weighted(Generic[T]):
    """Items with integer weights, drawn by bisection on the cumulative weights."""

    items: tuple[T, ...]
    cumulative: tuple[int, ...]

    @classmethod
    def of(cls, pairs: Sequence[tuple[T, int]]) -> _Weighted[T]:
        return cls(tuple(p[0] for p in pairs), tuple(itertools.accumulate(max(1, p[1]) for p in pairs)))

    def index(self, draw: _Draw) -> int:
        return bisect.bisect_right(self.cumulative, draw.below(self.cumulative[-1]))


# -- the portal's experiments, eras and record kinds ------------------------------------------------------------
@dataclass(frozen=True)
class _Experiment:
    name: str
    collaboration: str
    collaboration_recid: str | None
    accelerator: str
    doi_code: str
    eos: str


@dataclass(frozen=True)
class _Era:
    collision_type: str | None
    energy: str | None
    years: tuple[str, ...]
    run_periods: tuple[str, ...]
    published: str


@dataclass(frozen=True)
class _Variant:
    secondary: tuple[str, ...]
    formats: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    magnet_polarity: str | None = None
    stripping_stream: str | None = None


EXPERIMENTS = _Weighted.of(
    [
        (_Experiment("CMS", "CMS collaboration", "451", "CERN-LHC", "CMS", "cms"), 6992),
        (_Experiment("DELPHI", "DELPHI collaboration", None, "CERN-LEP", "DELPHI", "delphi"), 768),
        (_Experiment("ATLAS", "ATLAS Collaboration", None, "CERN-LHC", "ATLAS", "atlas"), 171),
        (_Experiment("ALICE", "ALICE Collaboration", None, "CERN-LHC", "ALICE", "alice"), 160),
        (_Experiment("JADE", "JADE collaboration", None, "DESY-PETRA", "JADE", "jade"), 142),
        (_Experiment("LHCb", "LHCb collaboration", "456", "CERN-LHC", "LHCB", "lhcb"), 118),
        (_Experiment("OPERA", "OPERA collaboration", None, "CERN-SPS", "OPERA", "opera"), 89),
        (_Experiment("TOTEM", "TOTEM collaboration", None, "CERN-LHC", "TOTEM", "totem"), 2),
        (_Experiment("PHENIX", "PHENIX collaboration", None, "BNL-RHIC", "PHENIX", "phenix"), 1),
    ]
)

ERAS: dict[str, _Weighted[_Era]] = {
    "CMS": _Weighted.of(
        [
            (_Era("pp", "7TeV", ("2010",), ("Run2010A", "Run2010B"), "2014"), 154),
            (_Era("pp", "7TeV", ("2011",), ("Run2011A",), "2016"), 462),
            (_Era("pp", "8TeV", ("2012",), ("Run2012B", "Run2012C"), "2017"), 169),
            (_Era("pp", "13TeV", ("2015",), ("Run2015D",), "2021"), 93),
            (_Era("pp", "13TeV", ("2016",), ("Run2016G", "Run2016H"), "2024"), 106),
            (_Era("pp", "5.02TeV", ("2015",), ("Run2015E",), "2023"), 33),
            (_Era("PbPb", "2.76TeV", ("2011",), ("HIRun2011",), "2019"), 10),
            (_Era("pPb", "5.02TeV", ("2013",), ("HIRun2013",), "2021"), 9),
        ]
    ),
    "ATLAS": _Weighted.of(
        [
            (_Era("pp", "8TeV", ("2012",), (), "2016"), 45),
            (_Era("pp", "13TeV", ("2015", "2016"), (), "2020"), 35),
            (_Era("pp", "13TeV", ("2016",), (), "2024"), 10),
            (_Era("PbPb", "5TeV", ("2015",), (), "2025"), 3),
        ]
    ),
    "ALICE": _Weighted.of(
        [
            (_Era("Pb-Pb", "5.02TeV", ("2015",), ("LHC15o",), "2025"), 138),
            (_Era("pp", "7TeV", ("2010",), ("LHC10b",), "2016"), 7),
            (_Era("PbPb", "2.76TeV", ("2010",), ("LHC10h",), "2016"), 6),
        ]
    ),
    "LHCb": _Weighted.of(
        [
            (_Era("pp", "7TeV", ("2011",), (), "2022"), 49),
            (_Era("pp", "8TeV", ("2012",), (), "2023"), 50),
            (_Era("pp", "13TeV", ("2016",), (), "2026"), 4),
        ]
    ),
    "DELPHI": _Weighted.of(
        [
            (_Era("e+e-", "91.2GeV", ("1994",), (), "2026"), 300),
            (_Era("e+e-", "91.2GeV", ("1995",), (), "2026"), 200),
            (_Era("e+e-", "189GeV", ("1998",), (), "2026"), 150),
            (_Era("e+e-", "200GeV", ("1999",), (), "2026"), 118),
        ]
    ),
    "JADE": _Weighted.of(
        [
            (_Era("e+e-", "35GeV", ("1986",), (), "2025"), 100),
            (_Era("e+e-", "44GeV", ("1985",), (), "2025"), 42),
        ]
    ),
    "OPERA": _Weighted.of(
        [
            (_Era(None, None, ("2008", "2009"), (), "2018"), 40),
            (_Era(None, None, ("2010", "2011", "2012"), (), "2019"), 49),
        ]
    ),
    "TOTEM": _Weighted.of(
        [(_Era("pp", "7TeV", ("2011",), (), "2024"), 1), (_Era("pp", "13TeV", ("2015",), (), "2024"), 1)]
    ),
    "PHENIX": _Weighted.of([(_Era("AuAu", "200GeV", ("2010",), (), "2023"), 1)]),
}

KINDS: dict[str, _Weighted[str]] = {
    "CMS": _Weighted.of(
        [
            ("trigger", 4149),
            ("configuration", 1588),
            ("simulated", 523),
            ("collision", 342),
            ("derived", 253),
            ("environment", 55),
            ("software", 46),
            ("documentation", 25),
        ]
    ),
    "ATLAS": _Weighted.of(
        [
            ("simulated", 73),
            ("derived", 71),
            ("collision", 18),
            ("environment", 5),
            ("documentation", 4),
            ("software", 3),
        ]
    ),
    "ALICE": _Weighted.of(
        [("collision", 152), ("software", 4), ("documentation", 2), ("derived", 1), ("environment", 1)]
    ),
    "LHCb": _Weighted.of(
        [("collision", 105), ("documentation", 8), ("derived", 3), ("software", 1), ("environment", 1)]
    ),
    "DELPHI": _Weighted.of([("collision", 700), ("simulated", 60), ("documentation", 8)]),
    "JADE": _Weighted.of([("collision", 100), ("simulated", 40), ("documentation", 2)]),
    "OPERA": _Weighted.of([("derived", 85), ("documentation", 4)]),
    "TOTEM": _Weighted.of([("derived", 2)]),
    "PHENIX": _Weighted.of([("derived", 1)]),
}

PRIMARY = {
    "collision": "Dataset",
    "simulated": "Dataset",
    "derived": "Dataset",
    "trigger": "Supplementaries",
    "configuration": "Supplementaries",
    "software": "Software",
    "environment": "Environment",
    "documentation": "Documentation",
}
DATASET_KINDS = ("collision", "simulated", "derived")
_LHCB_STREAMS = ("BHADRON", "CHARM", "DIMUON", "EW", "LEPTONIC", "RADIATIVE", "SEMILEPTONIC")


def _variants(experiment: str, kind: str) -> _Weighted[_Variant]:
    if kind == "collision":
        if experiment == "CMS":
            return _Weighted.of(
                [
                    (_Variant(("Collision",), ("aod", "root")), 5),
                    (_Variant(("Collision",), ("miniaod", "root")), 2),
                    (_Variant(("Collision",), ("nanoaod", "root")), 1),
                ]
            )
        if experiment == "LHCb":
            return _Weighted.of(
                [
                    (_Variant(("Collision",), (fmt,), (), polarity, stream), 1)
                    for fmt in ("DST", "MDST")
                    for polarity in ("MagDown", "MagUp")
                    for stream in _LHCB_STREAMS
                ]
            )
        if experiment == "DELPHI":
            return _Weighted.of([(_Variant(("Collision",), ("xsdst",)), 1)])
        return _Weighted.of([(_Variant(("Collision",), ("root",)), 1)])
    if kind == "simulated":
        if experiment == "CMS":
            return _Weighted.of(
                [
                    (_Variant(("Simulated",), ("aodsim", "root")), 5),
                    (_Variant(("Simulated",), ("miniaodsim", "root")), 2),
                    (_Variant(("Simulated",), ("nanoaodsim", "root")), 1),
                ]
            )
        if experiment == "ATLAS":
            return _Weighted.of(
                [(_Variant(("Simulated",), ("root",)), 70), (_Variant(("Derived", "Simulated"), ("root",)), 11)]
            )
        return _Weighted.of([(_Variant(("Simulated",), ("root",)), 1)])
    if kind == "derived":
        if experiment == "CMS":
            return _Weighted.of(
                [
                    (_Variant(("Derived",), ("nanoaodsim-poet", "root")), 3),
                    (_Variant(("Derived",), ("ig",), ("masterclass",)), 3),
                    (_Variant(("Derived",), ("csv",), ("education",)), 2),
                ]
            )
        if experiment == "ATLAS":
            return _Weighted.of(
                [
                    (_Variant(("Derived",), ("root",), ("education",)), 4),
                    (_Variant(("Derived",), ("DAOD_PHYSLITE", "root")), 2),
                    (_Variant(("Derived",), ("root", "zip"), ("masterclass",)), 1),
                ]
            )
        if experiment == "OPERA":
            return _Weighted.of([(_Variant(("Derived",), ("csv",), ("education",)), 1)])
        if experiment == "ALICE":
            return _Weighted.of([(_Variant(("Derived",), ("root",), ("heavy-ion physics",)), 1)])
        return _Weighted.of([(_Variant(("Derived",), ("root",)), 1)])
    if kind == "trigger":
        return _Weighted.of([(_Variant(("Trigger",)), 1)])
    if kind == "configuration":
        return _Weighted.of(
            [
                (_Variant(("Configuration",), ("py",)), 627),
                (_Variant(("Configuration SIM",), ("py",)), 313),
                (_Variant(("Configuration LHE",), ("py",)), 242),
                (_Variant(("Configuration HLT",), ("py",)), 214),
                (_Variant(("Configuration RECO",), ("py",)), 192),
            ]
        )
    if kind == "software":
        return _Weighted.of(
            [
                (_Variant(("Analysis",), ("gz",)), 11),
                (_Variant(("Tool",), ("zip",)), 15),
                (_Variant(("Framework",), ("gz",)), 3),
                (_Variant(("Tool", "Workflow"), ("py",)), 4),
            ]
        )
    if kind == "environment":
        return _Weighted.of(
            [
                (_Variant(("VM",), ("txt",)), 11),
                (_Variant(("Condition",), ("db",)), 20),
                (_Variant(("Validation",), ("json",)), 24),
            ]
        )
    return _Weighted.of(
        [
            (_Variant(("Activities",), (), ("education",)), 14),
            (_Variant(("Policy",)), 4),
            (_Variant(("Guide",), ("pdf",)), 2),
            (_Variant(("Authors",)), 3),
        ]
    )


CATEGORIES: tuple[tuple[str, tuple[str, ...]] | None, ...] = (
    None,
    ("Higgs Physics", ("Standard Model",)),
    ("Higgs Physics", ("Beyond Standard Model",)),
    ("Standard Model Physics", ("QCD",)),
    ("Standard Model Physics", ("ElectroWeak",)),
    ("Standard Model Physics", ("Top physics",)),
    ("Exotica", ("Gravitons",)),
)
_CATEGORY_WEIGHTS = _Weighted.of([(c, w) for c, w in zip(CATEGORIES, (60, 19, 6, 11, 4, 4, 2), strict=True)])
_BUCKET_WEIGHTS = _Weighted.of([(key, w) for (key, _, _), w in zip(EVENT_RANGES, (1, 2, 6, 18, 40, 33), strict=True)])
_VARIANTS = {(e.name, kind): _variants(e.name, kind) for e in EXPERIMENTS.items for kind in KINDS[e.name].items}
COLLECTIONS = {
    ("CMS", "collision"): "CMS-Primary-Datasets",
    ("CMS", "simulated"): "CMS-Simulated-Datasets",
    ("CMS", "derived"): "CMS-Derived-Datasets",
    ("CMS", "trigger"): "CMS-Trigger-Information",
    ("CMS", "configuration"): "CMS-Configuration-Files",
    ("CMS", "software"): "CMS-Tools",
    ("CMS", "environment"): "CMS-Condition-Data",
    ("ALICE", "collision"): "ALICE-Reconstructed-Data",
    ("LHCb", "collision"): "LHCb-Collision-Datasets",
}

# radices of the profile id (each at least the size of the table it indexes)
_R_EXPERIMENT, _R_KIND, _R_ERA, _R_VARIANT, _R_BUCKET, _R_CATEGORY = 16, 16, 16, 64, 8, 8


@dataclass(frozen=True)
class Spec:
    """The profile-stream draws of one record: everything its facets depend on."""

    experiment: _Experiment
    kind: str
    era: _Era | None
    variant: _Variant
    bucket: str | None
    ondemand: bool
    category: tuple[str, tuple[str, ...]] | None

    @property
    def primary(self) -> str:
        return PRIMARY[self.kind]

    @property
    def collection(self) -> str:
        default = f"{self.experiment.name}-{'Derived-Datasets' if self.kind == 'derived' else 'Datasets'}"
        if self.kind == "documentation":
            return (
                "Author-Lists"
                if self.variant.secondary == ("Authors",)
                else f"{self.experiment.name}-Learning-Resources"
            )
        if self.kind in ("software", "environment") and self.experiment.name != "CMS":
            return f"{self.experiment.name}-Tools"
        if self.kind == "simulated" and self.experiment.name != "CMS":
            return f"{self.experiment.name}-Simulated-Datasets"
        return COLLECTIONS.get((self.experiment.name, self.kind), default)

    @property
    def published(self) -> str:
        return self.era.published if self.era else "2024"

    @property
    def stripping_version(self) -> str | None:
        if self.variant.stripping_stream is None or self.era is None:
            return None
        return {"2011": "stripping21r1", "2012": "stripping21", "2016": "stripping28r2"}.get(self.era.years[0])


def _lookup(weighted: _Weighted[Any]) -> tuple[tuple[int, ...], int]:
    """A table from `bits % total` to the item drawn: what bisecting the cumulative weights gives, by indexing."""
    total = weighted.cumulative[-1]
    return tuple(bisect.bisect_right(weighted.cumulative, x) for x in range(total)), total


@dataclass(frozen=True)
class _KindRule:
    """What the profile draws of one (experiment, kind) need, precomputed."""

    eras: tuple[tuple[int, ...], int] | None
    """The era draw's table; None for documentation, which has no era (its code is then `no_era`)."""
    no_era: int
    variants: tuple[tuple[int, ...], int]
    dataset: bool
    cold: bool
    """Collision and simulated datasets can sit in cold storage."""
    categorised: bool


def _kind_rules(experiment: str) -> tuple[tuple[tuple[int, ...], int], tuple[_KindRule, ...]]:
    eras = ERAS[experiment]
    rules = tuple(
        _KindRule(
            eras=None if kind == "documentation" else _lookup(eras),
            no_era=len(eras.items),
            variants=_lookup(_VARIANTS[(experiment, kind)]),
            dataset=kind in DATASET_KINDS,
            cold=kind in ("collision", "simulated"),
            categorised=experiment == "CMS" and kind == "simulated",
        )
        for kind in KINDS[experiment].items
    )
    return _lookup(KINDS[experiment]), rules


_EXPERIMENT_TABLE = _lookup(EXPERIMENTS)
_RULES = tuple(_kind_rules(e.name) for e in EXPERIMENTS.items)
_BUCKET_TABLE = _lookup(_BUCKET_WEIGHTS)
_CATEGORY_TABLE = _lookup(_CATEGORY_WEIGHTS)
_NO_BUCKET = len(_BUCKET_WEIGHTS.items)
_COLD_BELOW = 0.02 * 0x10000
_INDEX_MULTIPLIER = 0xD1342543DE82EF95


def _profile_id(first: int, second: int) -> int:
    """The profile id drawn from a record's two 64-bit hashes, cut into 16-bit fields (see `draw_spec`)."""
    table, total = _EXPERIMENT_TABLE
    e = table[(first & 0xFFFF) % total]
    (table, total), rules = _RULES[e]
    k = table[((first >> 16) & 0xFFFF) % total]
    rule = rules[k]
    r = rule.no_era if rule.eras is None else rule.eras[0][((first >> 32) & 0xFFFF) % rule.eras[1]]
    table, total = rule.variants
    v = table[((first >> 48) & 0xFFFF) % total]
    b = _BUCKET_TABLE[0][(second & 0xFFFF) % _BUCKET_TABLE[1]] if rule.dataset else _NO_BUCKET
    c = _CATEGORY_TABLE[0][((second >> 32) & 0xFFFF) % _CATEGORY_TABLE[1]] if rule.categorised else 0
    ondemand = rule.cold and ((second >> 16) & 0xFFFF) < _COLD_BELOW
    return e + _R_EXPERIMENT * (
        k + _R_KIND * (r + _R_ERA * (v + _R_VARIANT * (b + _R_BUCKET * (c + _R_CATEGORY * ondemand))))
    )


@lru_cache(maxsize=1 << 15)
def draw_spec(seed: int, index: int) -> tuple[Spec, int]:
    """The record's profile draws and their profile id (a mixed-radix code of the draw indices).

    Two 64-bit hashes of (seed, index), cut into 16-bit fields, make every choice: a search over a range of
    records evaluates profiles without building records, so this is kept to a couple of microseconds (and the
    hits of the page just searched find their draws in the cache).
    """
    first = _mix(_mix(seed & _MASK) ^ (index * _INDEX_MULTIPLIER & _MASK))
    pid = _profile_id(first, _mix(first))
    spec = _SPECS.get(pid)
    if spec is None:
        spec = _SPECS[pid] = spec_of_profile_id(pid)
    return spec, pid


def profile_id_column(seed: int, start: int, stop: int) -> array[int]:
    """The profile ids of records [start, stop), as `draw_spec` gives them, without building specs (a search over
    a million records reads this column, filled once)."""
    mixed_seed = _mix(seed & _MASK)
    mix, profile_id, mask = _mix, _profile_id, _MASK
    column = array("I")
    for index in range(start, stop):
        first = mix(mixed_seed ^ (index * _INDEX_MULTIPLIER & mask))
        column.append(profile_id(first, mix(first)))
    return column


_SPECS: dict[int, Spec] = {}


def _spec_from_codes(e: int, k: int, r: int, v: int, b: int, c: int, ondemand: bool) -> Spec:
    experiment = EXPERIMENTS.items[e]
    kind = KINDS[experiment.name].items[k]
    eras = ERAS[experiment.name].items
    return Spec(
        experiment=experiment,
        kind=kind,
        era=eras[r] if r < len(eras) else None,
        variant=_VARIANTS[(experiment.name, kind)].items[v],
        bucket=_BUCKET_WEIGHTS.items[b] if b < len(_BUCKET_WEIGHTS.items) else None,
        ondemand=ondemand,
        category=CATEGORIES[c],
    )


def spec_of_profile_id(pid: int) -> Spec:
    codes = []
    for radix in (_R_EXPERIMENT, _R_KIND, _R_ERA, _R_VARIANT, _R_BUCKET, _R_CATEGORY):
        pid, code = divmod(pid, radix)
        codes.append(code)
    e, k, r, v, b, c = codes
    return _spec_from_codes(e, k, r, v, b, c, bool(pid))


def profile_of_spec(spec: Spec) -> Profile:
    era = spec.era
    values: dict[str, tuple[str, ...]] = {name: () for name in TERM_FACETS}
    values["experiment"] = (spec.experiment.name,)
    values["year"] = era.years if era else ()
    values["file_type"] = spec.variant.formats
    values["keywords"] = spec.variant.keywords
    values["collections"] = (spec.collection,)
    if era is not None and era.collision_type and spec.kind != "software":
        values["collision_type"] = (era.collision_type,)
        values["collision_energy"] = (era.energy,) if era.energy else ()
    if spec.variant.magnet_polarity:
        values["magnet_polarity"] = (spec.variant.magnet_polarity,)
    if spec.variant.stripping_stream:
        values["stripping_stream"] = (spec.variant.stripping_stream,)
        version = spec.stripping_version
        values["stripping_version"] = (version,) if version else ()
    return Profile(
        terms=tuple(values[name] for name in TERM_FACETS),
        type=(spec.primary, spec.variant.secondary),
        category=spec.category,
        events_bucket=spec.bucket,
        ondemand=spec.ondemand,
        published=spec.published,
    )


# -- names --------------------------------------------------------------------------------------------------------
_PRIMARY_DATASETS = (
    "DoubleMuon", "SingleElectron", "SingleMuon", "JetHT", "MuEG", "Tau", "BTagCSV", "MET", "SinglePhoton",
    "Charmonium", "ZeroBias", "MinimumBias", "DoubleEG", "DoubleElectron", "MuOnia", "HTMHT", "DisplacedJet",
)  # fmt: skip
_PROCESSES = (
    "DYJetsToLL_M-50", "TTJets", "WJetsToLNu", "GluGluHToZZTo4L_M125", "VBF_HToTauTau_M125", "ZZTo4L",
    "QCD_Pt-15to7000_Flat", "ST_t-channel_top_4f", "WWTo2L2Nu", "RSGravitonToZZ_kMpl01_M-2000",
    "TTToSemiLeptonic", "ZprimeToTT_M-3000_W-30", "BuToJpsiK", "Upsilon1SToMuMu", "MinBias",
)  # fmt: skip
_GENERATORS = ("pythia8", "madgraphMLM-pythia8", "powheg-pythia8", "amcatnloFXFX-pythia8", "herwigpp")
_TRIGGER_PATHS = ("HLT_Mu{a}", "HLT_IsoMu{a}_eta2p1", "HLT_Ele{a}_WPTight_Gsf", "HLT_PFJet{b}", "HLT_DoubleMu{a}_Mass8",
                  "HLT_Photon{b}", "HLT_PFMET{b}_PFMHT{b}_IDTight", "HLT_Dimuon{a}_Jpsi")  # fmt: skip
_SOFTWARE = ("analysis-examples", "dimuon-filter", "trigger-examples", "pattuples", "poet", "nanoaod-tools",
             "outreach-exercise", "jet-tuple-producer", "event-display", "higgs-example")  # fmt: skip
_FAMILY = ("McCauley", "Lange", "Rao", "Dallmeier-Tiessen", "Simko", "Geiser", "Tsai", "Herner", "Kunnawalkam",
           "Bin Anuar", "Calderon", "Lassila-Perini", "Sexton-Kennedy", "Cowan", "Germain",
           "Aguado Sanchez")  # fmt: skip
_GIVEN = ("Thomas", "Kati", "Audrius", "Achim", "Julie", "Clemens", "Kyle", "Raman", "Tibor", "Sunje", "Heather",
          "Edgar", "Jakob", "Glen", "Cecile", "Ana")  # fmt: skip
_AFFILIATIONS = (
    ("CERN", "01ggx4157"), ("Fermilab", "020hgte69"), ("Helsinki Inst. of Phys.", "01x2x1522"),
    ("DESY", "01js2sh04"), ("MIT", "042nb2s44"), ("Rutgers U., Piscataway", "05vt9qd57"),
    ("Royal Holloway, U. of London", "04g2vpn86"), ("Notre Dame U.", None),
)  # fmt: skip
_TUNES = ("CP5", "CUETP8M1", "Z2star")
_SIMULATED = ("Z to mumu", "ttbar", "Higgs to 4 leptons", "QCD dijets", "hadronic Z decays")
_DERIVED = ("event display files", "education ntuples", "reduced analysis sample", "masterclass dataset")
_ENVIRONMENTS = {"VM": "virtual machine image", "Condition": "condition database", "Validation": "validated runs"}
_DOCUMENTS = {"Activities": "outreach activity", "Policy": "data policy", "Guide": "open data guide",
              "Authors": "author list"}  # fmt: skip
_UNSAFE = re.compile(r"[^A-Za-z0-9.+-]+")
_DOI_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"[:32]
_DOI_MULTIPLIER = 0x5DEECE66D | 1
_DOI_SPACE = 1 << 40


def _orcid(draw: _Draw) -> str:
    """A syntactically valid ORCID iD, with its ISO 7064 11,2 check character."""
    digits = [draw.below(10) for _ in range(15)]
    total = 0
    for digit in digits:
        total = (total + digit) * 2
    check = (12 - total % 11) % 11
    text = "".join(map(str, digits)) + ("X" if check == 10 else str(check))
    return "-".join(text[i : i + 4] for i in range(0, 16, 4))


def _adler32(draw: _Draw) -> str:
    return f"adler32:{draw.hex(8)}"


@dataclass(frozen=True)
class _Index:
    key: str
    directory: str
    files: int


class GeneratedCernBase:
    """`count` generated records (implements `RecordBase` and the search's `SearchableBase`)."""

    def __init__(self, count: int, seed: int = 0) -> None:
        if count < 0:
            raise ValueError(f"cannot generate {count} records")
        if count > _DOI_SPACE:
            raise ValueError(f"at most {_DOI_SPACE} generated records")
        self.count = count
        self.seed = seed
        self._profiles: dict[int, Profile] = {}
        self._columns: dict[int, tuple[array[int], Counter[int]]] = {}
        self._total: Counter[int] | None = None

    # -- RecordBase ------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.count

    def native_id(self, index: int) -> str:
        return str(self.recid_at(index))

    def index_of(self, native_id: str) -> int | None:
        if not native_id.isdigit():
            return None
        block, offset = divmod(int(native_id) - 1, 69)
        if int(native_id) < 1 or offset >= 64:
            return None
        index = block * 64 + offset
        return index if index < self.count else None

    def record(self, index: int) -> dict[str, Any]:
        return self._build(index)[0]

    def hit_record(self, index: int) -> dict[str, Any]:
        """The record as far as its search hit shows it: files reduced to their type or size (hits carry no files,
        only what is counted from them), so a page of hits costs half as much to build."""
        return self._build(index, light=True)[0]

    def record_and_members(self, index: int) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
        """The record and the files its indices list, built once (what `GET /api/records/<recid>` shows)."""
        return self._build(index, with_members=True)

    def updated(self, index: int) -> datetime:
        return self.stamps(index)[1]

    # -- extras the replica reads ----------------------------------------------------------------------------
    def created(self, index: int) -> datetime:
        return self.stamps(index)[0]

    def stamps(self, index: int) -> tuple[datetime, datetime]:
        return _stamps(self.seed, index)

    def index_members(self, index: int) -> dict[str, list[dict[str, Any]]]:
        """The files each of the record's `*_file_index.json` lists (what `_file_indices` shows)."""
        return self._build(index, with_members=True)[1]

    # -- SearchableBase --------------------------------------------------------------------------------------
    def recid_at(self, index: int) -> int:
        # blocks of 64 consecutive recids separated by gaps of 5, as a portal accumulates them over releases
        return 1 + index + 5 * (index // 64)

    def profile_id_at(self, index: int) -> int:
        return draw_spec(self.seed, index)[1]

    def profile_ids(self, start: int, stop: int) -> Sequence[int]:
        """Profile ids of a range of records, from a column filled block by block as searches touch it.

        The column holds one small integer per record (not the records), so a second search over the same
        records costs a slice instead of a million hash evaluations.
        """
        start, stop = max(0, start), min(stop, self.count)
        out: list[int] = []
        for first in range(start - start % _BLOCK, stop, _BLOCK):
            column, _ = self._block(first)
            out.extend(column[max(start, first) - first : min(stop, first + _BLOCK) - first])
        return out

    def profile_counts(self, start: int, stop: int) -> Counter[int]:
        """How many records of [start, stop) have each profile: whole blocks from their counts, the ends counted."""
        start, stop = max(0, start), min(stop, self.count)
        if start == 0 and stop == self.count and self._total is not None:
            return Counter(self._total)
        counts: Counter[int] = Counter()
        for first in range(start - start % _BLOCK, stop, _BLOCK):
            column, whole = self._block(first)
            if start <= first and first + len(column) <= stop:
                counts.update(whole)
            else:
                counts.update(column[max(start, first) - first : min(stop, first + _BLOCK) - first])
        if start == 0 and stop == self.count:
            self._total = Counter(counts)
        return counts

    def fill(self) -> None:
        """Compute the whole profile column now (about a second per million records), so no search pays for it."""
        for first in range(0, self.count, _BLOCK):
            self._block(first)

    def _block(self, first: int) -> tuple[array[int], Counter[int]]:
        found = self._columns.get(first)
        if found is None:
            # two threads may compute the same block: both get the same values, and the last write wins
            column = profile_id_column(self.seed, first, min(first + _BLOCK, self.count))
            found = self._columns[first] = (column, Counter(column))
        return found

    def profile(self, profile_id: int) -> Profile:
        found = self._profiles.get(profile_id)
        if found is None:
            found = self._profiles[profile_id] = profile_of_spec(spec_of_profile_id(profile_id))
        return found

    def title_at(self, index: int) -> str:
        spec, _ = draw_spec(self.seed, index)
        return self._title(index, spec)

    def number_events_at(self, index: int) -> int | None:
        spec, _ = draw_spec(self.seed, index)
        return self._events(index, spec)

    def find_doi(self, doi: str) -> int | None:
        suffix = doi.upper().rsplit(".", 2)
        if len(suffix) != 3 or len(suffix[1]) != 4 or len(suffix[2]) != 4:
            return None
        code = 0
        for char in suffix[1] + suffix[2]:
            position = _DOI_ALPHABET.find(char)
            if position < 0:
                return None
            code = code * 32 + position
        index = (code - self._doi_offset) * self._doi_inverse % _DOI_SPACE
        if index >= self.count:
            return None
        record = self.record(index)
        return index if str(record.get("doi", "")).lower() == doi.lower() else None

    @cached_property
    def _doi_offset(self) -> int:
        return _mix(self.seed) % _DOI_SPACE

    @cached_property
    def _doi_inverse(self) -> int:
        return pow(_DOI_MULTIPLIER, -1, _DOI_SPACE)

    def _doi(self, index: int, spec: Spec) -> str:
        code = (index * _DOI_MULTIPLIER + self._doi_offset) % _DOI_SPACE
        chars = "".join(_DOI_ALPHABET[(code >> (5 * (7 - n))) & 31] for n in range(8))
        return f"10.7483/OPENDATA.{spec.experiment.doi_code}.{chars[:4]}.{chars[4:]}"

    # -- building one record ---------------------------------------------------------------------------------
    def _events(self, index: int, spec: Spec) -> int | None:
        if spec.bucket is None:
            return None
        low, high = next((lo, hi) for key, lo, hi in EVENT_RANGES if key == spec.bucket)
        draw = _Draw(self.seed, index, 3)
        value = draw.between(max(low, 100), (high or 3_000_000_000) - 1)
        return value if events_bucket(value) == spec.bucket else low

    def _title(self, index: int, spec: Spec) -> str:
        draw = _Draw(self.seed, index, 2)
        name = spec.experiment.name
        era = spec.era
        year = era.years[0] if era else "2016"
        energy = era.energy if era and era.energy else ""
        beams = era.collision_type if era and era.collision_type else ""
        fmt = spec.variant.formats[0].upper() if spec.variant.formats else "ROOT"
        kind = spec.kind
        if kind == "collision" and name == "CMS":
            run = draw.pick(era.run_periods) if era and era.run_periods else f"Run{year}"
            processing = f"{draw.between(10, 28)}Jan{year[2:]}-v{draw.between(1, 3)}"
            return f"/{draw.pick(_PRIMARY_DATASETS)}/{run}-{processing}/{fmt}"
        if kind == "collision" and name == "LHCb":
            beam = {"7TeV": "3500", "8TeV": "4000", "13TeV": "6500"}.get(energy, "4000")
            stream = spec.variant.stripping_stream or "EW"
            processing = f"Beam{beam}GeV, {spec.stripping_version or 'stripping21'}, {fmt}"
            return f"{stream} stream from {year} {spec.variant.magnet_polarity} collision data ({processing})"
        if kind == "collision" and name == "ALICE":
            period = era.run_periods[0] if era and era.run_periods else f"LHC{year[2:]}"
            return f"{period}_000{draw.between(240000, 246999)}_{beams}_{energy}"
        if kind == "collision":
            return f"{name} {year} {energy} {beams} collision data, run {draw.between(1000, 99999)}"
        if kind == "simulated" and name == "CMS":
            sample = f"{draw.pick(_PROCESSES)}_Tune{draw.pick(_TUNES)}_{energy}-{draw.pick(_GENERATORS)}"
            return f"/{sample}/RunII{year}-{fmt}-v{draw.between(1, 3)}/{fmt}"
        if kind == "simulated":
            return f"{name} simulated {energy} {draw.pick(_SIMULATED)} events, sample {draw.between(1, 999)}"
        if kind == "derived":
            return f"{name} {year} {energy} {draw.pick(_DERIVED)} {draw.between(1, 999)}".replace("  ", " ")
        if kind == "trigger":
            path = draw.pick(_TRIGGER_PATHS).format(a=draw.between(3, 50), b=draw.between(40, 500))
            return f"High-Level Trigger path information {path}_v{draw.between(1, 20)}"
        if kind == "configuration":
            step = spec.variant.secondary[0].replace("Configuration", "").strip() or "HLT"
            return f"Configuration file for {step} step {name.lower()}_{year}_{draw.hex(6)}_cfg.py"
        if kind == "software":
            return f"{name} {draw.pick(_SOFTWARE)} {draw.between(1, 4)}.{draw.between(0, 9)}.{draw.between(0, 9)}"
        if kind == "environment":
            return f"{name} {year} {_ENVIRONMENTS[spec.variant.secondary[0]]} {draw.between(1, 99)}"
        return f"{name} {_DOCUMENTS[spec.variant.secondary[0]]} {draw.between(1, 999)}"

    def _indices(self, spec: Spec, draw: _Draw, title: str, light: bool = False) -> list[_Index]:
        """Index files for large datasets: a few `*_file_index.json` files, each listing some data files.

        `light`: the same draws, without the names (a search hit shows neither)."""
        if spec.kind not in ("collision", "simulated") or spec.experiment.name in ("JADE", "TOTEM", "PHENIX"):
            return []
        if light:
            return [_Index("", "", draw.between(2, 12)) for _ in range(draw.between(1, 4))]
        stem = _UNSAFE.sub("_", title.strip("/")).strip("_")[:120]
        directory = (
            f"/eos/opendata/{spec.experiment.eos}/{spec.era.years[0] if spec.era else 'data'}/{stem}/file-indexes"
        )
        return [
            _Index(f"{spec.experiment.name}_{stem}_{n:05d}_file_index.json", directory, draw.between(2, 12))
            for n in range(draw.between(1, 4))
        ]

    def _build(
        self, index: int, with_members: bool = False, light: bool = False
    ) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
        """The record (and, if asked, the files its indices list). `light`: files reduced to what a search hit's
        metadata is computed from (their type or size), with every draw made as for the full record."""
        spec, profile_id = draw_spec(self.seed, index)
        draw = _Draw(self.seed, index, 4)
        experiment = spec.experiment
        era = spec.era
        recid = str(self.recid_at(index))
        title = self._title(index, spec)
        dataset = spec.kind in DATASET_KINDS
        record: dict[str, Any] = {
            "recid": recid,
            "title": title,
            "type": {"primary": spec.primary, "secondary": list(spec.variant.secondary)},
            "experiment": [experiment.name],
            "publisher": "CERN Open Data Portal",
            "date_published": spec.published,
            "collections": [spec.collection],
            "accelerator": experiment.accelerator,
        }
        collaboration: dict[str, Any] = {"name": experiment.collaboration}
        if experiment.collaboration_recid:
            collaboration["recid"] = experiment.collaboration_recid
        record["collaboration"] = collaboration
        if era is not None:
            record["date_created"] = list(era.years)
            if era.run_periods:
                record["run_period"] = [draw.pick(era.run_periods)]
        profile = self.profile(profile_id)
        if profile.values("collision_type"):
            collision = {"type": profile.values("collision_type")[0]}
            if profile.values("collision_energy"):
                collision["energy"] = profile.values("collision_energy")[0]
            record["collision_information"] = collision
        record["abstract"] = {"description": self._abstract(spec, title, draw)}
        if spec.variant.keywords:
            record["keywords"] = list(spec.variant.keywords)
        if spec.category is not None:
            record["categories"] = {
                "primary": spec.category[0],
                "secondary": list(spec.category[1]),
                "source": "CMS Collaboration",
            }
        if spec.variant.magnet_polarity:
            record["magnet_polarity"] = spec.variant.magnet_polarity
        if spec.variant.stripping_stream:
            record["stripping"] = {"stream": spec.variant.stripping_stream, "version": spec.stripping_version}

        files, member_sizes, members = self._files(index, spec, draw, title, with_members, light)
        if files or spec.variant.formats:
            distribution: dict[str, Any] = {"formats": list(spec.variant.formats)}
            sizes = member_sizes or [int(f["size"]) for f in files if "type" not in f]
            if sizes:
                distribution["number_files"] = len(sizes)
                distribution["size"] = sum(sizes)
            events = self._events(index, spec)
            if events is not None:
                distribution["number_events"] = events
            if spec.ondemand:
                distribution["availability"] = "ondemand"
            record["distribution"] = distribution
        if files:
            record["files"] = files

        if (dataset and draw.chance(0.85)) or (spec.kind == "software" and draw.chance(0.3)):
            record["doi"] = self._doi(index, spec)
        if dataset:
            record["license"] = {"attribution": "CC0-1.0"}
        elif spec.kind == "software":
            record["license"] = {"attribution": draw.pick(("GPL-3.0-only", "GPL-3.0-only", "MIT", "Apache-2.0"))}
        if spec.kind in ("software", "environment", "documentation") and draw.chance(0.7):
            record["authors"] = [self._author(draw) for _ in range(draw.between(1, 3))]
        if spec.kind == "documentation" and spec.variant.secondary == ("Authors",):
            record["authors"] = [self._author(draw) for _ in range(draw.between(20, 60))]
        if index > 0 and spec.kind == "derived" and draw.chance(0.5):
            parent = self.recid_at(draw.below(index))
            record["relations"] = [{"recid": str(parent), "type": "isChildOf", "description": "Derived from"}]
        if index > 0 and dataset and draw.chance(0.4):
            record["usage"] = {
                "description": "<p>You can access these data through the open data environment described in</p>",
                "links": [{"description": "Getting started", "recid": str(self.recid_at(draw.below(index)))}],
            }
        if spec.kind == "software":
            record["source_code_repository"] = {
                "url": f"https://github.com/{experiment.eos}-opendata-analyses/{title.split()[1]}"
            }
        return record, members

    def _abstract(self, spec: Spec, title: str, draw: _Draw) -> str:
        era = spec.era
        when = f" recorded in {', '.join(era.years)}" if era else ""
        energy = f" at √s = {era.energy.replace('TeV', ' TeV').replace('GeV', ' GeV')}" if era and era.energy else ""
        name = spec.experiment.name
        if spec.kind == "collision":
            what = f"<p>{name} collision data{when}{energy}.</p>"
        elif spec.kind == "simulated":
            what = f"<p>Simulated dataset {title.strip('/').split('/')[0]} for {name} data{when}{energy}.</p>"
        elif spec.kind == "derived":
            what = f"<p>A derived dataset of {name} data{when}, prepared for education and outreach.</p>"
        elif spec.kind == "trigger":
            what = f"<p>High-Level Trigger path information for {name} data{when}.</p>"
        elif spec.kind == "configuration":
            what = "<p>The configuration file used in data taking and data processing.</p>"
        elif spec.kind == "software":
            what = f"<p>Software to analyse {name} open data.</p>"
        elif spec.kind == "environment":
            what = f"<p>Computing environment needed to process {name} open data{when}.</p>"
        else:
            what = f"<p>Documentation from the {name} collaboration.</p>"
        note = draw.pick(
            (
                "<p>The list of validated runs, which must be applied to all analyses, is provided separately.</p>",
                '<p>These data are released under the <a href="/docs/terms-of-use">terms of use</a> &amp; '
                "CC0 waiver.</p>",
                "",
            )
        )
        return f"{what} {note}".strip()

    def _author(self, draw: _Draw) -> dict[str, Any]:
        author: dict[str, Any] = {"name": f"{draw.pick(_FAMILY)}, {draw.pick(_GIVEN)}"}
        if draw.chance(0.6):
            author["orcid"] = _orcid(draw)
        affiliation, ror = draw.pick(_AFFILIATIONS)
        author["affiliation"] = affiliation
        if ror and draw.chance(0.5):
            author["rorid"] = ror
        return author

    def _files(
        self, index: int, spec: Spec, draw: _Draw, title: str, with_members: bool, light: bool = False
    ) -> tuple[list[dict[str, Any]], list[int], dict[str, list[dict[str, Any]]]]:
        """The record's own files, the sizes of the files its indices list, and (if asked) those files.

        Member sizes and member names come from separate streams, so a search hit (which needs only the dataset's
        file count and size) does not pay for names and checksums it never shows; `light` leaves out the names
        and checksums of the record's own files too (drawn all the same: later fields come from the same stream).
        """
        if light:
            return self._light_files(index, spec, draw, title)
        host = "root://eospublic.cern.ch/"
        indices = self._indices(spec, draw, title)
        files: list[dict[str, Any]] = []
        sizes: list[int] = []
        members: dict[str, list[dict[str, Any]]] = {}
        for number, found in enumerate(indices):
            size_draw = _Draw(self.seed, index, 16 + number)
            listed_sizes = size_draw.several_between(200_000_000, 4_200_000_000, found.files)
            sizes.extend(listed_sizes)
            if with_members:
                name_draw = _Draw(self.seed, index, 64 + number)
                folder = f"{host}{found.directory.removesuffix('/file-indexes')}/{number:04d}"
                listed = []
                for n, size in enumerate(listed_sizes):
                    uri = f"{folder}/{name_draw.hex(8)}-{n:03d}.root"
                    listed.append(
                        {"checksum": _adler32(name_draw), "filename": uri.rsplit("/", 1)[1], "size": size, "uri": uri}
                    )
                members[found.key] = listed
            description = f"{title.strip('/').split('/')[0]} dataset file index ({number + 1} of {len(indices)})"
            files.append(
                {
                    "checksum": _adler32(draw),
                    "description": f"{description} for access to data",
                    "size": 180 * found.files + draw.between(40, 400),
                    "type": "index.json",
                    "uri": f"{host}{found.directory}/{found.key}",
                }
            )
            if spec.experiment.name != "ALICE":
                files.append(
                    {
                        "checksum": _adler32(draw),
                        "description": f"{description} for access to data via CMS virtual machine",
                        "size": 110 * found.files + draw.between(40, 400),
                        "type": "index.txt",
                        "uri": f"{host}{found.directory}/{found.key.removesuffix('.json')}.txt",
                    }
                )
        if not indices and spec.kind != "trigger" and spec.variant.formats:
            extension = {"ig": "ig", "nanoaodsim-poet": "root", "DAOD_PHYSLITE": "root", "gz": "tar.gz"}.get(
                spec.variant.formats[0], spec.variant.formats[0]
            )
            directory = f"/eos/opendata/{spec.experiment.eos}/{spec.kind}/{self.recid_at(index)}"
            for n in range(draw.between(1, 6) if spec.kind in DATASET_KINDS else 1):
                files.append(
                    {
                        "checksum": _adler32(draw),
                        "size": draw.between(2_000, 900_000_000 if spec.kind in DATASET_KINDS else 2_000_000),
                        "uri": f"{host}{directory}/{spec.kind}-{n:02d}.{extension}",
                    }
                )
        return files, sizes, members

    def _light_files(
        self, index: int, spec: Spec, draw: _Draw, title: str
    ) -> tuple[list[dict[str, Any]], list[int], dict[str, list[dict[str, Any]]]]:
        """`_files` as a search hit needs it: each file's type (index files) or size (data files), in the same order
        and after the same draws (a checksum is one draw, a size another)."""
        indices = self._indices(spec, draw, title, light=True)
        files: list[dict[str, Any]] = []
        sizes: list[int] = []
        for number, found in enumerate(indices):
            sizes.extend(_Draw(self.seed, index, 16 + number).several_between(200_000_000, 4_200_000_000, found.files))
            draw.skip(2)
            files.append({"type": "index.json"})
            if spec.experiment.name != "ALICE":
                draw.skip(2)
                files.append({"type": "index.txt"})
        if not indices and spec.kind != "trigger" and spec.variant.formats:
            for _ in range(draw.between(1, 6) if spec.kind in DATASET_KINDS else 1):
                draw.skip(1)
                files.append({"size": draw.between(2_000, 900_000_000 if spec.kind in DATASET_KINDS else 2_000_000)})
        return files, sizes, {}


@lru_cache(maxsize=1 << 14)
def _stamps(seed: int, index: int) -> tuple[datetime, datetime]:
    """`created` in the record's publication year, `updated` up to 90 days later, never past the corpus snapshot
    (cached: a search hit asks for both)."""
    spec, _ = draw_spec(seed, index)
    draw = _Draw(seed, index, 5)
    return spread_stamps(int(spec.published), draw.next(), draw.next(), 90)


_BLOCK = 4096
