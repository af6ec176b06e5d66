"""JSON-LD of the RDF view with a compact local context: prefixes plus short terms, no network at read or write time.

The context is inlined in every document (and exported as `CONTEXT` for a portal to serve at a URL), so rdflib,
pyld or a browser can expand it offline. Expanding a document gives back exactly the triples of `ontology.rdf`.
Only properties whose values are always IRIs are declared `"@type": "@id"` (rdflib's own JSON-LD writer drops
blank-node objects of such terms; `ontology.writers` falls back to a CURIE key for any value a term cannot carry).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from typing import Any

from rdflib import Graph

from ontology import rdf, writers
from ontology.model import Record
from ontology.terms import PREFIXES

_ID = {"@type": "@id"}

CONTEXT: dict[str, Any] = {
    **{prefix: str(namespace) for prefix, namespace in PREFIXES.items()},
    "Dataset": "dcat:Dataset",
    "Distribution": "dcat:Distribution",
    "CatalogRecord": "dcat:CatalogRecord",
    "Concept": "skos:Concept",
    "Agent": "foaf:Agent",
    "Person": "foaf:Person",
    "Organization": "foaf:Organization",
    "title": "dct:title",
    "description": "dct:description",
    "identifier": "dct:identifier",
    "keyword": "dcat:keyword",
    "version": "dcat:version",
    "name": "foaf:name",
    "givenName": "foaf:givenName",
    "familyName": "foaf:familyName",
    "prefLabel": "skos:prefLabel",
    "label": "rdfs:label",
    "notation": "skos:notation",
    "theme": {"@id": "dcat:theme", **_ID},
    "license": "dct:license",
    "landingPage": {"@id": "dcat:landingPage", **_ID},
    "distribution": {"@id": "dcat:distribution", **_ID},
    "accessURL": {"@id": "dcat:accessURL", **_ID},
    "downloadURL": {"@id": "dcat:downloadURL", **_ID},
    "mediaType": {"@id": "dcat:mediaType", **_ID},
    "format": "dct:format",
    "creator": "dct:creator",
    "publisher": "dct:publisher",
    "inScheme": {"@id": "skos:inScheme", **_ID},
    "issued": "dct:issued",
    "modified": "dct:modified",
    "byteSize": {"@id": "dcat:byteSize", "@type": "xsd:nonNegativeInteger"},
    "experiment": "dml:experiment",
    "messenger": "dml:messenger",
    "wasDerivedFrom": {"@id": "prov:wasDerivedFrom", **_ID},
    "wasGeneratedBy": "prov:wasGeneratedBy",
    "primaryTopic": {"@id": "foaf:primaryTopic", **_ID},
}
"""The `@context` of dmlake's JSON-LD: DCAT-AP, PROV-O, QUDT, SPDX and `dml:` prefixes and the common terms."""

MEDIA_TYPE = "application/ld+json"


def document(records: Record | Iterable[Record]) -> dict[str, Any]:
    """The JSON-LD document (compacted with `CONTEXT`, flattened: one node object per subject) of one record or many."""
    return writers.jsonld_document(rdf.all_triples(records), CONTEXT)


def serialize(records: Record | Iterable[Record], indent: int | None = 2) -> str:
    return json.dumps(document(records), indent=indent, ensure_ascii=False)


def parse(text: str) -> Graph:
    """Read dmlake JSON-LD back into a graph, offline (the context is inline)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # rdflib's JSON-LD parser uses its own deprecated API
        return Graph().parse(data=text, format="json-ld")
