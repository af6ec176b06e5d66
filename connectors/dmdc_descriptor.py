"""The DMDC-style dataset descriptor: its JSON Schema (`connectors/schemas/dmdc-descriptor.schema.json`), validation
with messages that name the project and the JSON path, and the parsed, typed descriptor the GitLab mapper reads.

A descriptor that does not validate is not partly used: the record is quarantined with the first error (the one
`jsonschema.exceptions.best_match` ranks most relevant), so a data manager can fix the file and harvest again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from connectors.base import MappingError

SCHEMA_FILE = "dmdc-descriptor.schema.json"
DEFAULT_DESCRIPTOR = "dmdc.json"


@cache
def descriptor_schema() -> dict[str, Any]:
    """The descriptor's JSON Schema (draft 2020-12), as shipped in the `connectors.schemas` package."""
    text = resources.files("connectors.schemas").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = descriptor_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def validation_errors(document: Any) -> list[str]:
    """Every problem of a descriptor document, as `$.json.path: message` lines (empty: valid)."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: (e.json_path, e.message))
    return [f"{e.json_path}: {e.message}" for e in errors]


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str
    note: str | None = None


@dataclass(frozen=True)
class Person:
    name: str
    kind: str = "person"
    email: str | None = None
    affiliation: str | None = None
    orcid: str | None = None
    ror: str | None = None


@dataclass(frozen=True)
class Citable:
    type: str
    value: str
    relation: str = "is-supplement-to"
    title: str | None = None


@dataclass(frozen=True)
class Resource:
    name: str
    path: str
    description: str
    category: str
    usage_note: str | None = None
    format: str | None = None
    media_type: str | None = None


@dataclass(frozen=True)
class EnergyRange:
    unit: str
    min: float | None = None
    max: float | None = None
    scale: str | None = None


@dataclass(frozen=True)
class Descriptor:
    """A validated descriptor. Field meanings: see the schema's `description`s."""

    title: str
    version: str
    collaboration: str
    description: str
    license: str
    contacts: tuple[Person, ...]
    target_material: tuple[str, ...]
    detector_technology: tuple[str, ...]
    resources: tuple[Resource, ...]
    experiment: str | None = None
    creators: tuple[Person, ...] = ()
    issued: str | None = None
    doi: str | None = None
    keywords: tuple[str, ...] = ()
    fiducial_mass: Quantity | None = None
    fiducial_volume: Quantity | None = None
    exposure: Quantity | None = None
    live_time: Quantity | None = None
    energy_range: EnergyRange | None = None
    data_taking: dict[str, str] = field(default_factory=dict)
    data_level: int | None = None
    citable_resources: tuple[Citable, ...] = ()


def parse_descriptor(data: bytes | str, where: str, file_name: str = DEFAULT_DESCRIPTOR) -> Descriptor:
    """Parse and validate a descriptor. `where` names the project (and ref) for error messages.

    Raises `MappingError` whose field is `<file name>:<JSON path>` (`dmdc.json:$.resources[2].category`).
    """
    try:
        document = json.loads(data)
    except ValueError as error:  # bad syntax or UTF-8 (JSONDecodeError, UnicodeDecodeError), a number too long to read
        raise MappingError(f"{file_name}:$", f"{where}: the descriptor is not JSON ({error})") from error
    except RecursionError as error:
        raise MappingError(f"{file_name}:$", f"{where}: the descriptor is nested too deeply to read") from error
    if not isinstance(document, dict):
        # said before the schema does: its message would quote the whole document back
        raise MappingError(f"{file_name}:$", f"{where}: the descriptor is {_json_kind(document)}, not a JSON object")
    first = best_match(_validator().iter_errors(document))
    if first is not None:
        path, message = _explain(first)
        raise MappingError(f"{file_name}:{path}", f"{where}: {message}")
    return _descriptor(document)


def _json_kind(value: Any) -> str:
    """What a parsed JSON value is, in JSON's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "text" if isinstance(value, str) else "a JSON array"


def _explain(error: jsonschema.ValidationError) -> tuple[str, str]:
    """The JSON path and a message a person can act on (jsonschema's wording for unknown keys names a regex)."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = sorted((error.schema.get("properties") or {}).keys())
        extra = sorted(k for k in error.instance if k not in known and not k.startswith("x-"))
        if extra:
            hint = "; extension fields must start with 'x-'" if "patternProperties" in error.schema else ""
            where = f"{error.json_path}.{extra[0]}" if len(extra) == 1 else error.json_path
            return where, f"unknown field {', '.join(map(repr, extra))} (known: {', '.join(known)}{hint})"
    return error.json_path, error.message


def _descriptor(doc: dict[str, Any]) -> Descriptor:
    return Descriptor(
        title=doc["title"].strip(),
        version=doc["version"].strip(),
        collaboration=doc["collaboration"].strip(),
        description=doc["description"].strip(),
        license=doc["license"].strip(),
        contacts=tuple(_person(p) for p in doc["contacts"]),
        target_material=tuple(doc["target_material"]),
        detector_technology=tuple(doc["detector_technology"]),
        resources=tuple(Resource(**r) for r in doc["resources"]),
        experiment=doc.get("experiment"),
        creators=tuple(_person(p) for p in doc.get("creators", ())),
        issued=doc.get("issued"),
        doi=doc.get("doi"),
        keywords=tuple(doc.get("keywords", ())),
        fiducial_mass=_quantity(doc.get("fiducial_mass")),
        fiducial_volume=_quantity(doc.get("fiducial_volume")),
        exposure=_quantity(doc.get("exposure")),
        live_time=_quantity(doc.get("live_time")),
        energy_range=EnergyRange(**doc["energy_range"]) if "energy_range" in doc else None,
        data_taking=dict(doc.get("data_taking", {})),
        data_level=doc.get("data_level"),
        citable_resources=tuple(Citable(**c) for c in doc.get("citable_resources", ())),
    )


def _person(data: dict[str, Any]) -> Person:
    return Person(**data)


def _quantity(data: dict[str, Any] | None) -> Quantity | None:
    return None if data is None else Quantity(float(data["value"]), data["unit"], data.get("note"))
