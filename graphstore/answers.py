"""SPARQL answers in the standard formats, chosen by name or by an HTTP Accept header (SPARQL 1.1 Protocol).

SELECT and ASK answers: SPARQL results JSON (the default), XML, CSV or TSV. CONSTRUCT and DESCRIBE answers are RDF:
Turtle (the default), N-Triples, RDF/XML or JSON-LD.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pyoxigraph as ox

RESULT_FORMATS: dict[str, tuple[ox.QueryResultsFormat, str]] = {
    "json": (ox.QueryResultsFormat.JSON, "application/sparql-results+json"),
    "xml": (ox.QueryResultsFormat.XML, "application/sparql-results+xml"),
    "csv": (ox.QueryResultsFormat.CSV, "text/csv"),
    "tsv": (ox.QueryResultsFormat.TSV, "text/tab-separated-values"),
}
GRAPH_FORMATS: dict[str, tuple[ox.RdfFormat, str]] = {
    "turtle": (ox.RdfFormat.TURTLE, "text/turtle"),
    "ntriples": (ox.RdfFormat.N_TRIPLES, "application/n-triples"),
    "rdfxml": (ox.RdfFormat.RDF_XML, "application/rdf+xml"),
    "jsonld": (ox.RdfFormat.JSON_LD, "application/ld+json"),
}
_BY_MEDIA_TYPE = {media: name for name, (_, media) in (RESULT_FORMATS | GRAPH_FORMATS).items()} | {
    "application/json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/x-turtle": "turtle",
}


class UnknownAnswerFormat(ValueError):
    pass


@dataclass(frozen=True)
class Answer:
    body: bytes
    media_type: str


def is_graph(result: object) -> bool:
    return isinstance(result, ox.QueryTriples)


def pick_format(result: object, name: str | None, accept: str | None) -> str:
    """The format asked for by name, else the first acceptable one for this kind of answer, else the default."""
    graph = is_graph(result)
    allowed = GRAPH_FORMATS if graph else RESULT_FORMATS
    if name is not None:
        if name not in allowed:
            kind = "CONSTRUCT/DESCRIBE" if graph else "SELECT/ASK"
            raise UnknownAnswerFormat(f"{kind} answers come as {', '.join(allowed)}; not {name!r}")
        return name
    for media in _accepted(accept):
        found = _BY_MEDIA_TYPE.get(media)
        if found is not None and found in allowed:
            return found
    return "turtle" if graph else "json"


def _accepted(accept: str | None) -> list[str]:
    """Media types of an Accept header, most preferred first (q-values honoured, order kept among equals)."""
    ranked = []
    for position, part in enumerate((accept or "").split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranked.append((-quality, position, media.lower()))
    return [media for _, _, media in sorted(ranked)]


def serialize(result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples, fmt: str) -> Answer:
    buffer = io.BytesIO()
    if isinstance(result, ox.QueryTriples):
        rdf_format, media = GRAPH_FORMATS[fmt]
        result.serialize(buffer, rdf_format)
    else:
        results_format, media = RESULT_FORMATS[fmt]
        result.serialize(buffer, results_format)
    return Answer(buffer.getvalue(), media)


def term_text(term: object) -> str:
    """A term as a person reads it in a table: an IRI or a literal's lexical value."""
    if term is None:
        return ""
    value = getattr(term, "value", None)
    return str(value) if value is not None else str(term)
