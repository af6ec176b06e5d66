"""The citation files a GitLab dataset project may hold beside its DMDC descriptor: `CITATION.cff` (Citation File
Format 1.2), `codemeta.json` (CodeMeta 2/3) and `.zenodo.json` (Zenodo's deposit metadata). Each is read into the
same small `Described` shape; the mapper takes each field from the first file that has it (descriptor first).

These files are written by hand and often loosely: a field of the wrong type is ignored here rather than failing
the record (the descriptor is the file whose shape dmlake enforces), but a file that does not parse at all is an
error naming the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
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


def read_citation_cff(data: bytes) -> Described:
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError as error:
        raise MappingError("CITATION.cff", f"not YAML ({error})") from error
    if not isinstance(doc, dict):
        raise MappingError("CITATION.cff", f"expected a YAML mapping, got {type(doc).__name__}")
    described = Described(
        title=_text(doc.get("title")),
        description=_text(doc.get("abstract")),
        version=_text(str(doc["version"])) if doc.get("version") is not None else None,
        doi=_text(doc.get("doi")),
        license=_texts(doc.get("license"))[0] if _texts(doc.get("license")) else None,
        issued=_date(doc.get("date-released")),
        keywords=_texts(doc.get("keywords")),
    )
    for author in doc.get("authors") or []:
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
    for identifier in doc.get("identifiers") or []:
        if isinstance(identifier, dict) and identifier.get("type") == "doi" and not described.doi:
            described.doi = _text(identifier.get("value"))
    preferred = doc.get("preferred-citation")
    if isinstance(preferred, dict):
        for key, scheme in (("doi", "doi"), ("url", "url")):
            if _text(preferred.get(key)):
                described.supplement_to.append((scheme, str(preferred[key]).strip()))
                break
    return described


def _json_document(data: bytes, name: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise MappingError(name, f"not JSON ({error})") from error
    if not isinstance(doc, dict):
        raise MappingError(name, f"expected a JSON object, got {type(doc).__name__}")
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
        version=_text(str(doc["version"])) if doc.get("version") is not None else None,
        doi=identifier[len("https://doi.org/") :] if identifier and identifier.startswith("https://doi.org/") else None,
        license=_text(licence),
        issued=_date(doc.get("datePublished")),
        keywords=_texts(doc.get("keywords")),
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
    for publication in publications if isinstance(publications, list) else [publications]:
        value = publication.get("@id") or publication.get("identifier") if isinstance(publication, dict) else None
        found = _identifier(value) if isinstance(value, str) else None
        if found:
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
    )
    for creator in doc.get("creators") or []:
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
    for related in doc.get("related_identifiers") or []:
        if not isinstance(related, dict) or not isinstance(related.get("identifier"), str):
            continue
        found = _identifier(related["identifier"])
        if found is None:
            continue
        relation = str(related.get("relation", "")).lower()
        (described.supplement_to if relation == "issupplementto" else described.references).append(found)
    return described


READERS = {"CITATION.cff": read_citation_cff, "codemeta.json": read_codemeta, ".zenodo.json": read_zenodo_json}
"""The citation files read beside the descriptor, by file name, in the order their fields are preferred."""
