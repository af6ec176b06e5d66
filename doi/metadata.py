"""What we send DataCite for a record: `ontology.datacite.attributes` with our DOI, our landing page and the
concept/version links, checked against the DataCite 4.6 JSON schema and XSD before any call."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

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
    record: Record, doi: str, url: str, *, concept_doi: str | None = None, version_dois: list[str] | None = None
) -> dict[str, Any]:
    """The attributes for `doi` (a record's, or a concept's when `version_dois` are given), validated."""
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
