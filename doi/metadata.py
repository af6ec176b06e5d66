"""What we send DataCite for a record: `ontology.datacite.attributes` with our DOI, our landing page and the
concept/version and release/part links; for a table or file of a release, metadata of its own drawn from the
release's; each checked against the DataCite 4.6 JSON schema and XSD before any call."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from doi.parts import Part
from ontology.datacite import DataCiteError, attributes, json_errors, xml_errors, xml_from_attributes
from ontology.model import Record

_NAMESPACE = re.compile(r"\{[^}]*\}")


class InvalidMetadata(ValueError):
    """A record whose DataCite metadata does not validate; `problems` name the fields."""

    def __init__(self, record_id: str, problems: list[str]) -> None:
        super().__init__(f"{record_id}: DataCite metadata invalid, nothing sent: " + "; ".join(problems))
        self.record_id = record_id
        self.problems = problems


def record_attributes(
    record: Record,
    doi: str,
    url: str,
    *,
    concept_doi: str | None = None,
    version_dois: list[str] | None = None,
    part_dois: list[str] | None = None,
) -> dict[str, Any]:
    """The attributes for `doi` (a record's, or a concept's when `version_dois` are given), validated; a release
    lists its tables' and files' DOIs (`part_dois`) as HasPart."""
    try:
        data = attributes(record, doi)
    except DataCiteError as error:
        raise InvalidMetadata(record.id, [str(error)]) from None
    data["url"] = url
    related = list(data.get("relatedIdentifiers", []))
    if concept_doi is not None:
        related.append(
            {"relatedIdentifier": concept_doi, "relatedIdentifierType": "DOI", "relationType": "IsVersionOf"}
        )
    for version in version_dois or []:
        related.append({"relatedIdentifier": version, "relatedIdentifierType": "DOI", "relationType": "HasVersion"})
    for part in part_dois or []:
        entry = {"relatedIdentifier": part, "relatedIdentifierType": "DOI", "relationType": "HasPart"}
        if entry not in related:
            related.append(entry)
    if version_dois is not None:
        # a concept stands for every version: the version-specific fields of the newest one do not describe it
        data.pop("version", None)
        related = [r for r in related if r["relationType"] not in ("IsVersionOf", "IsNewVersionOf")]
        data["alternateIdentifiers"] = [
            a for a in data.get("alternateIdentifiers", []) if a["alternateIdentifierType"] != "dmlake"
        ]
        if not data["alternateIdentifiers"]:
            del data["alternateIdentifiers"]
    if related:
        data["relatedIdentifiers"] = related
    problems = validation_problems(data)
    if problems:
        raise InvalidMetadata(record.id, problems)
    return data


_INHERITED = ("creators", "publisher", "publicationYear", "rightsList", "language", "version")
"""What a part takes from its release: who made and published it, when, under which licence, which version."""


def part_attributes(
    release: dict[str, Any], record_id: str, part: Part, doi: str, url: str, release_doi: str
) -> dict[str, Any]:
    """The attributes of a release's table or file: valid DataCite 4.6 in their own right, `IsPartOf` the release.

    `release` is the release's own (validated) attributes: a part is titled by its name and the release's title,
    and made, published and licensed as the release is."""
    title = release["titles"][0]["title"]
    data: dict[str, Any] = {
        "doi": doi,
        "url": url,
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "Table" if part.kind == "table" else "File"},
        "titles": [{"title": f"{part.name} — {title}"}],
        **{key: release[key] for key in _INHERITED if key in release},
        "alternateIdentifiers": [
            {"alternateIdentifier": f"{record_id}#{part.key}", "alternateIdentifierType": "dmlake"}
        ],
        "relatedIdentifiers": [
            {"relatedIdentifier": release_doi, "relatedIdentifierType": "DOI", "relationType": "IsPartOf"}
        ],
        "schemaVersion": release["schemaVersion"],
    }
    if part.formats:
        data["formats"] = part.formats
    if part.size_bytes is not None:
        data["sizes"] = [f"{part.size_bytes} bytes"]
    if part.description:
        data["descriptions"] = [{"description": part.description, "descriptionType": "Abstract"}]
    problems = validation_problems(data)
    if problems:
        raise InvalidMetadata(f"{record_id}#{part.key}", problems)
    return data


def validation_problems(data: dict[str, Any]) -> list[str]:
    """Why `data` fails the DataCite 4.6 JSON schema or, rendered as kernel-4 XML, the XSD (empty: it passes)."""
    problems = [f"JSON {p}" for p in json_errors(data)]
    try:
        document = xml_from_attributes(data)
    except (KeyError, TypeError, ValueError) as error:
        return [*problems, f"XML: cannot render ({type(error).__name__}: {error})"]
    problems += [f"XML {_NAMESPACE.sub('', p)}" for p in xml_errors(document)]
    return problems


def fingerprint(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
