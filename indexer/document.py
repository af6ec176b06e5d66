"""A `Record` flattened into the document every search backend indexes (DESIGN.md §7).

One document per record cluster (`harvester.identity`: the records of one dataset from several sources, or the
versions of one concept). `cluster_document` builds it from the cluster's live records: the representative record
(`representative`: the newest release, from the richest source) gives the id, title, dates and sort keys; every
member adds its facet values, identifiers and text, so a search by any member's DOI, source or keyword finds the
cluster, once. A record in no cluster is a cluster of one (`index_document`).

The document is backend-neutral: a flat mapping of field name → value (or list of values), plus a `summary` mapping
that the backend stores and returns with every hit. The field names and analysers declared here are shared by the
tantivy and Elasticsearch backends so both index the same thing:

* keyword fields (every keyword name in `indexer.query.FIELDS`): exact values, faceted on. Vocabulary-backed fields
  hold the concept *labels* ("CMS", "collider", "pp"), so the facet shows what people read and a filter can be fed
  back the facet value it was shown;
* numeric fields (the numeric names in `FIELDS`): single values in the unit the name says (GeV, bytes);
* full-text fields (`TEXT_FIELDS`), each with an analyser and a query-time boost;
* sort keys (`SORT_KEYS`): integers whose order is the sort order, so deep paging can continue *after* a key;
* `summary`: what a search hit shows without a second fetch from the catalogue.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import indexer.document_dates
import indexer.query
from indexer.document_dates import date_interval_fields, day_start, is_plain_day
from indexer.query import FIELDS, PROJECTABLE
from ontology.model import Availability, Concept, Distribution, IdentifierScheme, Quantity, Record
from ontology.vocabulary import license_concept, lookup

SCHEMA_VERSION = 6
"""Bump when the document's fields or analysers change: an index built with another version must be rebuilt."""

ID_FIELD = "id"
VERSION_KEY = "version"
"""Not a field: the key under which a consumer may hand a store that keeps external versions (Elasticsearch) the
version of a document it writes."""
CLUSTER_FIELD = "cluster_id"
SUMMARY_FIELD = "summary"

KEYWORD_FIELDS: tuple[str, ...] = tuple(name for name, kind in FIELDS.items() if kind == "keyword")
INTEGER_FIELDS: tuple[str, ...] = tuple(name for name, kind in FIELDS.items() if kind == "integer")
FLOAT_FIELDS: tuple[str, ...] = tuple(name for name, kind in FIELDS.items() if kind == "float")

AnalyzerName = Literal["prose", "physics", "identifier", "exact"]

PHYSICS_TOKEN_PATTERN = r"[\p{L}\p{M}\p{N}]+(?:(?:->|→|[-−+*/_^.'])[\p{L}\p{M}\p{N}]+)*[+\-−*']*"
"""What the `physics` analyser keeps as one token (then lower-cases): runs of letters and digits joined by the
characters physicists write inside a name (`B0->K*mumu`, `e+e-`, `J/psi`, `p_T`, `Pb-Pb`, `D*+`, `3.5`), with a
trailing charge or conjugation mark kept. The prose analyser splits these apart, so each text is indexed both ways
and a query matches either."""


@dataclass(frozen=True)
class TextField:
    analyzer: AnalyzerName
    boost: float
    """Relative weight of a match in this field when ranking by relevance."""
    phrases: bool = False
    """Index adjacent token pairs too, so an exact phrase reads one term's postings instead of every position of its
    words (Elasticsearch's `index_phrases`; on tantivy the companion field `phrase_pairs_field(name)`, see
    `indexer.tantivy_phrases`): for the fields of running text, where phrases of common words are dear."""


def phrase_pairs_field(name: str) -> str:
    """The embedded index's companion field holding the token pairs of the text field `name`."""
    return f"{name}__pairs"


ANALYZERS: dict[AnalyzerName, str] = {
    "prose": "split on anything not a letter or digit, drop tokens over 40 characters, lower-case, fold accents "
    "to ASCII, English stemming (collisions → collis)",
    "physics": f"tokens matching {PHYSICS_TOKEN_PATTERN}, lower-cased; no stemming",
    "identifier": "split on whitespace only, lower-cased (a DOI or arXiv id stays one token)",
    "exact": "the whole value as one token, lower-cased (matches only a query that is the whole value)",
}
"""What each analyser does, in words; the backends build them from these descriptions."""

TEXT_FIELDS: dict[str, TextField] = {
    "title": TextField("prose", 4.0, phrases=True),
    "title_exact": TextField("exact", 8.0),
    "description": TextField("prose", 1.0, phrases=True),
    "keywords": TextField("prose", 2.0),
    "experiments": TextField("prose", 2.0),
    "concepts": TextField("prose", 1.0),
    "observables": TextField("prose", 1.5),
    "reactions": TextField("prose", 1.5),
    "identifiers": TextField("identifier", 3.0),
    "physics": TextField("physics", 1.5, phrases=True),
}
"""Full-text fields. `concepts` holds the labels of the record's vocabulary values (messenger, technique, target,
collision, resource type…) so a word like "neutrino" finds records that say so only through their metadata;
`physics` holds the title, keywords, reactions, observables, description and energy tokens ("13TeV") again under
the physics analyser. `title_exact` lifts the record whose whole title is the query (a dataset name such as
"/BTau/Run2010B-Apr21ReReco-v1/AOD") above records that merely mention it."""

SortKeyKind = Literal["integer", "unsigned"]

TITLE_KEY_FIELDS = ("title_key_0", "title_key_1", "title_key_2", "title_key_3")
"""The first 32 bytes of the normalised title as four big-endian unsigned integers: their tuple order is the
title's order. Titles equal in those bytes fall back to the tie-break."""

TIEBREAK_FIELD = "tiebreak"
"""A 64-bit hash of the record id: orders documents whose sort values are equal, identically on every page and
after re-indexing. Hash collisions are resolved by the id itself."""

SORT_KEYS: dict[str, SortKeyKind] = {
    "issued_ts": "integer",
    "modified_ts": "integer",
    **dict.fromkeys(TITLE_KEY_FIELDS, "unsigned"),
    TIEBREAK_FIELD: "unsigned",
}

SORT_LEVELS: dict[str, tuple[str, ...]] = {
    "issued": ("issued_ts",),
    "modified": ("modified_ts",),
    "title": TITLE_KEY_FIELDS,
    "year": ("year",),
    "size_bytes": ("size_bytes",),
    "sqrt_s_gev": ("sqrt_s_gev",),
}
"""For each sort of `indexer.query.SORTABLE` (except relevance): the document fields whose tuple is the sort value.
Documents without the first field sort after all others, in both directions."""

SUMMARY_KEYS = PROJECTABLE
"""The stored fields every hit carries, always all present (null when the record has no value). A hit is a cluster:
`cluster_id` names it and `records` lists each record in it (the hit's own first) as a provenance instance —
id, source, native id, DOI, version, issued date and landing page."""

SOURCE_KIND_PREFERENCE = ("cernopendata", "zenodo", "hepdata", "gitlab", "kcdc", "oaipmh")
"""Which source's record speaks for a cluster of one release seen through several interfaces: the portals' own
APIs carry more than their OAI-PMH (Dublin Core) views."""

SUMMARY_DESCRIPTION_CHARS = 300

_ENERGY_UNIT = re.compile(r"^(?P<prefix>[mkMGTPE]?)eV(?:[_ ]?(?:ee|nr|ee\.|nr\.))?$")
_ENERGY_PREFIX_GEV = {"m": 1e-12, "": 1e-9, "k": 1e-6, "M": 1e-3, "G": 1.0, "T": 1e3, "P": 1e6, "E": 1e9}
_ENERGY_IN_TEXT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?([mkMGTP]?eV)\b")
_INLINE_TAG = re.compile(r"</?(?:sup|sub|b|i|em|strong|span|a|u|small|code|tt)\b[^>]{0,1000}>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,1000}>")
_SPACE = re.compile(r"\s+")
_MEDIA_TYPE_FORMATS = {
    "application/json": "JSON",
    "application/ld+json": "JSON-LD",
    "application/xml": "XML",
    "text/xml": "XML",
    "text/csv": "CSV",
    "text/plain": "TXT",
    "text/html": "HTML",
    "application/pdf": "PDF",
    "application/zip": "ZIP",
    "application/gzip": "GZIP",
    "application/x-tar": "TAR",
    "application/x-hdf5": "HDF5",
    "application/x-hdf": "HDF5",
    "application/x-yaml": "YAML",
    "application/yaml": "YAML",
    "text/yaml": "YAML",
    "application/x-root": "ROOT",
    "application/fits": "FITS",
    "image/fits": "FITS",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
}
_BEAM_PAIR = re.compile(r"^([A-Z][a-z]?|[a-z])([A-Z][a-z]?|[a-z])$")
_SHORT_FORMAT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+\-]{0,15}$")
_VOCABULARY_OF = {
    "experiment": "experiment",
    "collaboration": "experiment",
    "messenger": "messenger",
    "technique": "technique",
    "target": "target",
    "data_level": "data-level",
    "resource_category": "resource-category",
    "collision_type": "collision-type",
}
_DOI_SCHEMES = (IdentifierScheme.DOI, IdentifierScheme.CONCEPT_DOI)


class UnitError(ValueError):
    """An energy whose unit is not an electronvolt multiple: the value is left out of the numeric fields."""


def energy_in_gev(value: float, unit: str) -> float:
    """`value` in `unit` (eV, keV, MeV, GeV, TeV, PeV, EeV, meV; recoil units keVee/keVnr count as keV) in GeV."""
    match = _ENERGY_UNIT.match(unit.strip())
    if match is None:
        raise UnitError(f"{unit!r} is not an energy unit (eV, keV, MeV, GeV, TeV, PeV, EeV)")
    return value * _ENERGY_PREFIX_GEV[match["prefix"]]


@lru_cache(maxsize=4096)
def energy_token(gev: float) -> str:
    """The compact spelling people search for: 13000 GeV → "13TeV", 0.9 TeV → "900GeV"."""
    for unit, scale in (("PeV", 1e6), ("TeV", 1e3), ("GeV", 1.0), ("MeV", 1e-3), ("keV", 1e-6), ("eV", 1e-9)):
        if abs(gev) >= scale:
            return f"{_compact_number(gev / scale)}{unit}"
    return f"{_compact_number(gev)}GeV"


def _compact_number(value: float) -> str:
    rounded = round(value, 3)
    return str(int(rounded)) if float(rounded).is_integer() else f"{rounded:g}"


def plain_text(text: str) -> str:
    """Markup-free text: HTML tags dropped, entities decoded, whitespace collapsed (abstracts often carry HTML).

    Inline tags vanish without a trace so that "B<sup>0</sup>" stays the word "B0"; block tags separate words.
    """
    if "<" in text:
        text = _TAG.sub(" ", _INLINE_TAG.sub("", text))
    if "&" in text:
        text = html.unescape(text)
    return " ".join(text.split())  # = _SPACE.sub(" ", text).strip(): str.split() splits where \s matches


def short_description(text: str | None, limit: int = SUMMARY_DESCRIPTION_CHARS) -> str | None:
    """The description cut at a word boundary to about `limit` characters, with an ellipsis when cut."""
    if not text:
        return None
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


def partial_date_timestamp(value: str | None) -> int | None:
    """Seconds since 1970 (UTC) of the start of an ISO 8601 partial date: "2011" → 2011-01-01T00:00:00Z."""
    if not value:
        return None
    try:
        if is_plain_day(value):
            return day_start(value)
        if len(value) == 4:
            moment = datetime(int(value), 1, 1, tzinfo=UTC)
        elif len(value) == 7:
            moment = datetime(int(value[:4]), int(value[5:7]), 1, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(moment.timestamp())


_TITLE_KEY_PREFIX = 64
"""Characters of a title (decomposed, if not ASCII) folded first: enough for the key's 32 bytes unless the title
opens with a long run of punctuation or spaces, in which case the whole title is folded."""


def title_key(title: str) -> tuple[int, int, int, int]:
    """The title's sort key: accents and case folded, leading punctuation dropped, first 32 UTF-8 bytes."""
    # Lower-casing ASCII, dropping combining marks and case folding go character by character, and collapsing
    # whitespace keeps a prefix a prefix: a prefix of the title that already gives 32 bytes gives the same 32 bytes.
    if title.isascii():  # most titles: skip the per-character Unicode work
        key = _key_bytes(title[:_TITLE_KEY_PREFIX].lower())
        if len(key) < 32 and len(title) > _TITLE_KEY_PREFIX:
            key = _key_bytes(title.lower())
    else:
        decomposed = unicodedata.normalize("NFKD", title)
        key = _key_bytes(_fold(decomposed[:_TITLE_KEY_PREFIX]))
        if len(key) < 32 and len(decomposed) > _TITLE_KEY_PREFIX:
            key = _key_bytes(_fold(decomposed))
    data = key[:32].ljust(32, b"\0")
    return (
        int.from_bytes(data[0:8], "big"),
        int.from_bytes(data[8:16], "big"),
        int.from_bytes(data[16:24], "big"),
        int.from_bytes(data[24:32], "big"),
    )


def _fold(decomposed: str) -> str:
    return "".join([c for c in decomposed if not unicodedata.combining(c)]).casefold()


def _key_bytes(folded: str) -> bytes:
    """The folded title with whitespace collapsed and leading punctuation dropped, in UTF-8."""
    words = folded.split()  # str.split() splits where \s matches: this is _SPACE.sub(" ", folded)
    trailing = " " if words and folded[-1].isspace() else ""
    folded = " ".join(words) + trailing  # (a leading space would be dropped below anyway)
    start = 0
    while start < len(folded) and not folded[start].isalnum():
        start += 1
    return folded[start:].encode("utf-8")


def tiebreak(record_id: str) -> int:
    """A stable 64-bit hash of the record id (the same on every run and machine, unlike Python's `hash`)."""
    return int.from_bytes(hashlib.blake2b(record_id.encode("utf-8"), digest_size=8).digest(), "big")


@lru_cache(maxsize=4096)
def normalise_format(value: str) -> str | None:
    """A file format as a facet value: "root" → "ROOT", "text/csv" → "CSV", ".h5" → "H5"; other text kept."""
    text = value.strip().lstrip(".")
    if not text:
        return None
    mapped = _MEDIA_TYPE_FORMATS.get(text.lower().split(";")[0].strip())
    if mapped:
        return mapped
    return text.upper() if _SHORT_FORMAT.match(text) else text


HELD_REPLICA_STATES = frozenset({Availability.ONLINE.value, Availability.ON_TAPE.value})
"""Replica states in which a site holds a file (`site` facet): a copy requested or still being transferred is not
held yet, and an online copy counts once its checksum was verified against the file's."""


def _sites_holding(distributions: Sequence[Distribution]) -> list[str]:
    return sorted(
        {
            replica.site
            for d in distributions
            for replica in d.replicas
            if replica.state in HELD_REPLICA_STATES
            and (replica.checksum_verified or replica.state != Availability.ONLINE.value)
        }
    )


def _labels(values: Sequence[Concept | None]) -> list[str]:
    if not values:  # most of a record's concept lists are empty
        return []
    return list(dict.fromkeys([concept.label for concept in values if concept is not None]))


def _label(concept: Concept | None) -> list[str]:
    """`_labels([concept])`, for the fields that hold one concept (a third of the index document's lists)."""
    return [concept.label] if concept is not None else []


def _unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(filter(None, values)))  # filter(None, …) keeps the values that are true, as `if v`


def _quantity_gev(quantity: Quantity | None) -> float | None:
    if quantity is None:
        return None
    try:
        return energy_in_gev(quantity.value, quantity.unit)
    except UnitError:
        return None


def index_document(record: Record) -> dict[str, Any]:
    """The flat index document of a record (a cluster of one record, for now); see the module doc for the fields."""
    description = plain_text(record.description) if record.description else None
    experiments = _labels(record.experiments)
    issued = record.issued
    issued_year = int(issued[:4]) if issued else None
    distributions = record.distributions
    file_count = len(distributions)
    size_bytes = record.size_bytes
    if size_bytes is None:
        known = [size for d in distributions if (size := d.size_bytes) is not None]
        if known:
            size_bytes = sum(known)
    collision = record.collision
    collision_type = collision.type if collision else None
    sqrt_s_gev = _quantity_gev(collision.sqrt_s) if collision else None
    energy_min = energy_max = None
    energy_range = record.energy_range
    if energy_range is not None:
        try:
            if energy_range.min is not None:
                energy_min = energy_in_gev(energy_range.min, energy_range.unit)
            if energy_range.max is not None:
                energy_max = energy_in_gev(energy_range.max, energy_range.unit)
        except UnitError:
            energy_min = energy_max = None
    doi = record.doi
    identifiers = record.identifiers
    identifier_keys = [i.key() for i in identifiers]
    resource_type = record.resource_type.label if record.resource_type else None

    document: dict[str, Any] = {
        ID_FIELD: record.id,
        CLUSTER_FIELD: record.id,
        # keyword fields
        "experiment": experiments,
        "collaboration": _labels(record.collaboration),
        "messenger": _labels(record.messengers),
        "technique": _labels(record.detection_technique),
        "resource_category": _labels(record.resource_categories),
        "resource_type": [resource_type] if resource_type else [],
        "data_level": _label(record.data_level),
        "file_format": _unique(
            [normalise_format(f) for f in [*record.formats, *[d.format or d.media_type or "" for d in distributions]]]
        ),
        "license": _label(record.license),
        # distinct members first: one str() per availability instead of one per file
        "availability": [str(a) for a in dict.fromkeys(d.availability for d in distributions)],
        "site": _sites_holding(distributions),
        "source": [record.source],
        "collision_type": _label(collision_type),
        "target": _labels(record.targets),
        "keyword": _unique([k.strip() for k in record.keywords]),
        "doi": _unique([i.value.lower() for i in identifiers if i.scheme in _DOI_SCHEMES]),
        "identifier": _unique(identifier_keys),
        # numeric fields
        "year": issued_year,
        "sqrt_s_gev": sqrt_s_gev,
        "energy_min_gev": energy_min,
        "energy_max_gev": energy_max,
        "size_bytes": size_bytes,
        "file_count": file_count,
        **date_interval_fields(record),
        # sort keys
        "issued_ts": partial_date_timestamp(issued),
        "modified_ts": partial_date_timestamp(record.modified),
        TIEBREAK_FIELD: tiebreak(record.id),
    }
    document.update(zip(TITLE_KEY_FIELDS, title_key(record.title), strict=True))
    document.update(_text_fields(record, description, experiments, collision_type, sqrt_s_gev, identifier_keys))
    document[SUMMARY_FIELD] = {
        "title": record.title,
        "source": record.source,
        "experiments": experiments,
        "issued": issued,
        "year": issued_year,
        "doi": doi,
        "resource_type": resource_type,
        "landing_page": record.landing_page,
        "file_count": file_count,
        "size_bytes": size_bytes,
        "description": short_description(description),
        "cluster_id": record.id,
        "records": [_provenance(record, doi)],
    }
    return document


def member_entry(record: Record) -> dict[str, Any]:
    """What a cluster document needs of one member: its own index document and its source kind (for choosing the
    representative). Plain JSON, so the mapping workers can compute it once and the catalogue can keep it
    (`DOCUMENT_FINGERPRINT` says whether a kept one is still what this code would build)."""
    return {"document": index_document(record), "kind": record.provenance.source_kind}


def cluster_document(members: Sequence[Record]) -> dict[str, Any]:
    """The index document of a cluster of records (see the module doc); one record gives its `index_document`."""
    return merge_members([member_entry(m) for m in members])


def merge_members(entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The index document of a cluster from its members' entries (`member_entry`): the representative's document,
    with every member's facet values, identifiers and text merged in."""
    if not entries:
        raise ValueError("a cluster document needs at least one record")
    if len(entries) == 1 and entries[0]["document"][CLUSTER_FIELD] == entries[0]["document"][ID_FIELD]:
        # most records are alone in their cluster, and a record's own document already names it as the cluster
        return dict(entries[0]["document"])
    ordered = sorted(entries, key=_entry_order)
    first = ordered[0]["document"]
    document = {**first, SUMMARY_FIELD: dict(first[SUMMARY_FIELD])}
    cluster_id = min(entry["document"][ID_FIELD] for entry in entries)
    document[CLUSTER_FIELD] = cluster_id
    document[SUMMARY_FIELD]["cluster_id"] = cluster_id
    if len(ordered) == 1:
        return document
    others = [entry["document"] for entry in ordered[1:]]
    for name in (*KEYWORD_FIELDS, *TEXT_FIELDS):
        merged = list(document.get(name) or [])
        for other in others:
            merged.extend(other.get(name) or [])
        document[name] = _unique(merged)
    for name in (*INTEGER_FIELDS, *FLOAT_FIELDS):
        if document.get(name) is None:
            document[name] = next((o[name] for o in others if o.get(name) is not None), None)
    document[SUMMARY_FIELD]["records"] = [r for entry in ordered for r in entry["document"][SUMMARY_FIELD]["records"]]
    return document


def representative(members: Sequence[Record]) -> Record:
    """The record that speaks for a cluster: the newest issued, then the preferred source kind, then the lowest id."""
    return min(members, key=_representative_order)


def _order(issued: int | None, kind: str, record_id: str) -> tuple[Any, ...]:
    rank = SOURCE_KIND_PREFERENCE.index(kind) if kind in SOURCE_KIND_PREFERENCE else len(SOURCE_KIND_PREFERENCE)
    return (-issued if issued is not None else float("inf"), rank, record_id)


def _representative_order(record: Record) -> tuple[Any, ...]:
    return _order(partial_date_timestamp(record.issued), record.provenance.source_kind, record.id)


def _entry_order(entry: dict[str, Any]) -> tuple[Any, ...]:
    document = entry["document"]
    return _order(document.get("issued_ts"), entry["kind"], document[ID_FIELD])


def _provenance(record: Record, doi: str | None) -> dict[str, Any]:
    return {
        "id": record.id,
        "source": record.source,
        "native_id": record.native_id,
        "doi": doi,
        "version": record.version,
        "issued": record.issued,
        "landing_page": record.landing_page,
    }


def _text_fields(
    record: Record,
    description: str | None,
    experiments: list[str],
    collision_type: Concept | None,
    sqrt_s_gev: float | None,
    identifier_keys: list[str],
) -> dict[str, list[str]]:
    # (list displays rather than generators inside: most of these lists are empty or short, and a generator costs
    # more to start than a list display costs to build)
    title = record.title
    record_keywords = record.keywords
    keywords = _unique([*record_keywords, *[s.label for s in record.subjects]])
    observables = _unique([x for o in record.observables for x in (o.label, o.raw)])
    experiment_names = _unique(
        [
            *experiments,
            *[e.raw for e in record.experiments],
            *[c.label for c in record.collaboration],
            record.accelerator.label if record.accelerator else None,
        ]
    )
    concept_labels = _labels(
        [
            *record.messengers,
            *record.detection_technique,
            *record.targets,
            *record.resource_categories,
            record.resource_type,
            record.data_level,
            collision_type,
        ]
    )
    identifiers = _unique(
        [
            record.native_id,
            *[i.value for i in record.identifiers],
            *identifier_keys,
        ]
    )
    energies = []
    if sqrt_s_gev is not None:
        energies.append(energy_token(sqrt_s_gev))
    for text in (title, description or "", *record_keywords):
        if "eV" not in text:  # every energy ends in eV; most texts have none, and the pattern is slow to search
            continue
        for number, unit in _ENERGY_IN_TEXT.findall(text):
            energies.append(number + unit)
    physics = _unique(
        [
            title,
            *keywords,
            *record.reactions,
            *observables,
            *(_collision_spellings(collision_type) if collision_type else ()),
            *energies,
            description,
        ]
    )
    return {
        "title": [title],
        "title_exact": [title.strip()],
        "description": [description] if description else [],
        "keywords": keywords,
        "experiments": experiment_names,
        "concepts": concept_labels,
        "observables": observables,
        "reactions": list(record.reactions),
        "identifiers": identifiers,
        "physics": physics,
    }


def _collision_spellings(collision_type: Concept) -> list[str]:
    """ "PbPb" is also written "Pb-Pb" (and "pp" "p-p"): both spellings are indexed as physics tokens."""
    spellings = [collision_type.label, collision_type.raw]
    pair = _BEAM_PAIR.match(collision_type.label)
    if pair:
        spellings.append(f"{pair[1]}-{pair[2]}")
    return spellings


def filter_terms(field: str, value: str) -> tuple[str, ...]:
    """The indexed values a filter value stands for, so filters accept what people type and what facets showed.

    Vocabulary fields also match the concept the value names ("cms" and "CMS Collaboration" → "CMS",
    "proton-proton" → "pp"); licences match their SPDX id; DOIs and identifiers compare as `Identifier.key()` does
    (an identifier without a scheme prefix matches it under any scheme); formats are normalised as indexed.
    """
    value = value.strip()
    terms = [value]
    scheme = _VOCABULARY_OF.get(field)
    if scheme is not None:
        found = lookup(scheme, value)
        if found is not None:
            terms.append(found.label)
    elif field == "license":
        terms.append(license_concept(value).label)
    elif field == "doi":
        terms = [re.sub(r"^(https?://(dx\.)?doi\.org/|doi:)", "", value, flags=re.IGNORECASE).lower()]
    elif field == "identifier":
        terms = _identifier_terms(value)
    elif field == "file_format":
        terms.append(normalise_format(value) or value)
    elif field == "availability":
        terms.append(value.lower())
    elif field == "site":
        terms.append(value.upper())  # Rucio names its sites (RSEs) in capitals; people type them as they like
    return tuple(dict.fromkeys(t for t in terms if t))


def _identifier_terms(value: str) -> list[str]:
    prefix, sep, rest = value.partition(":")
    schemes = {s.value: s for s in IdentifierScheme}
    if sep and prefix.lower() in schemes:
        scheme = schemes[prefix.lower()]
        rest = rest.strip()
        return [f"{scheme}:{rest.lower() if scheme in _DOI_SCHEMES else rest}"]
    return [f"{s}:{value.lower() if s in _DOI_SCHEMES else value}" for s in IdentifierScheme]


def _code_fingerprint() -> str:
    """A digest of the code that shapes documents: a member entry kept by the catalogue is used only while it equals
    this, so a change to how documents are built never serves documents built the old way."""
    digest = hashlib.sha256(str(SCHEMA_VERSION).encode())
    for path in (Path(__file__), Path(indexer.document_dates.__file__), Path(indexer.query.__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


DOCUMENT_FINGERPRINT = _code_fingerprint()
