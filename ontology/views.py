"""One entry point for every view of a record: `render(record, fmt) -> (body, media_type)`.

| fmt           | view                                              | media type                              |
|---------------|---------------------------------------------------|-----------------------------------------|
| json          | the canonical model                               | application/json                        |
| jsonld        | DCAT-AP 3 + PROV-O + dml:, compact local context  | application/ld+json                     |
| turtle        | the same graph                                    | text/turtle                             |
| rdfxml        | the same graph                                    | application/rdf+xml                     |
| ntriples      | the same graph                                    | application/n-triples                   |
| datacite-xml  | DataCite 4.6 kernel XML                           | application/vnd.datacite.datacite+xml   |
| datacite-json | DataCite 4.6 REST API attributes                  | application/vnd.datacite.datacite+json  |
| schemaorg     | schema.org Dataset JSON-LD                        | application/vnd.schemaorg.ld+json       |
| oai-dc        | simple Dublin Core as OAI-PMH serves it (oai_dc)  | application/xml                         |

`negotiate(accept)` picks a format from an HTTP Accept header (`application/xml` means DataCite XML, so `oai-dc`
is asked for by name: `?format=oai-dc`); `export(records, fmt)` streams many records
(N-Triples and JSON Lines concatenate record by record, so an export of 100k records never holds them all).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from ontology import datacite, jsonld, oai_dc, rdf, schemaorg
from ontology.model import Record

MEDIA_TYPES = {
    "json": "application/json",
    "jsonld": "application/ld+json",
    "turtle": "text/turtle",
    "rdfxml": "application/rdf+xml",
    "ntriples": "application/n-triples",
    "datacite-xml": "application/vnd.datacite.datacite+xml",
    "datacite-json": "application/vnd.datacite.datacite+json",
    "schemaorg": "application/vnd.schemaorg.ld+json",
    "oai-dc": oai_dc.MEDIA_TYPE,
}
FORMATS = tuple(MEDIA_TYPES)
_ALIASES = {
    "application/x-turtle": "turtle",
    "application/xml": "datacite-xml",
    "text/xml": "datacite-xml",
    "application/n-triples": "ntriples",
    "text/plain": "ntriples",
    "application/ld+json;profile=http://schema.org": "schemaorg",
    "application/ld+json;profile=https://schema.org": "schemaorg",
    "*/*": "json",
    "application/*": "json",
    "text/*": "turtle",
}


class UnknownFormat(ValueError):
    pass


def render(record: Record, fmt: str) -> tuple[str | bytes, str]:
    """The record in one format, with its media type (charset UTF-8 for the text ones)."""
    if fmt == "json":
        return json.dumps(record.model_dump(mode="json", exclude_none=True), ensure_ascii=False), MEDIA_TYPES[fmt]
    if fmt == "jsonld":
        return jsonld.serialize(record), MEDIA_TYPES[fmt]
    if fmt in rdf.RDF_FORMATS:
        return rdf.serialize(record, fmt), MEDIA_TYPES[fmt]
    if fmt == "datacite-xml":
        return datacite.to_xml(record), MEDIA_TYPES[fmt]
    if fmt == "datacite-json":
        return datacite.to_json(record), MEDIA_TYPES[fmt]
    if fmt == "schemaorg":
        return schemaorg.serialize(record), MEDIA_TYPES[fmt]
    if fmt == "oai-dc":
        return oai_dc.to_xml(record), MEDIA_TYPES[fmt]
    raise UnknownFormat(f"no view {fmt!r} of a record; known: {', '.join(FORMATS)}")


def negotiate(accept: str | None) -> str | None:
    """The format an Accept header asks for most (q-values respected), or None if it names none of ours."""
    if not accept:
        return "json"
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        quality, params = 1.0, []
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
            else:
                params.append(f"{key.strip().lower()}={value.strip().strip(chr(34))}")
        full = ";".join([media, *params])
        fmt = _ALIASES.get(full) or next((f for f, m in MEDIA_TYPES.items() if m == media), None) or _ALIASES.get(media)
        if fmt and quality > 0:
            choices.append((quality, -position, fmt))
    return max(choices)[2] if choices else None


def export(records: Iterable[Record], fmt: str) -> Iterator[str]:
    """Many records in one stream: N-Triples (together one graph), or JSON Lines (one compact document per record)
    for the JSON views. Turtle and RDF/XML cannot be concatenated: export N-Triples and convert."""
    if fmt == "ntriples":
        for record in records:
            yield from rdf.ntriples_lines(record)
        return
    line_writers = {
        "json": lambda r: json.dumps(r.model_dump(mode="json", exclude_none=True), ensure_ascii=False),
        "jsonld": lambda r: jsonld.serialize(r, indent=None),
        "datacite-json": lambda r: datacite.to_json(r, indent=None),
        "schemaorg": lambda r: schemaorg.serialize(r, indent=None),
    }
    writer = line_writers.get(fmt)
    if writer is None:
        raise UnknownFormat(f"export streams ntriples, {', '.join(line_writers)}; not {fmt!r}")
    for record in records:
        yield writer(record) + "\n"
