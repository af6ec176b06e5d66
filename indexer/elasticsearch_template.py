"""The Elasticsearch index template, generated from the field declarations of `indexer.document`.

Nothing here lists fields by hand: keyword, numeric, text and sort-key fields come from `KEYWORD_FIELDS`,
`INTEGER_FIELDS`, `FLOAT_FIELDS`, `TEXT_FIELDS` and `SORT_KEYS`, so a field declared there is mapped here. The
analysers rebuild, with Elasticsearch's building blocks, the tantivy analysers of `indexer.tantivy_schema`:

* `dmlake_prose`: a pattern tokenizer splitting on anything that is not a letter or digit (tantivy's `simple`
  tokenizer keeps `char::is_alphanumeric` runs: Unicode Alphabetic or Numeric, Java's `\\p{IsAlphabetic}\\p{N}`),
  tokens of 40 or more dropped, lower-cased, folded to ASCII, Snowball English (Porter2) stemming, as tantivy's
  `stemmer("english")`;
* `dmlake_physics`: a pattern tokenizer emitting each match of `PHYSICS_TOKEN_PATTERN` (group 0), tokens of 80 or
  more dropped, lower-cased, so "pp", "PbPb", "13TeV", "√s", "B0->K*mumu" and "J/psi" stay single tokens;
* `dmlake_identifier`: split on ASCII white space only (tantivy's `whitespace` tokenizer splits on
  `char::is_ascii_whitespace`: space, tab, line feed, form feed, carriage return, not the vertical tab that Java's
  `\\s` adds, nor no-break spaces), tokens of 250 or more dropped, lower-cased;
* `dmlake_exact`: the whole value as one token (`keyword` tokenizer), 1,000 or more dropped, lower-cased.

Where the two engines cannot agree exactly: tantivy measures token length in UTF-8 bytes and Lucene's `length`
filter in UTF-16 units, so a non-ASCII token near a limit may be kept by one and dropped by the other; and the
lower-casing of a few special letters (dotted capital I) differs between Rust and Java.

Text fields declared with `phrases` (title, description, physics) get `index_phrases`: Elasticsearch indexes each
pair of adjacent tokens in a hidden field and reads exact phrases there, as the embedded index reads them from its
`<field>__pairs` companions (`indexer.tantivy_phrases`).

Keyword fields are `keyword` (facets aggregate their doc values; `eager_global_ordinals` because the index refreshes
only on `commit`), numeric fields `long`/`double`, sort keys `long`/`unsigned_long`, `summary` an object kept in
`_source` but neither indexed nor parsed. `dynamic: strict`: a document with a field the template does not know is
refused with an error naming the field, instead of being indexed under a guessed type.

Run `python -m indexer.elasticsearch_template` to rewrite `deploy/elasticsearch/index-template.json`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from indexer.document import (
    CLUSTER_FIELD,
    FLOAT_FIELDS,
    ID_FIELD,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    PHYSICS_TOKEN_PATTERN,
    SCHEMA_VERSION,
    SORT_KEYS,
    SUMMARY_FIELD,
    TEXT_FIELDS,
    AnalyzerName,
)
from indexer.query import FACETABLE
from indexer.tantivy_analyzers import TOKEN_LIMITS

DEFAULT_NAME = "dmlake-records"
DEPLOYED_TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "elasticsearch" / "index-template.json"

ANALYZER_NAMES: dict[AnalyzerName, str] = {
    "prose": "dmlake_prose",
    "physics": "dmlake_physics",
    "identifier": "dmlake_identifier",
    "exact": "dmlake_exact",
}

# tantivy's `remove_long(limit)` keeps tokens *shorter* than the limit; Elasticsearch's `length` keeps `max` and
# less, so `max` is the limit minus one (`TOKEN_LIMITS`, `analysis`).

PROSE_SPLIT_PATTERN = r"[^\p{IsAlphabetic}\p{N}]+"
IDENTIFIER_SPLIT_PATTERN = r"[ \t\n\f\r]+"

KEYWORD_IGNORE_ABOVE = 8191
"""Lucene refuses a term over 32,766 UTF-8 bytes (and with it the whole document); a keyword value longer than
this many characters (4 bytes each at most) is kept in `_source` but not indexed, instead of failing the record."""


def analysis() -> dict[str, Any]:
    """The `index.analysis` settings: tokenizers, filters and the four analysers."""
    tokenizers = {
        "dmlake_prose_tokenizer": {"type": "pattern", "pattern": PROSE_SPLIT_PATTERN},
        "dmlake_physics_tokenizer": {"type": "pattern", "pattern": PHYSICS_TOKEN_PATTERN, "group": 0},
        "dmlake_identifier_tokenizer": {"type": "pattern", "pattern": IDENTIFIER_SPLIT_PATTERN},
    }
    filters: dict[str, Any] = {
        f"{ANALYZER_NAMES[name]}_length": {"type": "length", "min": 0, "max": limit - 1}
        for name, limit in TOKEN_LIMITS.items()
    }
    filters["dmlake_english_stemmer"] = {"type": "stemmer", "language": "porter2"}
    analyzers = {
        "dmlake_prose": {
            "type": "custom",
            "tokenizer": "dmlake_prose_tokenizer",
            "filter": ["dmlake_prose_length", "lowercase", "asciifolding", "dmlake_english_stemmer"],
        },
        "dmlake_physics": {
            "type": "custom",
            "tokenizer": "dmlake_physics_tokenizer",
            "filter": ["dmlake_physics_length", "lowercase"],
        },
        "dmlake_identifier": {
            "type": "custom",
            "tokenizer": "dmlake_identifier_tokenizer",
            "filter": ["dmlake_identifier_length", "lowercase"],
        },
        "dmlake_exact": {"type": "custom", "tokenizer": "keyword", "filter": ["dmlake_exact_length", "lowercase"]},
    }
    return {"tokenizer": tokenizers, "filter": filters, "analyzer": analyzers}


def field_mappings() -> dict[str, Any]:
    """Every field of the index document, typed from the declarations of `indexer.document`."""
    properties: dict[str, Any] = {}

    def declare(name: str, mapping: dict[str, Any]) -> None:
        if name in properties and properties[name] != mapping:
            raise ValueError(
                f"indexer.document declares {name!r} twice with different kinds ({properties[name]} and {mapping}); "
                f"a field has one type in the index"
            )
        properties[name] = mapping

    for name in (ID_FIELD, CLUSTER_FIELD):
        declare(name, {"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE})
    for name in KEYWORD_FIELDS:
        mapping: dict[str, Any] = {"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE}
        if name in FACETABLE:
            mapping["eager_global_ordinals"] = True
        declare(name, mapping)
    for name in INTEGER_FIELDS:
        declare(name, {"type": "long"})
    for name in FLOAT_FIELDS:
        declare(name, {"type": "double"})
    for name, kind in SORT_KEYS.items():
        declare(name, {"type": "long" if kind == "integer" else "unsigned_long"})
    for name, text_field in TEXT_FIELDS.items():
        text: dict[str, Any] = {
            "type": "text",
            "analyzer": ANALYZER_NAMES[text_field.analyzer],
            "index_options": "positions",
        }
        if text_field.phrases:
            text["index_phrases"] = True  # exact phrases read from indexed word pairs, as the embedded index reads them
        declare(name, text)
    declare(SUMMARY_FIELD, {"type": "object", "enabled": False})
    return properties


def mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "_meta": {"dmlake": {"schema_version": SCHEMA_VERSION, "document": "indexer.document"}},
        "properties": field_mappings(),
    }


def index_settings(*, shards: int = 1, replicas: str = "0-1") -> dict[str, Any]:
    """Index settings: one shard by default, so facet counts are exact and relevance is scored on the whole
    collection (a catalogue of a few million small records is far below a shard's comfortable size); replicas
    expand with the cluster (`auto_expand_replicas`); no periodic refresh: writes become searchable on `commit`,
    as with the embedded index."""
    return {
        "index": {
            "number_of_shards": shards,
            "auto_expand_replicas": replicas,
            "refresh_interval": "-1",
            "analysis": analysis(),
        }
    }


def index_pattern(name: str = DEFAULT_NAME) -> str:
    return f"{name}-v*"


def index_template(name: str = DEFAULT_NAME, *, shards: int = 1, replicas: str = "0-1") -> dict[str, Any]:
    """The body of `PUT /_index_template/{name}`: every versioned index of `name` gets these settings and mappings."""
    return {
        "index_patterns": [index_pattern(name)],
        "priority": 200,
        "version": SCHEMA_VERSION,
        "_meta": {"dmlake": {"generated_by": "indexer.elasticsearch_template", "schema_version": SCHEMA_VERSION}},
        "template": {"settings": index_settings(shards=shards, replicas=replicas), "mappings": mappings()},
    }


def template_json(name: str = DEFAULT_NAME) -> bytes:
    """The template as the deployed file holds it (indented, keys in declaration order, final newline)."""
    return orjson.dumps(index_template(name), option=orjson.OPT_INDENT_2) + b"\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else DEPLOYED_TEMPLATE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(template_json())
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
