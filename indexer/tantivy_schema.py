"""The tantivy schema, analysers and document encoding for the fields `indexer.document` declares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import tantivy

from indexer.document import (
    CLUSTER_FIELD,
    FLOAT_FIELDS,
    ID_FIELD,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    SORT_KEYS,
    SUMMARY_FIELD,
    TEXT_FIELDS,
    AnalyzerName,
    phrase_pairs_field,
)
from indexer.tantivy_analyzers import analyzers
from indexer.tantivy_phrases import PAIRS_TOKENIZER, PHRASE_FIELDS, companion_values, pairs_analyzer

STORED_TEXT_FIELDS = ("title", "description")
"""Full-text fields kept whole in the index, for highlighting (`indexer.highlight`): the summary has only the first
300 characters of the description."""

TOKENIZER_NAMES: dict[AnalyzerName, str] = {
    "prose": "dmlake_prose",
    "physics": "dmlake_physics",
    "identifier": "dmlake_identifier",
    "exact": "dmlake_exact",
}


def register_analyzers(index: tantivy.Index) -> None:
    """Tokenizers are not stored in the index: every `Index` object needs them before it writes or parses."""
    for name, analyzer in analyzers().items():
        index.register_tokenizer(TOKENIZER_NAMES[name], analyzer)
    index.register_tokenizer(PAIRS_TOKENIZER, pairs_analyzer())


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    # Keyword fields are fast (facets are aggregations over fast columns) and need no positions or frequencies.
    builder.add_text_field(ID_FIELD, stored=True, fast=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field(CLUSTER_FIELD, fast=True, tokenizer_name="raw", index_option="basic")
    for name in KEYWORD_FIELDS:
        builder.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
    for name in INTEGER_FIELDS:
        builder.add_integer_field(name, indexed=True, fast=True)
    for name in FLOAT_FIELDS:
        builder.add_float_field(name, indexed=True, fast=True)
    for name, kind in SORT_KEYS.items():
        # Indexed as well as fast: search-after looks documents up by an exact sort value.
        if kind == "integer":
            builder.add_integer_field(name, indexed=True, fast=True)
        else:
            builder.add_unsigned_field(name, indexed=True, fast=True)
    for name, text_field in TEXT_FIELDS.items():
        builder.add_text_field(
            name,
            stored=name in STORED_TEXT_FIELDS,
            tokenizer_name=TOKENIZER_NAMES[text_field.analyzer],
            index_option="position",
        )
    for name in PHRASE_FIELDS:
        builder.add_text_field(phrase_pairs_field(name), tokenizer_name=PAIRS_TOKENIZER, index_option="position")
    builder.add_bytes_field(SUMMARY_FIELD, stored=True)
    return builder.build()


def to_tantivy(document: Mapping[str, Any], schema: tantivy.Schema) -> tantivy.Document:
    """An `indexer.document.index_document` mapping as a tantivy document (absent values are left out)."""
    values = {name: value for name, value in document.items() if value is not None and value != []}
    values[SUMMARY_FIELD] = orjson.dumps(document[SUMMARY_FIELD])
    values.update(companion_values(document))
    return tantivy.Document.from_dict(values, schema)
