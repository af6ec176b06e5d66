"""The index template: generated from `indexer.document`, deployed as JSON, valid, and every document fits it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
from es_openapi import ElasticsearchSpec
from es_testing import cern_documents, es_spec

from indexer import document as declarations
from indexer.document import index_document
from indexer.elasticsearch_bulk import VERSION_KEY
from indexer.elasticsearch_template import (
    DEPLOYED_TEMPLATE,
    KEYWORD_IGNORE_ABOVE,
    field_mappings,
    index_settings,
    index_template,
    mappings,
    template_json,
)
from indexer.query import FACETABLE, FIELDS
from ontology.model import Record

__all__ = ["es_spec"]  # fixtures


def test_the_deployed_template_is_current() -> None:
    assert DEPLOYED_TEMPLATE.is_file(), f"{DEPLOYED_TEMPLATE} is missing: run python -m indexer.elasticsearch_template"
    assert DEPLOYED_TEMPLATE.read_bytes() == template_json(), (
        f"{DEPLOYED_TEMPLATE} is out of date with indexer.document: run python -m indexer.elasticsearch_template"
    )


def test_the_template_and_the_index_body_are_valid(es_spec: ElasticsearchSpec) -> None:
    assert es_spec.check_request("PUT", "/_index_template/dmlake-records", None, index_template()) == []
    body = {"settings": index_settings(), "mappings": mappings()}
    assert es_spec.check_request("PUT", "/dmlake-records-v1-x", None, body) == []
    deployed = orjson.loads(DEPLOYED_TEMPLATE.read_bytes())
    assert es_spec.check_request("PUT", "/_index_template/dmlake-records", None, deployed) == []


def test_every_declared_field_is_mapped_with_its_kind() -> None:
    properties = field_mappings()
    expected = {declarations.ID_FIELD: "keyword", declarations.CLUSTER_FIELD: "keyword", "summary": "object"}
    expected.update({name: {"keyword": "keyword", "integer": "long", "float": "double"}[kind]
                     for name, kind in FIELDS.items() if kind != "text"})  # fmt: skip
    expected.update(
        {name: "long" if kind == "integer" else "unsigned_long" for name, kind in declarations.SORT_KEYS.items()}
    )
    expected.update(dict.fromkeys(declarations.TEXT_FIELDS, "text"))
    assert {name: mapping["type"] for name, mapping in properties.items()} == expected
    for name, spec in declarations.TEXT_FIELDS.items():
        assert properties[name]["analyzer"] == f"dmlake_{spec.analyzer}"
    assert all(
        properties[name].get("eager_global_ordinals") for name in FACETABLE if properties[name]["type"] == "keyword"
    )
    assert properties["summary"] == {"type": "object", "enabled": False}
    assert mappings()["dynamic"] == "strict"
    assert mappings()["_meta"]["dmlake"]["schema_version"] == declarations.SCHEMA_VERSION


def test_each_text_analyser_is_defined() -> None:
    analysis = index_settings()["index"]["analysis"]
    for name in declarations.ANALYZERS:
        analyzer = analysis["analyzer"][f"dmlake_{name}"]
        tokenizer = analyzer["tokenizer"]
        assert tokenizer == "keyword" or tokenizer in analysis["tokenizer"]
        assert all(f in analysis["filter"] or f in ("lowercase", "asciifolding") for f in analyzer["filter"])
    physics = analysis["tokenizer"]["dmlake_physics_tokenizer"]
    assert physics == {"type": "pattern", "pattern": declarations.PHYSICS_TOKEN_PATTERN, "group": 0}


def fit_problems(documents: Iterable[dict[str, Any]]) -> list[str]:
    """What Elasticsearch would refuse (or silently not index) in these documents under the template's mapping."""
    properties = field_mappings()
    problems = []
    for document in documents:
        for name, value in document.items():
            where = f"{document.get('id')}: {name}"
            if name == VERSION_KEY:
                continue
            mapping = properties.get(name)
            if mapping is None:
                problems.append(f"{where} is not in the template (dynamic: strict refuses the document)")
                continue
            kind = mapping["type"]
            values = value if isinstance(value, list) else [value]
            for item in values:
                if item is None:
                    continue
                if kind in ("keyword", "text") and not isinstance(item, str):
                    problems.append(f"{where}: {item!r} is not a string")
                elif kind == "keyword" and len(item) > KEYWORD_IGNORE_ABOVE:
                    problems.append(f"{where}: a {len(item)}-character value would not be indexed")
                elif kind == "long" and (
                    isinstance(item, bool) or not isinstance(item, int) or not -(2**63) <= item < 2**63
                ):
                    problems.append(f"{where}: {item!r} is not a long")
                elif kind == "unsigned_long" and (not isinstance(item, int) or not 0 <= item < 2**64):
                    problems.append(f"{where}: {item!r} is not an unsigned long")
                elif kind == "double" and (isinstance(item, bool) or not isinstance(item, int | float)):
                    problems.append(f"{where}: {item!r} is not a number")
                elif kind == "object" and not isinstance(item, dict):
                    problems.append(f"{where}: {item!r} is not an object")
    return problems


def test_generated_documents_fit_the_mapping(record_factory: Callable[..., Record]) -> None:
    records = [record_factory(i) for i in range(300)]
    documents = [index_document(record) for record in records]
    assert fit_problems(documents) == []
    cluster_document = getattr(declarations, "cluster_document", None)
    if cluster_document is not None:  # documents of clusters of several records (identity merging)
        clusters = [cluster_document(records[i : i + 3]) for i in range(0, 60, 3)]
        assert fit_problems(clusters) == []


def test_the_cern_corpus_fits_the_mapping(corpus: Path) -> None:
    documents = cern_documents(corpus, step=3)
    assert len(documents) > 2400
    assert fit_problems(documents) == []


def test_the_version_key_is_no_document_field() -> None:
    """The bulk writer reads `version` as the external version and leaves it out of the source: a document field of
    that name would be lost."""
    assert VERSION_KEY not in field_mappings()
