"""The citation files a GitLab dataset project may hold beside its DMDC descriptor: `CITATION.cff` (Citation File
Format 1.2), `codemeta.json` (CodeMeta 2/3) and `.zenodo.json` (Zenodo's deposit metadata). Each is read into the
same small `Described` shape; the mapper takes each field from the first file that has it (descriptor first).

These files are written by hand and often loosely: a field of the wrong type is ignored here rather than failing
the record (the descriptor is the file whose shape dmlake enforces), but a file that does not parse at all (or is
not a mapping) is an error naming the file. Values that are read but turn out unusable (a DOI that is not one, a
date that is not a date) are the mapper's to refuse: `Described.paths` says where in the file each was read, so the
error names that place (`CITATION.cff:$.identifiers[1].value`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml

from connectors.base import MappingError

_DOI_URL = re.compile(r"^(https?://(dx\.)?doi\.org/|doi:)", re.IGNORECASE)
_ORCID = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")
_ARXIV = re.compile(r"^(arxiv:|https?://arxiv\.org/abs/)", re.IGNORECASE)


@dataclass(frozen=True)
class Author:
    name: str
    kind: str = "person"
    given_name: str | None = None
    family_name: str | None = None
    orcid: str | None = None
    affiliation: str | None = None

    @classmethod
    def person(cls, family: str, given: str | None, orcid: str | None, affiliation: str | None) -> Author:
        """A person by name parts, named "Family, Given" as DataCite and the catalogue write people."""
        name = f"{family}, {given}" if given else family
        return cls(name=name, given_name=given, family_name=family, orcid=orcid, affiliation=affiliation)


@dataclass
class Described:
    """What one citation file says about the dataset (every field optional)."""

    title: str | None = None
    description: str | None = None
    version: str | None = None
    doi: str | None = None
    license: str | None = None
    issued: str | None = None
    authors: list[Author] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    supplement_to: list[tuple[str, str]] = field(default_factory=list)
    """(scheme, value) of works the dataset is the data of: `("doi", "10.…")`, `("arxiv", "2409.13226")`."""
    references: list[tuple[str, str]] = field(default_factory=list)
    file_name: str = ""
    paths: dict[str, str] = field(default_factory=dict)
    """Where in the file a value was read, as a JSON path: by field name (`doi` → `$.identifiers[1].value`), and for
    the related works by position (`supplement_to[0]` → `$.preferred-citation.doi`). A value absent here was read
    at `$.<field>`."""

    def field_path(self, name: str) -> str:
        """`<file>:<JSON path>` of a value this file gave, for an error naming it."""
        return f"{self.file_name}:{self.paths.get(name, f'$.{name}')}"


_PLAIN_KEY = re.compile(r"^[^.\[\]'\"\s]+$")


def _json_path(*steps: str | int) -> str:
    """A JSON path (`$.authors[1].family-names`); keys that would not read back unambiguously are quoted."""
    path = "$"
    for step in steps:
        if isinstance(step, int):
            path += f"[{step}]"
        elif _PLAIN_KEY.match(step):
            path += f".{step}"
        else:
            path += "[" + repr(step) + "]"
    return path


def _items(value: Any) -> list[Any]:
    """A list's items; a value of another type is ignored like an absent one (see the module's note)."""
    return value if isinstance(value, list) else []


def _version(value: Any) -> str | None:
    """A version as text. YAML reads an unquoted `1.0` as a number and `2024-05-01` as a date, so those count;
    booleans, lists and mappings do not."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | date):
        return None
    return _text(str(value))


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [item.strip() for item in value if isinstance(item, str) and item.strip()]
    return []


def _orcid(value: Any) -> str | None:
    text = _text(value)
    match = _ORCID.search(text) if text else None
    return match.group(1) if match else None


def _identifier(value: str) -> tuple[str, str] | None:
    """A related-work identifier as (scheme, value): DOIs and arXiv ids; anything else is kept as a URL."""
    text = value.strip()
    if _DOI_URL.match(text) or text.startswith("10."):
        return ("doi", _DOI_URL.sub("", text))
    if _ARXIV.match(text):
        return ("arxiv", _ARXIV.sub("", text))
    if text.startswith(("http://", "https://")):
        return ("url", text)
    return None


def _date(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""  # YAML reads an unquoted date as a datetime.date
    return text[:10] if re.match(r"^\d{4}(-\d{2}(-\d{2})?)?", text) else None


_UNREADABLE_YAML = (ValueError, TypeError, AttributeError, KeyError, RecursionError)
"""What PyYAML's safe loader lets escape, besides `YAMLError`, for text that scans as YAML: a date that is not one
(`date-released: 2024-13-01`: ValueError), `!!bool maybe` (KeyError), `!!timestamp x` (AttributeError), an integer
of more than 4300 digits, nesting deeper than Python's recursion limit."""


def _reason(error: Exception) -> str:
    return "nested too deeply" if isinstance(error, RecursionError) else str(error)


def read_citation_cff(data: bytes) -> Described:
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError as error:
        raise MappingError("CITATION.cff", f"not YAML ({error})") from error
    except _UNREADABLE_YAML as error:
        raise MappingError("CITATION.cff", f"a value YAML cannot read ({_reason(error)})") from error
    if not isinstance(doc, dict):
        raise MappingError("CITATION.cff", f"expected a YAML mapping, got {_kind(doc)}")
    described = Described(
        title=_text(doc.get("title")),
        description=_text(doc.get("abstract")),
        version=_version(doc.get("version")),
        doi=_text(doc.get("doi")),
        license=_texts(doc.get("license"))[0] if _texts(doc.get("license")) else None,
        issued=_date(doc.get("date-released")),
        keywords=_texts(doc.get("keywords")),
        file_name="CITATION.cff",
        paths={"issued": _json_path("date-released")},
    )
    for author in _items(doc.get("authors")):
        if not isinstance(author, dict):
            continue
        given, family = _text(author.get("given-names")), _text(author.get("family-names"))
        name = _text(author.get("name"))
        if family:
            described.authors.append(
                Author.person(family, given, _orcid(author.get("orcid")), _text(author.get("affiliation")))
            )
        elif name:
            described.authors.append(Author(name=name, kind="organization"))
    for number, identifier in enumerate(_items(doc.get("identifiers"))):
        if isinstance(identifier, dict) and identifier.get("type") == "doi" and not described.doi:
            described.doi = _text(identifier.get("value"))
            described.paths["doi"] = _json_path("identifiers", number, "value")
    preferred = doc.get("preferred-citation")
    if isinstance(preferred, dict):
        for key, scheme in (("doi", "doi"), ("url", "url")):
            if _text(preferred.get(key)):
                described.paths[f"supplement_to[{len(described.supplement_to)}]"] = _json_path(
                    "preferred-citation", key
                )
                described.supplement_to.append((scheme, str(preferred[key]).strip()))
                break
    return described


def _kind(value: Any) -> str:
    """A parsed document's type in the words of its format (a YAML or JSON "list", not Python's)."""
    names = {dict: "mapping", list: "list", str: "text", int: "number", float: "number", bool: "boolean"}
    return "nothing (an empty file)" if value is None else names.get(type(value), type(value).__name__)


def _json_document(data: bytes, name: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as error:  # ValueError: bad syntax, bad UTF-8, a number too long to read
        raise MappingError(name, f"not JSON ({_reason(error)})") from error
    if not isinstance(doc, dict):
        raise MappingError(name, f"expected a JSON object, got {_kind(doc)}")
    return doc


def read_codemeta(data: bytes) -> Described:
    doc = _json_document(data, "codemeta.json")
    licence = doc.get("license")
    if isinstance(licence, list):
        licence = next((item for item in licence if isinstance(item, str)), None)
    identifier = _text(doc.get("identifier")) if isinstance(doc.get("identifier"), str) else None
    described = Described(
        title=_text(doc.get("name")),
        description=_text(doc.get("description")),
        version=_version(doc.get("version")),
        doi=identifier[len("https://doi.org/") :] if identifier and identifier.startswith("https://doi.org/") else None,
        license=_text(licence),
        issued=_date(doc.get("datePublished")),
        keywords=_texts(doc.get("keywords")),
        file_name="codemeta.json",
        paths={"doi": _json_path("identifier"), "issued": _json_path("datePublished")},
    )
    authors = doc.get("author") or []
    for author in authors if isinstance(authors, list) else [authors]:
        if not isinstance(author, dict):
            continue
        given, family = _text(author.get("givenName")), _text(author.get("familyName"))
        affiliation = author.get("affiliation")
        affiliation_name = _text(affiliation.get("name")) if isinstance(affiliation, dict) else _text(affiliation)
        if family:
            described.authors.append(Author.person(family, given, _orcid(author.get("@id")), affiliation_name))
        elif _text(author.get("name")):
            kind = "organization" if author.get("@type") == "Organization" else "person"
            described.authors.append(Author(name=str(author["name"]).strip(), kind=kind))
    publications = doc.get("referencePublication") or []
    listed = isinstance(publications, list)
    for number, publication in enumerate(publications if listed else [publications]):
        if not isinstance(publication, dict):
            continue
        key = "@id" if publication.get("@id") else "identifier"
        value = publication.get(key)
        found = _identifier(value) if isinstance(value, str) else None
        if found:
            where = ("referencePublication", number, key) if listed else ("referencePublication", key)
            described.paths[f"supplement_to[{len(described.supplement_to)}]"] = _json_path(*where)
            described.supplement_to.append(found)
    return described


def read_zenodo_json(data: bytes) -> Described:
    doc = _json_document(data, ".zenodo.json")
    licence = doc.get("license")
    if isinstance(licence, dict):
        licence = licence.get("id")
    described = Described(
        title=_text(doc.get("title")),
        description=_text(doc.get("description")),
        version=_text(doc.get("version")),
        doi=_text(doc.get("doi")),
        license=_text(licence),
        issued=_date(doc.get("publication_date")),
        keywords=_texts(doc.get("keywords")),
        file_name=".zenodo.json",
        paths={"issued": _json_path("publication_date")},
    )
    for creator in _items(doc.get("creators")):
        if not isinstance(creator, dict) or not _text(creator.get("name")):
            continue
        name = str(creator["name"]).strip()
        family, _, given = name.partition(",")
        described.authors.append(
            Author(
                name=name,
                given_name=given.strip() or None,
                family_name=family.strip() if given else None,
                orcid=_orcid(creator.get("orcid")),
                affiliation=_text(creator.get("affiliation")),
            )
        )
    for number, related in enumerate(_items(doc.get("related_identifiers"))):
        if not isinstance(related, dict) or not isinstance(related.get("identifier"), str):
            continue
        found = _identifier(related["identifier"])
        if found is None:
            continue
        relation = str(related.get("relation", "")).lower()
        kind = "supplement_to" if relation == "issupplementto" else "references"
        works = described.supplement_to if kind == "supplement_to" else described.references
        described.paths[f"{kind}[{len(works)}]"] = _json_path("related_identifiers", number, "identifier")
        works.append(found)
    return described


READERS = {"CITATION.cff": read_citation_cff, "codemeta.json": read_codemeta, ".zenodo.json": read_zenodo_json}
"""The citation files read beside the descriptor, by file name, in the order their fields are preferred."""
