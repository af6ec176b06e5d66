"""Zenodo metadata → model pieces that do not depend on how the record was serialised.

Zenodo publishes one record in several shapes: the legacy REST JSON, the InvenioRDM REST JSON and, over OAI-PMH,
DataCite XML. Where the shapes carry the same kind of value (a creator with an ORCID and affiliations, a licence id,
a DataCite relation to another identifier, an HTML abstract, a list of free keywords), the value becomes a model
value here, so every Zenodo path maps it the same way. The functions are pure; bad values raise `MappingError`
naming the field.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any, Literal

from pydantic import ValidationError

from connectors.base import MappingError
from connectors.markup import collapse_ascii_whitespace, parse_html, simple_html_pieces, unescape_simple_text
from ontology import Agent, Checksum, Concept, Distribution, Identifier, IdentifierScheme, TemporalCoverage
from ontology.model import Affiliation, Availability
from ontology.vocabulary import by_uri, experiment_physics, from_uri, license_concept, lookup

ZENODO = "https://zenodo.org"

# --------------------------------------------------------------------------------------------------------------------
# text


_BLOCK_TAGS = frozenset(
    (
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure", "footer", "h1",
        "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table",
        "tbody", "thead", "tfoot", "tr", "ul",
    )
)  # fmt: skip


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment: block elements become paragraphs, `<br>` a line break."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, bool]] = []
        """(text, is a list item): consecutive list items are joined by a line break, other blocks by a blank line."""
        self._current: list[str] = []
        self._item = False
        self._pre = 0
        self._skip = 0

    def _flush(self) -> None:
        if self._current:  # most block tags open or close an empty block
            text = _block_text(self._current, self._pre)
            if text:
                self.blocks.append((text, self._item))
            self._current = []
        self._item = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "br":
            self._current.append("\n" if self._pre else "\x00")
        elif tag in _BLOCK_TAGS:
            self._flush()
            if tag == "pre":
                self._pre += 1
            elif tag == "li":
                self._current.append("- ")
                self._item = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self._flush()
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._current.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def _block_text(pieces: list[str], pre: int) -> str:
    """`_TextExtractor._flush`'s text of a block."""
    text = "".join(pieces)
    if pre:
        return text.strip("\n")
    if "\x00" in text:
        return "\n".join(collapse_ascii_whitespace(line).strip() for line in text.split("\x00")).strip()
    return collapse_ascii_whitespace(text).strip()


def _simple_blocks(html: str) -> list[tuple[str, bool]] | None:
    """`_TextExtractor`'s blocks of simple HTML (`markup.simple_html_pieces`), its handlers' steps inlined in one
    loop over the tags: most of `html_to_text`'s time went to the parser's set-up and a method call per event.
    None where the HTML is not simple. `tests/connectors/test_zenodo_speedups.py` compares it with the parser."""
    pieces = simple_html_pieces(html)
    if pieces is None:
        return None
    blocks: list[tuple[str, bool]] = []
    current: list[str] = []
    item = False
    pre = 0
    text = pieces[0]
    if text:
        current.append(unescape_simple_text(text))
    for index in range(1, len(pieces), 4):
        start = pieces[index]
        if start is None:  # an end tag
            tag = pieces[index + 2].lower()  # type: ignore[union-attr]
            closes = True
        else:
            tag = start.lower()
            closes = bool(pieces[index + 1])  # `<p/>`: HTMLParser calls handle_starttag, then handle_endtag
            if tag == "br":
                current.append("\n" if pre else "\x00")
            elif tag in _BLOCK_TAGS:
                _end_block(blocks, current, pre, item)
                current = []
                item = False
                if tag == "pre":
                    pre += 1
                elif tag == "li":
                    current.append("- ")
                    item = True
        if closes and tag in _BLOCK_TAGS:
            _end_block(blocks, current, pre, item)
            current = []
            item = False
            if tag == "pre":
                pre = max(0, pre - 1)
        text = pieces[index + 3]
        if text:
            current.append(unescape_simple_text(text))
    _end_block(blocks, current, pre, item)
    return blocks


def _end_block(blocks: list[tuple[str, bool]], current: list[str], pre: int, item: bool) -> None:
    """The block read so far, if it holds text, into `blocks`."""
    if current:
        text = _block_text(current, pre)
        if text:
            blocks.append((text, item))


def html_to_text(html: str) -> str:
    """Plain text of an HTML abstract: paragraphs separated by a blank line, entities decoded, markup dropped."""
    blocks = _simple_blocks(html)
    if blocks is None:
        blocks = parse_html(html, _TextExtractor).blocks
    parts: list[str] = []
    previous_item = False
    for text, item in blocks:
        if parts:
            parts.append("\n" if item and previous_item else "\n\n")
        parts.append(text)
        previous_item = item
    return "".join(parts)


# --------------------------------------------------------------------------------------------------------------------
# values shared between records

SHARED_VALUES = 1 << 14
"""How many distinct values each cache of shared model values remembers (licences, resource types, publishers,
communities, affiliations, vocabulary concepts: sources repeat a few thousand of them from record to record)."""

# Model values that recur from record to record are built (validated) once and the same instance goes into every
# record that has the value: a validated pydantic model costs 2-4 µs, a cache hit a tenth of that. Sharing is safe
# because model values are never changed in place (a change is a `model_copy(update=...)`, a new value), and a
# record's own lists are its own: pydantic validates a list field into a new list.


@lru_cache(maxsize=SHARED_VALUES)
def shared_concept(uri: str | None, label: str, raw: str) -> Concept:
    """`Concept(uri=uri, label=label, raw=raw)`, one instance per distinct value."""
    return Concept(uri=uri, label=label, raw=raw)


@lru_cache(maxsize=SHARED_VALUES)
def shared_coverage(start: str | None, end: str | None) -> TemporalCoverage:
    """`TemporalCoverage(start=start, end=end)`, one instance per distinct period."""
    return TemporalCoverage(start=start, end=end)


# --------------------------------------------------------------------------------------------------------------------
# identifiers and relations

_SCHEMES = {
    "doi": IdentifierScheme.DOI,
    "arxiv": IdentifierScheme.ARXIV,
    "url": IdentifierScheme.URL,
    "handle": IdentifierScheme.HANDLE,
    "hdl": IdentifierScheme.HANDLE,
    "isbn": IdentifierScheme.ISBN,
    "inspire": IdentifierScheme.INSPIRE,
    "cds": IdentifierScheme.CDS,
}

RelationField = Literal[
    "is_part_of", "has_part", "is_supplement_to", "references", "is_new_version_of", "is_version_of", "identifiers"
]

RELATION_FIELDS: dict[str, RelationField] = {
    "issupplementto": "is_supplement_to",
    "ispartof": "is_part_of",
    "haspart": "has_part",
    "references": "references",
    "cites": "references",
    "isnewversionof": "is_new_version_of",
    "isversionof": "is_version_of",
    "isalternateidentifier": "identifiers",
    "isidenticalto": "identifiers",
}
"""DataCite relation types (lower-cased, as InvenioRDM writes them) that have a field in the model.

Every other relation (isCitedBy, isDocumentedBy, isDerivedFrom, isSourceOf, ...) keeps its target as a resolvable
link in `related_links`."""


_GUESS_DOI = re.compile(r"^(doi:|https?://(dx\.)?doi\.org/)?10\.\d{4,9}/\S+$")
_GUESS_ARXIV = re.compile(r"^(arxiv:)?(\d{4}\.\d{4,5}|[a-z\-]+(\.[a-z]{2})?/\d{7})(v\d+)?$")
_GUESS_ARXIV_URL = re.compile(r"^https?://arxiv\.org/abs/")


def guess_scheme(value: str) -> str:
    """The identifier scheme of a bare value, as Zenodo detects it when a depositor gives none."""
    text = value.strip()
    lowered = text.lower()
    if _GUESS_DOI.match(lowered):
        return "doi"
    if _GUESS_ARXIV.match(lowered):
        return "arxiv"
    if _GUESS_ARXIV_URL.match(lowered):
        return "arxiv"
    if lowered.startswith(("http://", "https://", "ftp://")):
        return "url"
    if lowered.startswith("urn:lsid:"):
        return "lsid"
    if lowered.startswith("urn:"):
        return "urn"
    return "other"


def related_identifier(value: str, scheme: str | None) -> Identifier | None:
    """An identifier a record points to. A value its scheme rejects is kept under `other`, never dropped."""
    text = (value or "").strip()
    if not text:
        return None
    name = (scheme or guess_scheme(text)).strip().lower()
    mapped = _SCHEMES.get(name)
    if mapped is not None:
        try:
            return Identifier(scheme=mapped, value=text)
        except ValidationError:
            pass
    if name == "other" or text.lower().startswith(f"{name}:") or ":" in text:
        return Identifier(scheme=IdentifierScheme.OTHER, value=text)
    return Identifier(scheme=IdentifierScheme.OTHER, value=f"{name}:{text}")


def doi(value: str, field_name: str, scheme: IdentifierScheme = IdentifierScheme.DOI) -> Identifier:
    """The record's own DOI (or concept DOI): a malformed one is a mapping error, not a guess."""
    try:
        return Identifier(scheme=scheme, value=value)
    except ValidationError as error:
        raise MappingError(field_name, f"{value!r} is not a DOI: {_first_error(error)}") from None


@lru_cache(maxsize=SHARED_VALUES)
def community_identifier(slug: str, base: str = ZENODO) -> Identifier:
    """A Zenodo community as the collection a record is part of (Zenodo's DataCite export says the same)."""
    return Identifier(scheme=IdentifierScheme.URL, value=f"{base}/communities/{slug}")


@dataclass
class Relations:
    """Accumulates a record's relations, each identifier once per field, in source order."""

    fields: dict[str, list[Identifier]] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)

    def add(self, relation: str, target: Identifier | None) -> None:
        if target is None:
            return
        name = RELATION_FIELDS.get(relation.strip().lower().replace("_", ""))
        if name is None:
            link = target.uri() or target.value
            if link not in self.links:
                self.links.append(link)
            return
        bucket = self.fields.setdefault(name, [])
        key = target.key()
        if all(existing.key() != key for existing in bucket):
            bucket.append(target)

    def get(self, name: RelationField) -> list[Identifier]:
        return list(self.fields.get(name, []))


def unique_identifiers(identifiers: Iterable[Identifier]) -> list[Identifier]:
    seen: set[str] = set()
    out = []
    for identifier in identifiers:
        key = identifier.key()
        if key not in seen:
            seen.add(key)
            out.append(identifier)
    return out


# --------------------------------------------------------------------------------------------------------------------
# people and organisations

_ROR = re.compile(r"^(https?://ror\.org/)?(0[a-z0-9]{6}\d{2})$", re.IGNORECASE)


@lru_cache(maxsize=1 << 16)
def ror_url(value: str | None) -> str | None:
    """A ROR id in its canonical form (`https://ror.org/<id>`), or None if the value is not a ROR id."""
    if not value:
        return None
    match = _ROR.match(value.strip())
    return f"https://ror.org/{match.group(2).lower()}" if match else None


def affiliation(name: str | None, ror: str | None = None) -> Affiliation | None:
    text = (name or "").strip()
    return _affiliation(text, ror) if text else None


@lru_cache(maxsize=SHARED_VALUES)
def _affiliation(name: str, ror: str | None) -> Affiliation:
    return Affiliation(name=name, ror=ror_url(ror))


def split_name(name: str) -> tuple[str | None, str | None]:
    """Zenodo's convention "Family, Given": (given, family); names without a comma are not split."""
    family, sep, given = name.partition(",")
    if not sep or not family.strip() or not given.strip():
        return None, None
    return given.strip(), family.strip()


def agent(
    field_name: str,
    name: str | None,
    *,
    kind: Literal["person", "organization"] = "person",
    given_name: str | None = None,
    family_name: str | None = None,
    orcid: str | None = None,
    ror: str | None = None,
    affiliations: Sequence[Affiliation] = (),
    name_suffix: str = ".name",
) -> Agent:
    """A creator or contributor; a missing name or an ORCID that is not one is a mapping error. `name_suffix` is
    where the name is in the source's creator (InvenioRDM: `.person_or_org.name`), for that error."""
    text = (name or "").strip()
    if not text:
        text = " ".join(part for part in (given_name, family_name) if part).strip()
    if not text:
        raise MappingError(field_name + name_suffix, "a creator or contributor without a name")
    try:
        return Agent(
            name=text,
            kind=kind,
            given_name=(given_name or "").strip() or None,
            family_name=(family_name or "").strip() or None,
            orcid=orcid.strip() if orcid and orcid.strip() else None,
            ror=ror_url(ror),
            affiliations=list(affiliations),
        )
    except ValidationError as error:
        raise MappingError(field_name, _first_error(error)) from None


@lru_cache(maxsize=SHARED_VALUES)
def organisation(name: str) -> Agent:
    """An organisation by its name alone (a publisher), one instance per name."""
    return Agent(name=name.strip(), kind="organization")


# --------------------------------------------------------------------------------------------------------------------
# licence, access, resource type, dates

LEGACY_LICENSE_ALIASES = {"cc-zero": "cc0-1.0", "cc-by": "cc-by-4.0", "cc-by-sa": "cc-by-sa-4.0"}
"""Old Zenodo licence ids that InvenioRDM renamed (zenodo-rdm `legacy_to_rdm`)."""


_MAPPED_LICENCES: dict[str, Concept] = {}
"""Licence ids → their SPDX concept, for ids that map (at most `SHARED_VALUES`). Unmapped ids are not remembered:
`license_concept` counts every occurrence of one for the vocabulary's report of unmapped values."""


def license_for(rights_id: str | None, title: str | None = None, url: str | None = None) -> Concept | None:
    """Zenodo's licence (an InvenioRDM/SPDX-like id, lower-cased) as an SPDX concept; unknown ones stay unmapped."""
    if rights_id and rights_id.strip():
        raw = rights_id.strip()
        known = _MAPPED_LICENCES.get(raw)
        if known is not None:
            return known
        mapped = license_concept(LEGACY_LICENSE_ALIASES.get(raw.lower(), raw))
        if mapped.mapped:
            if len(_MAPPED_LICENCES) < SHARED_VALUES:
                _MAPPED_LICENCES[raw] = mapped
            return mapped
        # an id no SPDX licence matches stays as Zenodo names it, in every shape (only InvenioRDM has titles)
        return Concept(uri=None, label=raw, raw=raw)
    if title and title.strip():
        by_url = license_concept(url) if url else None
        if by_url is not None and by_url.mapped:
            return Concept(uri=by_url.uri, label=by_url.label, raw=title)
        return Concept(uri=None, label=title.strip(), raw=title)
    return None


AccessRights = Literal["open", "embargoed", "restricted", "closed"]

_ACCESS = {
    "open": "open",
    "embargoed": "embargoed",
    "restricted": "restricted",
    "closed": "closed",
    "metadata-only": "closed",
}


def access_rights(value: str | None, field_name: str) -> AccessRights | None:
    if value is None:
        return None
    mapped = _ACCESS.get(value.strip().lower())
    if mapped is None:
        raise MappingError(field_name, f"{value!r} is not an access right (open, embargoed, restricted, closed)")
    return mapped  # type: ignore[return-value]


def availability(access: AccessRights | None) -> Availability:
    """Whether a file can be downloaded: open files are online, restricted ones on request."""
    if access == "open":
        return Availability.ONLINE
    if access == "restricted":
        return Availability.ON_REQUEST
    return Availability.UNKNOWN


_SCHEMA_ORG_TYPES = {
    "dataset": "https://schema.org/Dataset",
    "software": "https://schema.org/SoftwareSourceCode",
    "publication": "https://schema.org/CreativeWork",
    "publication-article": "https://schema.org/ScholarlyArticle",
    "publication-preprint": "https://schema.org/ScholarlyArticle",
    "publication-conferencepaper": "https://schema.org/ScholarlyArticle",
    "publication-thesis": "https://schema.org/Thesis",
    "publication-book": "https://schema.org/Book",
    "publication-section": "https://schema.org/Chapter",
    "publication-report": "https://schema.org/Report",
    "publication-technicalnote": "https://schema.org/TechArticle",
    "publication-softwaredocumentation": "https://schema.org/TechArticle",
    "poster": "https://schema.org/Poster",
    "presentation": "https://schema.org/PresentationDigitalDocument",
    "image": "https://schema.org/ImageObject",
    "video": "https://schema.org/VideoObject",
    "lesson": "https://schema.org/LearningResource",
    "workflow": "https://schema.org/CreativeWork",
    "model": "https://schema.org/CreativeWork",
    "physicalobject": "https://schema.org/Thing",
    "other": "https://schema.org/CreativeWork",
}
"""Zenodo resource types to the schema.org types InvenioRDM's resource-type vocabulary names for them."""


def resource_type(type_id: str | None, title: str | None) -> Concept | None:
    """A Zenodo resource type (`dataset`, `publication-article`, ...) as a schema.org type concept."""
    if not type_id or not type_id.strip():
        return None
    raw = type_id.strip().lower()
    uri = _SCHEMA_ORG_TYPES.get(raw) or _SCHEMA_ORG_TYPES.get(raw.split("-")[0])
    label = (title or "").strip() or raw
    return shared_concept(uri, label, raw)


_PARTIAL_DATE = re.compile(
    r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])"
    r"(T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)?)?)?)?$"
)


def partial_date(value: Any, field_name: str) -> str | None:
    """An ISO 8601 date or timestamp at the source's precision; anything else is a mapping error."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _PARTIAL_DATE.match(value.strip()):
        raise MappingError(field_name, f"{value!r} is not an ISO 8601 date")
    return value.strip()


def date_interval(value: str, field_name: str) -> tuple[str | None, str | None]:
    """An EDTF level-0 interval `start/end` (InvenioRDM dates), or a single date as both ends."""
    start, sep, end = value.partition("/")
    if not sep:
        single = partial_date(value, field_name)
        return single, single
    return partial_date(start, field_name), partial_date(end, field_name)


# --------------------------------------------------------------------------------------------------------------------
# files

_MEDIA_TYPES = mimetypes.MimeTypes()  # Python's own table only: the same answer on every machine


def extension(name: str) -> str | None:
    base = name.rsplit("/", 1)[-1]
    if "." not in base.strip("."):
        return None
    ext = base.rsplit(".", 1)[1].lower()
    return ext if ext.isalnum() else None


def media_type(name: str, given: str | None) -> str | None:
    if given and given.strip():
        return given.strip()
    return _MEDIA_TYPES.guess_type(name, strict=False)[0]


def file_role(name: str, record_type: str | None) -> Literal["data", "documentation", "software"]:
    """Software records ship software; PDFs and READMEs document; everything else is data."""
    lowered = name.rsplit("/", 1)[-1].lower()
    if lowered.endswith(".pdf") or lowered.startswith("readme"):
        return "documentation"
    if record_type and record_type.startswith("software"):
        return "software"
    return "data"


def distribution(
    field_name: str,
    name: Any,
    *,
    url: str | None,
    size: Any,
    checksum: Any,
    given_media_type: str | None,
    record_type: str | None,
    access: AccessRights | None,
    name_key: str = "key",
    size_key: str = "size",
) -> Distribution:
    """One file of a record: size in bytes, md5 checksum (`md5:<hex>` or a bare hex digest), media type.
    `name_key` and `size_key` are the keys the source file has its name and size under (for errors)."""
    if not isinstance(name, str) or not name.strip():
        raise MappingError(f"{field_name}.{name_key}", "a file without a name")
    size_bytes: int | None = None
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int | float) or size < 0 or int(size) != size:
            raise MappingError(f"{field_name}.{size_key}", f"{size!r} is not a size in bytes")
        size_bytes = int(size)
    parsed: Checksum | None = None
    if checksum:
        try:
            parsed = Checksum.parse(str(checksum), default_algorithm="md5")
        except (ValueError, ValidationError) as error:
            raise MappingError(f"{field_name}.checksum", str(error)) from None
    return Distribution(
        name=name,
        url=url,
        size_bytes=size_bytes,
        checksum=parsed,
        media_type=media_type(name, given_media_type),
        format=extension(name),
        role=file_role(name, record_type),
        availability=availability(access),
    )


# --------------------------------------------------------------------------------------------------------------------
# experiments and physics

_QUALIFIERS = re.compile(r"\b(collaboration|experiment|detector|observatory|telescope|consortium)\b", re.IGNORECASE)

AMBIGUOUS_NAMES = frozenset(
    (
        "alice", "ani", "anais", "arca", "atlas", "auger", "belle", "cdms", "cms", "cosine", "cta", "dama", "darkside",
        "delphi", "fermi", "hess", "jade", "kagra", "lopes", "libra", "lz", "magic", "opera", "orca", "pao", "phenix",
        "ta", "taiga", "totem", "tunka", "veritas", "virgo", "xenon",
    )
)  # fmt: skip
"""Experiment names that are also ordinary words or other things (an atlas, the element xenon, Delphi the language,
the Virgo cluster, the cosine function): as a bare keyword they name the experiment only in a physics context."""

PHYSICS_CONTEXT = frozenset(
    re.sub(r"[^a-z0-9]", "", term)
    for term in (
        "dark matter", "dark matter direct detection", "direct detection", "wimp", "wimps", "axion", "axions",
        "particle physics", "high energy physics", "hep", "hep-ex", "hep-ph", "astroparticle physics",
        "astroparticle", "astro-ph", "astro-ph.he", "astro-ph.co", "cosmic rays", "cosmic ray", "neutrino",
        "neutrinos", "neutrino physics", "neutrino astronomy", "gamma-ray astronomy", "gamma rays", "gamma-ray",
        "gravitational waves", "gravitational wave", "collider", "lhc", "multi-messenger", "multimessenger",
        "nuclear recoil", "extensive air showers", "extensive air shower", "air shower", "underground physics",
        "very high energy", "annual modulation",
    )
)  # fmt: skip
"""Keywords that put a record in particle or astroparticle physics, so a bare ambiguous name means the experiment."""


_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]")


@lru_cache(maxsize=1 << 16)
def _norm(text: str) -> str:
    return _NOT_ALPHANUMERIC.sub("", text.lower())


@dataclass(frozen=True)
class ExperimentSignals:
    """What a record says that may name experiments: free keywords, community slugs, organisation names."""

    keywords: Sequence[str] = ()
    communities: Sequence[str] = ()
    organisations: Sequence[str] = ()


def detect_experiments(signals: ExperimentSignals) -> tuple[list[Concept], list[Concept]]:
    """Experiments (and collaborations) a record names unambiguously, as (experiments, collaborations).

    A keyword, a community slug or an organisation name maps to an experiment when the whole string is one of
    the experiment's names in the vocabulary. Names that are also ordinary words (`AMBIGUOUS_NAMES`) count only
    with a qualifier ("ATLAS Collaboration", "XENON experiment") or when the record is in a physics context: one
    of its keywords is a physics term or names a messenger, or another experiment was found unambiguously.
    Organisations (creators such as "XENON Collaboration") also give the collaboration.
    """
    candidates: list[tuple[str, str, bool]] = []  # (raw, origin, qualified)
    for origin, values in (
        ("keyword", signals.keywords),
        ("community", signals.communities),
        ("organisation", signals.organisations),
    ):
        for raw in values:
            if raw and raw.strip():
                candidates.append((raw.strip(), origin, _qualified(raw)))
    found: list[tuple[Any, str, str, bool]] = []
    for raw, origin, qualified in candidates:
        text = raw.replace("-", " ") if origin == "community" else raw
        concept = lookup("experiment", text) or lookup("experiment", raw)
        if concept is not None:
            found.append((concept, raw, origin, qualified))
    keywords = [_norm(k) for k in signals.keywords if k]
    context = any(k in PHYSICS_CONTEXT for k in keywords) or any(lookup("messenger", k) for k in signals.keywords)
    context = context or any(not _ambiguous(raw) or qualified for _, raw, _, qualified in found)
    experiments: dict[str, Concept] = {}
    collaborations: dict[str, Concept] = {}
    for concept, raw, origin, qualified in found:
        if _ambiguous(raw) and not qualified and not context:
            continue
        # a Concept only for the first mention of an experiment (setdefault would build one for every mention)
        if concept.uri not in experiments:
            experiments[concept.uri] = shared_concept(concept.uri, concept.label, raw)
        if origin == "organisation" and concept.uri not in collaborations:
            collaborations[concept.uri] = shared_concept(concept.uri, concept.label, raw)
    return list(experiments.values()), list(collaborations.values())


@lru_cache(maxsize=1 << 16)
def _qualified(raw: str) -> bool:
    return _QUALIFIERS.search(raw) is not None


@lru_cache(maxsize=1 << 16)
def _ambiguous(raw: str) -> bool:
    return _norm(_QUALIFIERS.sub("", raw)) in AMBIGUOUS_NAMES


def keyword_messengers(keywords: Sequence[str]) -> list[Concept]:
    """Messengers a record names outright as a keyword ("neutrino", "gravitational waves")."""
    out: dict[str, Concept] = {}
    for raw in keywords:
        found = lookup("messenger", raw) if raw else None
        if found is not None and found.uri not in out:
            out[found.uri] = shared_concept(found.uri, found.label, raw)
    return list(out.values())


@dataclass(frozen=True)
class Physics:
    messengers: list[Concept]
    techniques: list[Concept]
    targets: list[Concept]
    accelerator: Concept | None


def physics(experiments: list[Concept], keywords: Sequence[str]) -> Physics:
    """Messengers, techniques and targets the experiments imply, plus messengers named as keywords."""
    implied = _implied_physics(experiments)
    messengers = {c.uri: c for c in implied.messengers}
    for raw in keywords:  # as keyword_messengers, without building concepts the experiments already gave
        found = lookup("messenger", raw) if raw else None
        if found is not None and found.uri not in messengers:
            messengers[found.uri] = shared_concept(found.uri, found.label, raw)
    return Physics(list(messengers.values()), list(implied.techniques), list(implied.targets), implied.accelerator)


_IMPLIED_PHYSICS: dict[tuple[str | None, ...], Physics] = {}
"""What experiments imply, by the experiments' URIs in order (at most `SHARED_VALUES` combinations)."""


def _implied_physics(experiments: list[Concept]) -> Physics:
    """The messengers, techniques, targets and accelerator that the vocabulary gives the experiments: a function of
    their URIs alone (and their order: the first experiment's wording is kept), which records repeat."""
    key = tuple(experiment.uri for experiment in experiments)
    implied = _IMPLIED_PHYSICS.get(key)
    if implied is not None:
        return implied
    known = experiment_physics(experiments)
    accelerators = set()
    for experiment in experiments:
        found = by_uri(experiment.uri) if experiment.uri else None
        if found is not None and found.accelerator:
            accelerators.add(found.accelerator)
    accelerator = from_uri(accelerators.pop(), raw="from the experiment") if len(accelerators) == 1 else None
    implied = Physics(known.messengers, known.techniques, known.targets, accelerator)
    if len(_IMPLIED_PHYSICS) < SHARED_VALUES:
        _IMPLIED_PHYSICS[key] = implied
    return implied


def resource_categories(type_id: str | None, keywords: Sequence[str]) -> list[Concept]:
    """Resource categories a record states: software records, and keywords naming a category exactly."""
    out: dict[str, Concept] = {}
    if type_id and type_id.startswith("software"):
        found = lookup("resource-category", "software")
        if found is not None:
            out[found.uri] = shared_concept(found.uri, found.label, type_id)
    if type_id in ("publication-softwaredocumentation", "publication-technicalnote"):
        found = lookup("resource-category", "documentation")
        if found is not None:
            out[found.uri] = shared_concept(found.uri, found.label, type_id)
    for raw in keywords:
        found = lookup("resource-category", raw) if raw else None
        if found is not None and found.uri not in out:
            out[found.uri] = shared_concept(found.uri, found.label, raw)
    return list(out.values())


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    return str(first.get("msg", error)).removeprefix("Value error, ")
