"""The whole catalogue as one RDF document, streamed record by record (`dmlake export`).

N-Triples concatenate as they are. Turtle gets every prefix declared once at the top and each record's statements
after it. JSON-LD is one document: the shared context once, then every record's node objects in one `@graph` array
(a node shared by several records, such as an experiment concept, appears once per record; JSON-LD merges nodes
with the same `@id`). Memory stays flat: one record is rendered at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from harvester.catalogue import Catalogue
from ontology import jsonld, rdf, writers
from ontology.model import Record
from ontology.terms import PREFIXES

_NAMESPACES = {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}


def _records(catalogue: Catalogue, sources: Sequence[str] | None) -> Iterator[Record]:
    wanted: Sequence[str | None] = sources or [None]
    for source in wanted:
        for stored in catalogue.iter_records(source):
            yield stored.record


def turtle_statements(record: Record) -> str:
    """The record's Turtle without its prefix lines (declared once at the top of a whole export)."""
    text = writers.turtle(rdf.triples(record), _NAMESPACES)
    lines = text.splitlines(keepends=True)
    start = 0
    while start < len(lines) and (lines[start].startswith("@prefix") or not lines[start].strip()):
        start += 1
    return "".join(lines[start:])


def export_stream(catalogue: Catalogue, fmt: str, sources: Sequence[str] | None = None) -> Iterator[tuple[str, int]]:
    """Chunks of the export in `fmt` (nt, ttl or jsonld), each with the number of records written so far."""
    count = 0
    if fmt == "nt":
        for record in _records(catalogue, sources):
            count += 1
            yield "".join(rdf.ntriples_lines(record)), count
    elif fmt == "ttl":
        yield "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in sorted(_NAMESPACES.items())), 0
        for record in _records(catalogue, sources):
            count += 1
            yield "\n" + turtle_statements(record), count
    elif fmt == "jsonld":
        yield '{"@context": ' + json.dumps(jsonld.CONTEXT, ensure_ascii=False) + ',\n"@graph": [', 0
        for record in _records(catalogue, sources):
            nodes = jsonld.document(record)["@graph"]
            body = ",\n".join(json.dumps(node, ensure_ascii=False) for node in nodes)
            yield ("\n" if count == 0 else ",\n") + body, count + 1
            count += 1
        yield "\n]}\n", count
    else:
        raise ValueError(f"export formats are nt, ttl and jsonld; not {fmt!r}")
