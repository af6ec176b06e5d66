"""Validates Elasticsearch requests against the Elasticsearch OpenAPI specification (8.17), offline.

    spec = ElasticsearchSpec.load(standards / "elasticsearch" / "elasticsearch-openapi.8.17.json")
    problems = spec.check_request("POST", "/dmlake-records/_search", {"typed_keys": "true"}, body)
    assert not problems, problems

What is checked, for the operation the method and path select (the most literal path template wins, as a router
would pick `/_aliases` over `/{index}`):

* the JSON body against the operation's request-body schema, with every `$ref` of the document resolved;
* each query parameter: known to the operation, and its value (a string in the URL) valid for its schema;
* bulk bodies line by line: each action line against `_global.bulk:OperationContainer` (the spec's own request-body
  schema for `_bulk` is an array of an over-broad union and says nothing), each source line is a JSON object.

The specification's quirks (VALIDATORS.md §4), and what this validator does about them:

* unions are emitted as `oneOf` whose members overlap (a `range` query body is valid under several members), so
  `oneOf` is read as `anyOf`; where the schema names a `discriminator`, the member that the discriminating property
  selects is the one validated, so `{"type": "keyword", ...}` is checked as a keyword property and nothing else;
* OpenAPI 3.0 `nullable: true` is honoured;
* no schema says `additionalProperties: false`, so a misspelt key is never an error under the spec itself. The
  *closed* check (`closed=True`, the default) also reports keys that no schema of their position declares: it walks
  the instance with every schema that applies there (`$ref` and `allOf` unfolded, a discriminated union narrowed to
  its member, other unions taken whole, so a key any member declares counts as declared). Objects the spec leaves
  free-form (`{"type": "object"}`, such as `_meta` values) stay open, and so do the few positions where the
  OpenAPI output dropped the open map Elasticsearch accepts (field sorts, `terms` query fields), listed in
  `OPEN_MAPS`;
* the spec drops Elasticsearch's shortcut forms (`{"term": {"doi": "x"}}`, `"_source": ["a"]`): the backend writes
  the long forms, so those shortcuts are reported, not excused. Likewise `aggs` (only `aggregations` is declared),
  `_meta` values that are not objects (`_types:Metadata` maps names to objects), and any sub-aggregation: the
  aggregation container's "exactly one aggregation type" (`maxProperties: 1`) also counts the `aggregations` key
  beside it, so the spec refuses what Elasticsearch documents. The backend needs none of these.

Responses are checked the same way (`response_problems`), which keeps the protocol double's answers honest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jsonschema import validators
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE_URI = "urn:elasticsearch-openapi"

OPEN_MAPS: dict[str, str] = {
    "_types:SortOptions": "field sorts ({'year': {'order': 'desc'}}) are keyed by field name; the spec lists only "
    "_score, _doc, _geo_distance and _script",
    "_types.query_dsl:TermsQuery": "the field → values entry of a terms query is keyed by field name; the spec keeps "
    "only boost and _name",
}
"""Schemas whose objects may carry keys the OpenAPI output does not declare, with the reason."""


@dataclass(frozen=True)
class Problem:
    """One reason a request would be refused: where in the request, and what is wrong."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    spec: Mapping[str, Any]


# ---- the validator class: OpenAPI 3.0 schema objects read with JSON Schema 2020-12 -------------------------------


def _type(validator: Any, types: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if instance is None and schema.get("nullable") is True:
        return
    yield from validators.Draft202012Validator.VALIDATORS["type"](validator, types, instance, schema)


Resolve = Callable[[str], Any]


def _choose(resolve: Resolve, schema: Mapping[str, Any], instance: Any) -> list[Mapping[str, Any]] | None:
    """The members of a discriminated union that the instance's discriminating property selects (None: no choice)."""
    discriminator = schema.get("discriminator")
    if not isinstance(discriminator, Mapping) or not isinstance(instance, Mapping):
        return None
    name = discriminator.get("propertyName")
    if name not in instance:
        return None
    return [member for member in schema.get("oneOf", []) if instance[name] in _declared_enum(resolve, member, name)]


def _declared_enum(resolve: Resolve, schema: Any, name: str, depth: int = 0) -> set[Any]:
    """The enum values a schema (following `$ref` and `allOf`) declares for one property."""
    if not isinstance(schema, Mapping) or depth > 20:
        return set()
    found: set[Any] = set()
    if "$ref" in schema:
        found |= _declared_enum(resolve, resolve(schema["$ref"]), name, depth + 1)
    prop = schema.get("properties", {}).get(name)
    if isinstance(prop, Mapping):
        found |= _enum_of(resolve, prop)
    for member in schema.get("allOf", []):
        found |= _declared_enum(resolve, member, name, depth + 1)
    return found


def _enum_of(resolve: Resolve, schema: Mapping[str, Any], depth: int = 0) -> set[Any]:
    """The enum of a property schema, through `$ref` and `allOf`."""
    if depth > 20:
        return set()
    found = set(schema.get("enum", []))
    if "$ref" in schema:
        found |= _enum_of(resolve, resolve(schema["$ref"]), depth + 1)
    for member in schema.get("allOf", []):
        if isinstance(member, Mapping):
            found |= _enum_of(resolve, member, depth + 1)
    return found


def _one_of(validator: Any, members: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    chosen = _choose(lambda ref: validator._resolver.lookup(ref).contents, schema, instance)
    if chosen is not None:
        name = schema["discriminator"]["propertyName"]
        if not chosen:
            yield ValidationError(f"{name} {instance[name]!r} is not one this schema knows")
            return
        for member in chosen[:1]:
            yield from validator.descend(instance, member)
        return
    # The spec's unions overlap: valid under any member is valid (anyOf).
    yield from validators.Draft202012Validator.VALIDATORS["anyOf"](validator, members, instance, schema)


OpenApiValidator = validators.extend(
    validators.Draft202012Validator, {"type": _type, "oneOf": _one_of}, version="openapi-3.0-elasticsearch"
)


# ---- closing objects: a key no schema of its position declares is reported ---------------------------------------

_COMPOSITION = ("properties", "additionalProperties", "allOf", "anyOf", "oneOf", "$ref", "items")


def _free_form(schema: Mapping[str, Any]) -> bool:
    """`{"type": "object"}` and nothing else: a user-defined object (e.g. `_meta` values), open by design."""
    return not any(key in schema for key in _COMPOSITION) and schema.get("type") in (None, "object")


@dataclass
class _Shape:
    """What the schemas of one position allow in an object: declared properties, maps, or anything."""

    properties: dict[str, list[Mapping[str, Any]]]
    additional: list[Mapping[str, Any]]
    open: bool


# ---- the specification ---------------------------------------------------------------------------------------------


class ElasticsearchSpec:
    def __init__(self, spec: Mapping[str, Any], *, closed: bool = True) -> None:
        self.spec = spec
        self.closed = closed
        self._open_registry = Registry().with_resource(BASE_URI, Resource(dict(spec), DRAFT202012))
        self._operations = self._index_operations()
        self._validators: dict[str, Any] = {}

    @classmethod
    def load(cls, path: Path, *, closed: bool = True) -> ElasticsearchSpec:
        return _load(str(path), closed)

    # -- operations --

    def _index_operations(self) -> list[tuple[re.Pattern[str], int, Operation]]:
        table = []
        for template, item in self.spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
            literal = sum(1 for part in template.split("/") if part and not part.startswith("{"))
            for method, operation in item.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    table.append(
                        (pattern, literal, Operation(method.upper(), template, operation["operationId"], operation))
                    )
        return table

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation a router would pick for this method and path (most literal segments first)."""
        candidates = [
            (literal, op)
            for pattern, literal, op in self._operations
            if op.method == method.upper() and pattern.match(path)
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda c: c[0])[1]

    # -- schemas --

    def _validator(self, pointer: str) -> Any:
        if pointer not in self._validators:
            schema = {"$ref": f"{BASE_URI}#{pointer}"}
            self._validators[pointer] = OpenApiValidator(schema, registry=self._open_registry)
        return self._validators[pointer]

    def check(self, pointer: str, instance: Any, *, where: str = "body") -> list[Problem]:
        """Problems of `instance` against the schema at `pointer` (a JSON pointer into the spec)."""
        problems = [_problem(where, error) for error in self._validator(pointer).iter_errors(instance)]
        if self.closed:
            problems += self._undeclared(instance, [{"$ref": "#" + pointer}], where)
        return list(dict.fromkeys(problems))

    # -- the closed check --

    def _undeclared(self, instance: Any, schemas: list[Mapping[str, Any]], where: str) -> list[Problem]:
        """Keys of `instance` (at any depth) that none of the schemas of their position declares."""
        problems: list[Problem] = []
        if isinstance(instance, Mapping):
            shape = self._shape(schemas, instance)
            if shape is None:
                return problems
            for key, value in instance.items():
                subs = shape.properties.get(key)
                if subs is None:
                    subs = shape.additional
                    if not subs:
                        if not shape.open:
                            problems.append(Problem(where, f"no schema here declares {key!r} (a misspelt key?)"))
                        continue
                problems += self._undeclared(value, subs, f"{where}/{key}")
        elif isinstance(instance, list):
            items = [
                leaf["items"] for leaf in self._leaves(schemas, instance) if isinstance(leaf.get("items"), Mapping)
            ]
            if items:
                for number, value in enumerate(instance):
                    problems += self._undeclared(value, items, f"{where}/{number}")
        return problems

    def _shape(self, schemas: list[Mapping[str, Any]], instance: Mapping[str, Any]) -> _Shape | None:
        shape = _Shape({}, [], False)
        applicable = False
        for leaf in self._leaves(schemas, instance):
            if leaf.get("type") not in (None, "object") or "items" in leaf:
                continue
            applicable = True
            if leaf.get("x-open") or _free_form(leaf):
                shape.open = True
            for name, sub in leaf.get("properties", {}).items():
                shape.properties.setdefault(name, []).append(sub)
            extra = leaf.get("additionalProperties")
            if extra is True or (isinstance(extra, Mapping) and _free_form(extra) and "type" not in extra):
                shape.open = True
            elif isinstance(extra, Mapping):
                shape.additional.append(extra)
        return shape if applicable else None

    def _leaves(self, schemas: list[Mapping[str, Any]], instance: Any, depth: int = 0) -> list[Mapping[str, Any]]:
        """The schemas that apply at this position, with `$ref`, `allOf` and unions unfolded (a discriminated
        union to the member its property selects; other unions to every member, so a key declared by any member
        counts as declared)."""
        leaves: list[Mapping[str, Any]] = []
        for schema in schemas:
            if not isinstance(schema, Mapping) or depth > 40:
                continue
            if "$ref" in schema:
                name = schema["$ref"].rsplit("/", 1)[-1]
                resolved = self._resolve({"$ref": schema["$ref"]})
                if name in OPEN_MAPS:
                    leaves.append({"x-open": True})
                leaves += self._leaves([resolved], instance, depth + 1)
                continue
            leaves.append(schema)
            leaves += self._leaves(list(schema.get("allOf", [])), instance, depth + 1)
            members = list(schema.get("oneOf", [])) + list(schema.get("anyOf", []))
            chosen = _choose(lambda ref: self._resolve({"$ref": ref}), schema, instance)
            leaves += self._leaves(chosen if chosen is not None else members, instance, depth + 1)
        return leaves

    def check_schema(self, name: str, instance: Any, *, where: str = "body") -> list[Problem]:
        return self.check(f"/components/schemas/{_escape(name)}", instance, where=where)

    # -- requests --

    def check_request(
        self, method: str, target: str, params: Mapping[str, str] | None = None, body: Any = None
    ) -> list[Problem]:
        """Problems of one request: `target` is the path (a query string in it is read too), `body` parsed JSON,
        or for `_bulk` the raw NDJSON bytes or text."""
        split = urlsplit(target)
        path = split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        query.update(params or {})
        operation = self.operation(method, path)
        if operation is None:
            return [Problem(f"{method} {path}", "no operation of the specification has this method and path")]
        problems = self._check_parameters(operation, query)
        request_body = operation.spec.get("requestBody")
        if request_body is None:
            if body not in (None, b"", ""):
                problems.append(Problem("body", f"{operation.operation_id} takes no request body"))
            return problems
        if body in (None, b"", ""):
            if request_body.get("required") or self._resolve(request_body).get("required"):
                problems.append(Problem("body", f"{operation.operation_id} requires a request body"))
            return problems
        if operation.operation_id.startswith("bulk"):
            return problems + self.check_bulk(body)
        pointer = self._body_pointer(operation)
        if pointer is None:
            return [*problems, Problem("body", f"{operation.operation_id}: the specification has no JSON body schema")]
        return problems + self.check(pointer, body)

    def check_bulk(self, body: bytes | str) -> list[Problem]:
        """Each action line against `_global.bulk:OperationContainer`; its source line (for index and create)
        must be a JSON object, and an update's a JSON object too."""
        text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else body
        if not text.endswith("\n"):
            return [Problem("body", "a bulk body must end with a newline")]
        lines = text.split("\n")[:-1]
        problems: list[Problem] = []
        number = 0
        while number < len(lines):
            where = f"line {number + 1}"
            try:
                action = json.loads(lines[number])
            except json.JSONDecodeError as error:
                return [*problems, Problem(where, f"not JSON: {error}")]
            problems += self.check_schema("_global.bulk:OperationContainer", action, where=where)
            number += 1
            kind = next(iter(action), None) if isinstance(action, dict) else None
            if kind in ("index", "create", "update"):
                if number >= len(lines):
                    return [*problems, Problem(where, f"{kind} action without its source line")]
                try:
                    source = json.loads(lines[number])
                except json.JSONDecodeError as error:
                    return [*problems, Problem(f"line {number + 1}", f"not JSON: {error}")]
                if not isinstance(source, dict):
                    problems.append(Problem(f"line {number + 1}", "a source line must be a JSON object"))
                number += 1
        return problems

    def _check_parameters(self, operation: Operation, query: Mapping[str, str]) -> list[Problem]:
        declared: dict[str, Any] = {}
        for parameter in operation.spec.get("parameters", []):
            parameter = self._resolve(parameter)
            if parameter.get("in") == "query":
                declared[parameter["name"]] = parameter.get("schema", {})
        problems = []
        for name, raw in query.items():
            if name not in declared:
                problems.append(
                    Problem(
                        f"?{name}",
                        f"{operation.operation_id} has no query parameter {name!r} (Elasticsearch "
                        f"refuses unknown parameters)",
                    )
                )
                continue
            schema = self._resolve(declared[name])
            value = _coerce(raw, schema, self)
            for error in OpenApiValidator(schema, registry=self._open_registry).iter_errors(value):
                problems.append(_problem(f"?{name}", error))
        return problems

    def _body_pointer(self, operation: Operation) -> str | None:
        request_body = operation.spec["requestBody"]
        if "$ref" in request_body:
            base = "/components/requestBodies/" + _escape(request_body["$ref"].rsplit("/", 1)[1])
        else:
            base = "/paths/" + _escape(operation.template) + "/" + operation.method.lower() + "/requestBody"
        content = self._resolve(request_body).get("content", {})
        if "application/json" in content:
            return base + "/content/application~1json/schema"
        return None

    def _resolve(self, node: Any) -> Any:
        while isinstance(node, Mapping) and "$ref" in node:
            node = self._open_registry.resolver(BASE_URI).lookup(BASE_URI + node["$ref"]).contents
        return node

    def response_problems(self, operation_id: str, status: int, body: Any) -> list[Problem]:
        """Problems of a response body against what the specification documents for that operation and status."""
        operation = next((op for _, _, op in self._operations if op.operation_id == operation_id), None)
        if operation is None:
            return [Problem(operation_id, "unknown operation")]
        responses = operation.spec.get("responses", {})
        response = responses.get(str(status)) or responses.get("default")
        if response is None:
            return [Problem(operation_id, f"the specification documents no {status} response")]
        if "$ref" in response:
            name = response["$ref"].rsplit("/", 1)[1]
            pointer = "/components/responses/" + _escape(name)
        else:
            pointer = "/paths/" + _escape(operation.template) + "/" + operation.method.lower() + f"/responses/{status}"
        content = self._resolve(response).get("content", {})
        if "application/json" not in content:
            return []
        return self.check(pointer + "/content/application~1json/schema", body, where="response")


def _coerce(raw: str, schema: Any, spec: ElasticsearchSpec) -> Any:
    """A query-string value read as the schema's type (URLs carry only strings)."""
    schema = spec._resolve(schema)
    kinds = {schema.get("type")} if "type" in schema else set()
    for member in schema.get("oneOf", []) + schema.get("anyOf", []):
        member = spec._resolve(member)
        if "type" in member:
            kinds.add(member["type"])
    if "boolean" in kinds and raw in ("true", "false"):
        return raw == "true"
    if kinds & {"number", "integer"} and "string" not in kinds:
        try:
            return int(raw) if re.fullmatch(r"-?\d+", raw) else float(raw)
        except ValueError:
            return raw
    if "array" in kinds and "string" not in kinds:
        return raw.split(",")
    return raw


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _problem(where: str, error: ValidationError) -> Problem:
    path = "/".join(str(part) for part in error.absolute_path)
    message = error.message
    return Problem(f"{where}/{path}" if path else where, message)


@cache
def _load(path: str, closed: bool) -> ElasticsearchSpec:
    with open(path, encoding="utf-8") as handle:
        return ElasticsearchSpec(json.load(handle), closed=closed)


__all__ = ["OPEN_MAPS", "ElasticsearchSpec", "Operation", "Problem"]
