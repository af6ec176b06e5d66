"""JSON-LD with the local context, the single `render` entry point, content negotiation and streaming export."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from lxml import etree
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic

from ontology import datacite, jsonld, oai_dc, rdf, views
from ontology.model import Record
from ontology.terms import DCAT, RDF


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any attempt to open a socket fails the test: the JSON-LD context must never be fetched."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield


def test_jsonld_expands_offline_to_exactly_the_rdf_view(full: Record, minimal: Record, no_network: None) -> None:
    for record in (full, minimal):
        text = jsonld.serialize(record)
        assert isomorphic(jsonld.parse(text), rdf.graph(record))


def test_jsonld_uses_the_compact_context_terms(full: Record) -> None:
    document = jsonld.document(full)
    assert document["@context"] == jsonld.CONTEXT
    dataset = next(node for node in document["@graph"] if node["@id"] == full.id)
    assert dataset["@type"] == "Dataset"
    assert dataset["title"] == full.title
    assert dataset["landingPage"] == "https://opendata.cern.ch/record/12345"
    assert set(dataset["keyword"]) == {"muon", "dimuon"}
    assert "dml:centreOfMassEnergy" in dataset
    assert all(not isinstance(v, str) or not v.startswith("http://www.w3.org/ns/dcat#") for v in dataset.values())


def test_many_records_make_one_jsonld_graph(full: Record, minimal: Record) -> None:
    graph = jsonld.parse(jsonld.serialize([full, minimal]))
    assert set(graph.subjects(RDF.type, DCAT.Dataset)) == {URIRef(full.id), URIRef(minimal.id)}


@pytest.mark.parametrize("fmt", views.FORMATS)
def test_render_gives_each_format_with_its_media_type(full: Record, fmt: str) -> None:
    body, media_type = views.render(full, fmt)
    assert media_type == views.MEDIA_TYPES[fmt]
    text = body.decode() if isinstance(body, bytes) else body
    if fmt in ("json", "jsonld", "datacite-json", "schemaorg"):
        parsed = json.loads(text)
        assert full.title in json.dumps(parsed, ensure_ascii=False)
    elif fmt == "datacite-xml":
        assert datacite.xml_errors(body if isinstance(body, bytes) else body.encode()) == []
        assert etree.fromstring(body).tag == f"{{{datacite.NAMESPACE}}}resource"
    elif fmt == "oai-dc":
        assert oai_dc.xml_errors(body if isinstance(body, bytes) else body.encode()) == []
        assert etree.fromstring(body).findtext(f"{{{oai_dc.DC_NAMESPACE}}}title") == full.title
    else:
        rdflib_format = {"turtle": "turtle", "rdfxml": "xml", "ntriples": "nt"}[fmt]
        assert isomorphic(Graph().parse(data=text, format=rdflib_format), rdf.graph(full))


def test_the_json_view_is_the_model(full: Record) -> None:
    body, _ = views.render(full, "json")
    assert Record.model_validate_json(body) == full


def test_an_unknown_format_is_named(full: Record) -> None:
    with pytest.raises(views.UnknownFormat, match=r"no view 'marc21'.*known: json, jsonld"):
        views.render(full, "marc21")


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        (None, "json"),
        ("*/*", "json"),
        ("text/turtle", "turtle"),
        ("application/ld+json", "jsonld"),
        ('application/ld+json; profile="https://schema.org"', "schemaorg"),
        ("application/vnd.schemaorg.ld+json", "schemaorg"),
        ("application/rdf+xml;q=0.5, text/turtle;q=0.9", "turtle"),
        ("application/vnd.datacite.datacite+xml", "datacite-xml"),
        ("application/vnd.datacite.datacite+json", "datacite-json"),
        ("application/n-triples", "ntriples"),
        ("text/turtle;q=0, application/json", "json"),
        ("image/png", None),
    ],
)
def test_negotiate(accept: str | None, fmt: str | None) -> None:
    assert views.negotiate(accept) == fmt


def test_export_streams_ntriples_that_read_as_one_graph(full: Record, minimal: Record) -> None:
    lines = list(views.export(iter([full, minimal]), "ntriples"))
    assert all(line.endswith(" .\n") for line in lines)
    graph = Graph().parse(data="".join(lines), format="nt")
    assert isomorphic(graph, rdf.graph([full, minimal]))


@pytest.mark.parametrize("fmt", ["json", "jsonld", "datacite-json", "schemaorg"])
def test_export_writes_one_compact_json_document_per_line(full: Record, fmt: str) -> None:
    dated = full.model_copy(update={"id": full.id + "1", "native_id": "123451"})
    lines = list(views.export([full, dated], fmt))
    assert len(lines) == 2 and all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    assert [json.loads(line) for line in lines][1] != json.loads(lines[0])


def test_export_refuses_formats_that_do_not_concatenate(full: Record) -> None:
    with pytest.raises(views.UnknownFormat, match="not 'turtle'"):
        list(views.export([full], "turtle"))


def test_turtle_declares_only_the_prefixes_it_uses_and_starts_with_the_dataset(minimal: Record) -> None:
    text, _ = views.render(minimal, "turtle")
    assert isinstance(text, str)
    prefixes = [line.split()[1] for line in text.splitlines() if line.startswith("@prefix")]
    assert "dmlu:" not in prefixes and "dcat:" in prefixes
    body = [line for line in text.splitlines() if line and not line.startswith("@prefix")]
    assert body[0] == f"<{minimal.id}> a dcat:Dataset ;"


def test_jsonld_keys_a_value_its_term_cannot_carry_by_curie(full: Record) -> None:
    from ontology.writers import jsonld_document

    dataset = URIRef(full.id)
    odd = [(dataset, DCAT.landingPage, Literal("not an IRI")), (dataset, DCAT.landingPage, URIRef("https://x.org/"))]
    node = jsonld_document(odd, jsonld.CONTEXT)["@graph"][0]
    assert node["landingPage"] == "https://x.org/" and node["dcat:landingPage"] == "not an IRI"
    assert isomorphic(jsonld.parse(json.dumps(jsonld_document(odd, jsonld.CONTEXT))), Graph().__iadd__(odd))
