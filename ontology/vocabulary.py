"""Controlled vocabularies (SKOS, `ontology/vocab/*.ttl`) and the normaliser from source strings to concepts.

`concept("experiment", "CMS collaboration")` gives the CMS concept with the raw string kept beside it; a string no
concept matches gives an unmapped `Concept` (uri None) and is counted, so `unmapped()` can report every value the
vocabularies do not yet cover.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import rdflib
from rdflib.namespace import SKOS

from ontology.model import Concept

VOCAB_BASE = "https://w3id.org/dmlake/vocab/"
DML = rdflib.Namespace("https://w3id.org/dmlake/ns#")
SCHEMES = (
    "experiment",
    "messenger",
    "technique",
    "target",
    "data-level",
    "resource-category",
    "collision-type",
    "accelerator",
    "organisation",
)

_SUFFIXES = re.compile(r"\b(collaboration|experiment|detector|observatory)\b")
_unmapped: Counter[tuple[str, str]] = Counter()
_unmapped_lock = threading.Lock()


_SEPARATORS = re.compile(r"[\s\-_/.()]+")
_CACHED_STRINGS = 1 << 16
"""How many source strings the key and lookup caches remember: sources repeat the same few thousand values
(experiment names, keywords, licence ids) record after record, and each lookup costs two regex passes."""


@lru_cache(maxsize=_CACHED_STRINGS)
def _key(text: str) -> str:
    """Spelling-insensitive key: case, spaces, hyphens, slashes and a trailing 'collaboration' do not matter."""
    text = _SUFFIXES.sub("", text.lower())
    return _SEPARATORS.sub("", text).replace("+", "plus").replace("−", "minus")


@dataclass(frozen=True)
class VocabConcept:
    uri: str
    scheme: str
    label: str
    messengers: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    accelerator: str | None = None
    inspire_name: str | None = None


@dataclass(frozen=True)
class _Scheme:
    concepts: dict[str, VocabConcept]
    by_key: dict[str, str]


def vocabulary_graph() -> rdflib.Graph:
    """Every vocabulary file, including the dml: ontology, as one graph."""
    graph = rdflib.Graph()
    for path in sorted(resources.files("ontology.vocab").iterdir(), key=lambda p: p.name):
        if path.name.endswith(".ttl"):
            graph.parse(data=path.read_text(encoding="utf-8"), format="turtle")
    return graph


@cache
def _schemes() -> dict[str, _Scheme]:
    graph = vocabulary_graph()
    schemes: dict[str, _Scheme] = {name: _Scheme({}, {}) for name in SCHEMES}
    for subject in graph.subjects(SKOS.inScheme, None):
        scheme_uri = str(graph.value(subject, SKOS.inScheme))
        name = scheme_uri.removeprefix(VOCAB_BASE)
        if name not in schemes:
            continue
        label = str(graph.value(subject, SKOS.prefLabel))
        concept = VocabConcept(
            uri=str(subject),
            scheme=name,
            label=label,
            messengers=tuple(sorted(str(o) for o in graph.objects(subject, DML.messenger))),
            techniques=tuple(sorted(str(o) for o in graph.objects(subject, DML.detectionTechnique))),
            targets=tuple(sorted(str(o) for o in graph.objects(subject, DML.target))),
            accelerator=_optional(graph.value(subject, DML.accelerator)),
            inspire_name=_optional(graph.value(subject, DML.inspireExperimentName)),
        )
        table = schemes[name]
        table.concepts[concept.uri] = concept
        names = [label, str(subject).rsplit("/", 1)[1]]
        names += [str(o) for o in graph.objects(subject, SKOS.altLabel)]
        names += [str(o) for o in graph.objects(subject, SKOS.hiddenLabel)]
        for text in names:
            table.by_key.setdefault(_key(text), concept.uri)
    return schemes


def _optional(node: rdflib.term.Node | None) -> str | None:
    return None if node is None else str(node)


@lru_cache(maxsize=_CACHED_STRINGS)
def lookup(scheme: str, raw: str) -> VocabConcept | None:
    """The concept a source string stands for, or None."""
    table = _schemes().get(scheme)
    if table is None:
        raise KeyError(f"no vocabulary {scheme!r}; known: {', '.join(SCHEMES)}")
    uri = table.by_key.get(_key(raw))
    return table.concepts[uri] if uri else None


@cache
def _concepts_by_uri() -> dict[str, VocabConcept]:
    found: dict[str, VocabConcept] = {}
    for table in _schemes().values():
        for uri, known in table.concepts.items():
            found.setdefault(uri, known)
    return found


def by_uri(uri: str) -> VocabConcept | None:
    return _concepts_by_uri().get(uri)


def concept(scheme: str, raw: str) -> Concept:
    """Map a source string to a `Concept`; unmapped strings are kept (uri None) and counted for the report.

    An experiment name that the vocabularies know as an organisation that is not an experiment (an outreach group
    named as a record's collaboration) also stays unlinked, but it is no gap of the vocabularies, so it is not
    counted: see `not_an_experiment`.
    """
    raw_clean = raw.strip()
    found = lookup(scheme, raw_clean)
    if found is None and scheme == "experiment" and not_an_experiment(raw_clean) is not None:
        return Concept(uri=None, label=raw_clean, raw=raw)
    if found is None:
        with _unmapped_lock:
            _unmapped[(scheme, raw_clean)] += 1
        return Concept(uri=None, label=raw_clean or raw, raw=raw)
    return Concept(uri=found.uri, label=found.label, raw=raw)


def not_an_experiment(raw: str) -> VocabConcept | None:
    """The organisation a source names where an experiment is expected, if the vocabularies know it is none.

    Such a name (CERN Open Data's "RWTH Aachen University in Germany" as a collaboration) is kept as the source
    wrote it, linked to no experiment: a mapper that takes every linked collaboration for an experiment, as the
    CERN OAI-PMH mapping does, must not make an outreach group one.
    """
    return lookup("organisation", raw.strip())


def concepts(scheme: str, raws: list[str] | tuple[str, ...]) -> list[Concept]:
    """Map several strings, dropping duplicates that map to the same concept."""
    seen: set[str] = set()
    out = []
    for raw in raws:
        if not raw or not raw.strip():
            continue
        mapped = concept(scheme, raw)
        key = mapped.uri or f"raw:{mapped.label}"
        if key not in seen:
            seen.add(key)
            out.append(mapped)
    return out


def from_uri(uri: str, raw: str | None = None) -> Concept:
    """A concept of our vocabularies by URI (e.g. an experiment's messenger), as a model `Concept`."""
    found = by_uri(uri)
    if found is None:
        raise KeyError(f"{uri} is not a concept of the dmlake vocabularies")
    return Concept(uri=found.uri, label=found.label, raw=raw if raw is not None else found.label)


def unmapped() -> dict[tuple[str, str], int]:
    """Every (scheme, raw string) the normaliser could not map since start-up, with how often it was seen."""
    with _unmapped_lock:
        return dict(_unmapped)


def all_concepts(scheme: str) -> list[VocabConcept]:
    return list(_schemes()[scheme].concepts.values())


def completions(scheme: str, prefix: str) -> list[VocabConcept]:
    """The concepts of a scheme known by a label or alternative label that starts like `prefix` (compared as the
    normaliser compares: case, spaces and punctuation aside), each once, in label order."""
    wanted = _key(prefix)
    found = _schemes()[scheme]
    uris = {uri for key, uri in found.by_key.items() if key.startswith(wanted)}
    return sorted((found.concepts[uri] for uri in uris if uri in found.concepts), key=lambda c: c.label.lower())


SPDX_IDS = (
    "CC0-1.0", "CC-BY-4.0", "CC-BY-3.0", "CC-BY-2.0", "CC-BY-SA-4.0", "CC-BY-SA-3.0", "CC-BY-NC-4.0",
    "CC-BY-NC-SA-4.0", "CC-BY-ND-4.0", "CC-BY-NC-ND-4.0", "CC-PDDC", "PDDL-1.0", "ODbL-1.0", "ODC-By-1.0",
    "MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only",
    "GPL-3.0-or-later", "LGPL-2.1-only", "LGPL-3.0-only", "AGPL-3.0-only", "MPL-2.0", "EUPL-1.2", "ISC",
    "Unlicense", "Artistic-2.0", "EPL-2.0", "Zlib", "CC-BY-1.0", "CC-BY-2.5",
)  # fmt: skip
_SPDX_BY_KEY = {_key(i): i for i in SPDX_IDS}
_SPDX_ALIASES = {_key(a): i for a, i in {
    "cc-zero": "CC0-1.0", "cc0": "CC0-1.0", "public domain (cc0)": "CC0-1.0",
    "GPL-2.0": "GPL-2.0-only", "GPL-3.0": "GPL-3.0-only", "gpl-2.0+": "GPL-2.0-or-later",
    "gpl-3.0+": "GPL-3.0-or-later", "LGPL-2.1": "LGPL-2.1-only", "LGPL-3.0": "LGPL-3.0-only",
    "AGPL-3.0": "AGPL-3.0-only", "cc-by": "CC-BY-4.0", "cc-by-sa": "CC-BY-SA-4.0", "bsd-license": "BSD-3-Clause",
    "Apache License 2.0": "Apache-2.0", "Apache License, Version 2.0": "Apache-2.0",
}.items()}  # fmt: skip


def license_concept(raw: str) -> Concept:
    """A licence as an SPDX concept (`http://spdx.org/licenses/<id>`); unknown licences stay unmapped."""
    raw_clean = raw.strip()
    key = _key(raw_clean.removeprefix("https://").removeprefix("http://").removeprefix("spdx.org/licenses/"))
    spdx = _SPDX_BY_KEY.get(key) or _SPDX_ALIASES.get(key)
    if spdx is None:
        with _unmapped_lock:
            _unmapped[("license", raw_clean)] += 1
        return Concept(uri=None, label=raw_clean or raw, raw=raw)
    return Concept(uri=f"http://spdx.org/licenses/{spdx}", label=spdx, raw=raw)


@dataclass(frozen=True)
class ExperimentPhysics:
    messengers: list[Concept]
    techniques: list[Concept]
    targets: list[Concept]


def experiment_physics(experiments: list[Concept]) -> ExperimentPhysics:
    """What the vocabulary knows of the experiments' messengers, techniques and targets (for mappers to fill in)."""
    messengers: dict[str, Concept] = {}
    techniques: dict[str, Concept] = {}
    targets: dict[str, Concept] = {}
    for experiment in experiments:
        known = by_uri(experiment.uri) if experiment.uri else None
        if known is None:
            continue
        for uris, into in ((known.messengers, messengers), (known.techniques, techniques), (known.targets, targets)):
            for uri in uris:
                if uri not in into:  # one Concept per implied value, however many experiments imply it
                    into[uri] = from_uri(uri, raw=f"from experiment {known.label}")
    return ExperimentPhysics(list(messengers.values()), list(techniques.values()), list(targets.values()))
