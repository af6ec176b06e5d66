"""The mappers' speed-ups change no output: what each shortcut could get wrong, checked against the slow way.

* HTML abstracts: mapping every CERN Open Data corpus record (and generated Zenodo descriptions) through the fast
  HTML path gives the same records as through `HTMLParser` alone.
* CERN links and references: the nested-object walk finds the same objects in the same order as the generator it
  replaced, and an invalid nested `recid` is still reported at its full location.
* Zenodo field names are joined only for errors: an error deep in a creator still names the whole field.
* Vocabulary caches: unmapped values are still counted every time; unknown schemes still raise every time;
  implied messengers, techniques and targets keep the first experiment's wording, keyword messengers their first
  spelling.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from connectors import markup
from connectors.base import MappingError, RawRecord
from connectors.cernopendata import CernOpenDataConnector
from connectors.cernopendata_mapper import _LINK_SKIP, _relations
from connectors.cernopendata_mapper import html_to_text as cern_html_to_text
from connectors.zenodo_fields import ExperimentSignals, detect_experiments, keyword_messengers, physics
from connectors.zenodo_fields import html_to_text as zenodo_html_to_text
from connectors.zenodo_mapper import map_zenodo
from ontology.vocabulary import concept, experiment_physics, lookup, unmapped
from sandbox.replicas.cernopendata_api import api_record, dumps, fixture_stamps
from sandbox.replicas.zenodo import ZenodoReplica

RDM = "application/vnd.inveniordm.v1+json"


@pytest.fixture(scope="module")
def cern_fixtures(corpus: Path) -> list[dict[str, Any]]:
    return [
        record
        for path in sorted((corpus / "cernopendata" / "records").glob("*.json"))
        for record in json.loads(path.read_text())
    ]


def _cern_raw(fixture: dict[str, Any]) -> RawRecord:
    created, updated = fixture_stamps(fixture)
    body = api_record(fixture, created=created, updated=updated, base_url="https://opendata.cern.ch")
    url = f"https://opendata.cern.ch/api/records/{fixture['recid']}"
    return RawRecord(str(fixture["recid"]), dumps(body), "application/json", url, body["updated"])


def _htmlparser_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(markup, "_dispatch_simple", lambda html, parser: False)


# -- HTML -----------------------------------------------------------------------------------------------------------
def test_every_cern_corpus_record_maps_alike_without_the_html_fast_path(
    cern_fixtures: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    raws = [_cern_raw(fixture) for fixture in cern_fixtures]
    assert len(raws) == 7443
    fast = [CernOpenDataConnector.map_record(raw, "cern").model_dump() for raw in raws]
    _htmlparser_only(monkeypatch)
    slow = [CernOpenDataConnector.map_record(raw, "cern").model_dump() for raw in raws]
    assert sum(bool(record["description"]) for record in fast) > 6000
    for one, other in zip(fast, slow, strict=True):
        assert one == other, one["native_id"]


def test_html_to_text_alike_without_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    replica = ZenodoReplica.generated(150, seed=17)
    client = TestClient(replica.app())
    descriptions = []
    for entry in replica.store.entries():
        response = client.get(f"/api/records/{entry.native_id}", headers={"Accept": RDM})
        assert response.status_code == 200, response.text
        descriptions.append(response.json()["metadata"]["description"])
    awkward = [
        "<p>a<br/>b</p><pre>  x\n  y</pre><ul><li>one</li><li>two &amp; three</li></ul>",
        "<p>p_T < 20 GeV, &lt;x&gt; &nbsp;&times; 3</p><script>ignored()</script><p>after</p>",
        "<div class='a>b'>text<!-- comment --></div> <a href=http://x/y>link</a> tail &amp",
        "<P>UPPER</P><BR><Li>item",
    ]
    texts = descriptions + awkward
    fast = [(zenodo_html_to_text(t), cern_html_to_text(t)) for t in texts]
    _htmlparser_only(monkeypatch)
    slow = [(zenodo_html_to_text(t), cern_html_to_text(t)) for t in texts]
    assert fast == slow
    assert all(zenodo for zenodo, _ in fast[: len(descriptions)])


# -- CERN nested objects ----------------------------------------------------------------------------------------
def _generator_walk(node: Any, where: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The walk `_nested_objects` replaced, as it was: the reference for order and locations."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if where == "metadata" and key in _LINK_SKIP:
                continue
            child = f"{where}.{key}"
            if isinstance(value, Mapping):
                yield child, value
            yield from _generator_walk(value, child)
    elif isinstance(node, list):
        for n, item in enumerate(node):
            child = f"{where}[{n}]"
            if isinstance(item, Mapping):
                yield child, item
            yield from _generator_walk(item, child)


NESTED: dict[str, Any] = {
    "recid": "1",
    "title": "x",
    "abstract": {"description": "d", "links": [{"recid": "10"}, {"url": "/docs/a"}, {"recid": 11, "url": "b"}]},
    "usage": {"links": [[{"url": "https://example.org/1"}], [], [{"recid": "12"}, "text", 3]]},
    "methodology": {"steps": [{"inner": {"deeper": [{"recid": "13", "url": "https://example.org/2"}]}}]},
    "system_details": {"section": {"recid": "16", "url": "/outer", "more": {"recid": "17", "url": "/inner"}}},
    "files": [{"recid": "99", "url": "https://skipped.example"}],
    "collaboration": {"name": "CMS", "recid": "14"},
    "validation": [{"recid": "10"}, {"recid": "1"}, {"url": "https://example.org/1"}],
    "relations": [{"type": "isChildOf", "recid": "15"}],
}


def test_links_and_references_in_the_order_of_the_old_walk() -> None:
    part_of, has_part, references, links = _relations(NESTED, "1")
    expected_references: dict[str, None] = {"cern-recid:14": None}
    expected_links: dict[str, None] = {}
    for _, node in _generator_walk(NESTED, "metadata"):
        if "recid" in node and str(node["recid"]) != "1":
            expected_references.setdefault(f"cern-recid:{node['recid']}", None)
        if isinstance(node.get("url"), str):
            url = node["url"]
            expected_links.setdefault(url if "://" in url else f"https://opendata.cern.ch/{url.lstrip('/')}", None)
    assert [i.key() for i in part_of] == ["cern-recid:15"] and has_part == []
    assert [i.key() for i in references] == list(expected_references)
    assert links == list(expected_links)
    assert "https://skipped.example" not in links and "cern-recid:99" not in expected_references


@pytest.mark.parametrize(
    ("path", "where"),
    [
        (("abstract", "links", 0, "recid"), "metadata.abstract.links[0].recid"),
        (("usage", "links", 2, 0, "recid"), "metadata.usage.links[2][0].recid"),
        (
            ("methodology", "steps", 0, "inner", "deeper", 0, "recid"),
            "metadata.methodology.steps[0].inner.deeper[0].recid",
        ),
    ],
)
def test_an_invalid_nested_recid_is_reported_where_it_is(path: tuple[str | int, ...], where: str) -> None:
    metadata = copy.deepcopy(NESTED)
    node: Any = metadata
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = "not-a-number"
    reference = next(w for w, n in _generator_walk(metadata, "metadata") if n.get("recid") == "not-a-number")
    assert f"{reference}.recid" == where
    with pytest.raises(MappingError) as raised:
        _relations(metadata, "1")
    assert raised.value.field == where
    assert str(raised.value) == f"{where}: 'not-a-number' is not a CERN Open Data record number"


# -- Zenodo field names -----------------------------------------------------------------------------------------
def _zenodo(**metadata: Any) -> dict[str, Any]:
    return {"id": "123", "pids": {}, "metadata": {"title": "A record", **metadata}}


A = {"person_or_org": {"name": "A"}}


@pytest.mark.parametrize(
    ("creators", "field"),
    [
        ([A, {"person_or_org": {"name": 5j}}], "metadata.creators[1].person_or_org.name"),
        ([{"person_or_org": []}], "metadata.creators[0].person_or_org"),
        (
            [{"person_or_org": {"name": "A", "identifiers": [{}, 7]}}],
            "metadata.creators[0].person_or_org.identifiers[1]",
        ),
        ([{**A, "affiliations": [{"name": "X"}, {"id": []}]}], "metadata.creators[0].affiliations[1].id"),
        ([{"person_or_org": {"name": "A", "family_name": {}}}], "metadata.creators[0].person_or_org.family_name"),
    ],
)
def test_zenodo_errors_name_the_whole_field(creators: list[Any], field: str) -> None:
    with pytest.raises(MappingError) as raised:
        map_zenodo(_zenodo(creators=creators))
    assert raised.value.field == field


def test_zenodo_text_fast_path_reads_numbers_and_strings_alike() -> None:
    fields = map_zenodo(_zenodo(version=2, creators=[{"person_or_org": {"name": "  Doe, Jane  "}}]))
    assert fields.values["version"] == "2"
    assert fields.values["creators"][0].name == "Doe, Jane"


# -- vocabulary caches ------------------------------------------------------------------------------------------
def test_unmapped_values_are_counted_every_time_despite_the_caches() -> None:
    raw = "Speed Equivalence Test Experiment"
    before = unmapped().get(("experiment", raw), 0)
    for _ in range(3):
        assert concept("experiment", raw).uri is None
    assert unmapped()[("experiment", raw)] == before + 3


def test_an_unknown_vocabulary_raises_every_time() -> None:
    for _ in range(2):
        with pytest.raises(KeyError, match="no vocabulary 'instrument'"):
            lookup("instrument", "CMS")


def test_implied_values_keep_the_first_wording() -> None:
    # XENON, LZ and PandaX share a messenger, a technique and a target; HAWC and LHAASO a technique and messenger
    experiments = [concept("experiment", name) for name in ("XENON", "LZ", "PandaX", "HAWC", "LHAASO")]
    assert all(e.uri for e in experiments)
    implied = experiment_physics(experiments)
    # every implied concept once, worded after the first experiment that implies it, as setdefault did
    reference: dict[str, str] = {}
    for experiment in experiments:
        found = lookup("experiment", experiment.raw)
        assert found is not None
        for uri in (*found.messengers, *found.techniques, *found.targets):
            reference.setdefault(uri, f"from experiment {found.label}")
    got = {c.uri: c.raw for c in (*implied.messengers, *implied.techniques, *implied.targets)}
    assert got == reference and len(got) == len(implied.messengers) + len(implied.techniques) + len(implied.targets)


def test_keyword_messengers_follow_the_experiments_in_first_spelling() -> None:
    keywords = ["Neutrinos", "dark matter", "neutrino", "gravitational waves", "Gravitational Waves"]
    experiments, _ = detect_experiments(ExperimentSignals(keywords=["IceCube", *keywords]))
    known = physics(experiments, keywords)
    reference = {c.uri: c for c in experiment_physics(experiments).messengers}
    for messenger in keyword_messengers(keywords):
        reference.setdefault(messenger.uri, messenger)
    assert [m.model_dump() for m in known.messengers] == [m.model_dump() for m in reference.values()]
    assert any(m.raw == "gravitational waves" for m in known.messengers)
