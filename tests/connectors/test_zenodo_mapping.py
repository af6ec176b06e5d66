"""The Zenodo mapper on every Zenodo record of the corpus, in the shape each was captured in.

Each test takes one group of fields and checks, record by record, that what the source says is in the model:
nothing the model has room for is lost. The captures are read in place from `corpus/zenodo/rest/`: the legacy JSON
of 3c (search responses) and 3d (a 2020 single record), the InvenioRDM JSON of 3e (a record and a versions page)
and, for the full RDM shape, the InvenioRDM record of CERN's demo instance (3f), which is not a Zenodo record but
has every RDM field (ROR ids, ORCIDs, subjects, alternate identifiers, languages).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from connectors.base import MappingError, RawRecord
from connectors.zenodo import ZenodoConnector
from connectors.zenodo_fields import ExperimentSignals, detect_experiments, html_to_text
from connectors.zenodo_mapper import detect_shape
from ontology import IdentifierScheme, Record


def _captures(corpus: Path) -> list[tuple[str, dict[str, Any]]]:
    """(label, record JSON) for every record captured under corpus/zenodo/rest, duplicates included."""
    out = []
    for path in sorted((corpus / "zenodo" / "rest").rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".txt":
            text = re.split(r"^###\s*$", text, maxsplit=1, flags=re.MULTILINE)[0]
        data = json.loads(text)
        if "hits" in data:
            items = data["hits"]["hits"]
        elif "metadata" in data and "tombstone" not in data and "slug" not in data:
            items = [data]
        else:
            continue
        out += [(f"{path.parent.name}/{path.name}#{item['id']}", item) for item in items]
    return out


def _corpus_root() -> Path:
    """Where tests/conftest.py finds the corpus (parametrising needs it before fixtures exist)."""
    repo = Path(__file__).resolve().parents[2]
    return Path(os.environ.get("DMLAKE_SHARED", repo.parent / "shared")).resolve() / "corpus"


CAPTURES = _captures(_corpus_root())
LEGACY = [(label, item) for label, item in CAPTURES if detect_shape(item) == "legacy"]
RDM = [(label, item) for label, item in CAPTURES if detect_shape(item) == "rdm"]


def _map(item: dict[str, Any], source: str = "zenodo") -> Record:
    raw = RawRecord(str(item["id"]), orjson.dumps(item, option=orjson.OPT_SORT_KEYS), "application/json", "x")
    return ZenodoConnector.map_record(raw, source)


def _ids(params: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [label for label, _ in params]


def test_the_corpus_has_both_shapes() -> None:
    assert len(LEGACY) == 14  # 13 search hits (3c) + the 2020 record (3d)
    assert len(RDM) == 5  # record 22705923, three versions-page hits (3e), CERN's demo record (3f)


# -- identity ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "item"), CAPTURES, ids=_ids(CAPTURES))
def test_identity(label: str, item: dict[str, Any]) -> None:
    record = _map(item)
    native = str(item["id"])
    assert record.native_id == native
    assert record.id.endswith(f"/zenodo/{native}")
    ids = {(i.scheme, i.value.lower()) for i in record.identifiers}
    if native.isdigit():
        assert (IdentifierScheme.ZENODO, native) in ids
    rdm = detect_shape(item) == "rdm"
    doi = (item.get("pids") or {}).get("doi", {}).get("identifier") if rdm else item.get("doi")
    assert record.doi == doi
    parent_pids = (item.get("parent") or {}).get("pids", {})
    concept = parent_pids.get("doi", {}).get("identifier") if rdm else item.get("conceptdoi")
    if concept:
        assert (IdentifierScheme.CONCEPT_DOI, concept.lower()) in ids
        assert record.is_version_of[0].scheme == IdentifierScheme.CONCEPT_DOI
        assert record.is_version_of[0].value == concept
    elif item.get("conceptrecid") and str(item["conceptrecid"]) != native:
        assert [(i.scheme, i.value) for i in record.is_version_of] == [(IdentifierScheme.ZENODO, item["conceptrecid"])]
    oai = (item.get("pids") or {}).get("oai", {}).get("identifier") if rdm else f"oai:zenodo.org:{native}"
    if oai:
        assert (IdentifierScheme.OAI, oai) in ids
    alternates = (item["metadata"].get("identifiers") if rdm else item["metadata"].get("alternate_identifiers")) or []
    for alternate in alternates:
        value = alternate["identifier"]
        assert any(value.lower().endswith(i.value.lower()) for i in record.identifiers), value
    links = item.get("links") or {}
    expected = links.get("self_html") or links.get("html") or f"https://zenodo.org/records/{native}"
    assert record.landing_page == expected
    assert record.provenance.source_kind == "zenodo"
    assert record.provenance.mapping_version == ZenodoConnector.mapping_version


# -- description -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "item"), CAPTURES, ids=_ids(CAPTURES))
def test_title_description_version_language_type(label: str, item: dict[str, Any]) -> None:
    record = _map(item)
    md = item["metadata"]
    assert record.title == md["title"].strip()
    if md.get("description"):
        assert record.description is not None
        assert "<p>" not in record.description and "&amp;" not in record.description
        # every word of the HTML's text survives, in order
        plain = re.sub(r"<[^>]+>", " ", md["description"])
        from html import unescape

        expected = re.findall(r"\w+", unescape(plain))
        assert re.findall(r"\w+", record.description) == expected
    else:
        assert record.description is None
    assert record.version == md.get("version")
    rdm = detect_shape(item) == "rdm"
    language = ((md.get("languages") or [{}])[0].get("id")) if rdm else md.get("language")
    assert record.language == language
    resource_type = md["resource_type"]
    if rdm:
        assert record.resource_type is not None and record.resource_type.raw == resource_type["id"]
        assert record.resource_type.label == resource_type["title"]["en"]
    else:
        raw = resource_type["type"] + (f"-{resource_type['subtype']}" if resource_type.get("subtype") else "")
        assert record.resource_type is not None and record.resource_type.raw == raw
        assert record.resource_type.label == resource_type["title"]
    assert record.resource_type.uri is not None and record.resource_type.uri.startswith("https://schema.org/")


# -- people ----------------------------------------------------------------------------------------------------


def _people(item: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """(name, orcid, affiliation names, ROR ids) per creator or contributor, read from either shape."""
    out = []
    for entry in item["metadata"].get(key) or []:
        if "person_or_org" in entry:
            person = entry["person_or_org"]
            orcids = [i["identifier"] for i in person.get("identifiers") or [] if i["scheme"] == "orcid"]
            out.append(
                {
                    "name": person["name"],
                    "orcid": orcids[0] if orcids else None,
                    "affiliations": [a["name"] for a in entry.get("affiliations") or []],
                    "ror": [
                        f"https://ror.org/{a['id']}" if a.get("id") else None for a in entry.get("affiliations") or []
                    ],
                    "given": person.get("given_name"),
                    "family": person.get("family_name"),
                }
            )
        else:
            affiliation = entry.get("affiliation")
            out.append(
                {
                    "name": entry["name"],
                    "orcid": entry.get("orcid"),
                    "affiliations": [affiliation] if affiliation else [],
                    "ror": [None] if affiliation else [],
                }
            )
    return out


@pytest.mark.parametrize(("label", "item"), CAPTURES, ids=_ids(CAPTURES))
def test_creators_and_contributors(label: str, item: dict[str, Any]) -> None:
    record = _map(item)
    for key, agents in (("creators", record.creators), ("contributors", record.contributors)):
        expected = _people(item, key)
        assert [a.name for a in agents] == [p["name"] for p in expected]
        assert [a.orcid for a in agents] == [p["orcid"] for p in expected]
        assert [[f.name for f in a.affiliations] for a in agents] == [p["affiliations"] for p in expected]
        assert [[f.ror for f in a.affiliations] for a in agents] == [p["ror"] for p in expected]
        for agent, source in zip(agents, expected, strict=True):
            if source.get("given"):
                assert (agent.given_name, agent.family_name) == (source["given"], source["family"])


def test_rors_and_orcids_of_the_full_rdm_record() -> None:
    (item,) = [item for label, item in RDM if "inveniordm" in label]
    record = _map(item)
    assert len(record.creators) == 9
    assert record.creators[0].orcid == "0000-0002-9576-1974"
    assert record.creators[0].given_name == "Stephanie" and record.creators[0].family_name == "van de Sandt"
    assert record.creators[0].affiliations[0].ror == "https://ror.org/01ggx4157"
    assert record.creators[3].affiliations[0].ror is None  # American Astronomical Society: no id in the record
    assert record.creators[6].orcid is None
    assert record.publisher is not None and record.publisher.name == "arXiv"
    assert record.keywords == ["Software citation", "Zenodo", "FAIR principles", "Digital Libraries"]
    assert [(i.scheme, i.value) for i in record.identifiers if i.scheme == IdentifierScheme.ARXIV] == [
        (IdentifierScheme.ARXIV, "1911.00295")
    ]
    assert record.license is not None and record.license.uri == "http://spdx.org/licenses/CC-BY-4.0"


# -- rights, keywords, dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "item"), CAPTURES, ids=_ids(CAPTURES))
def test_licence_access_keywords_dates(label: str, item: dict[str, Any]) -> None:
    record = _map(item)
    md = item["metadata"]
    rdm = detect_shape(item) == "rdm"
    if rdm:
        rights = [r for r in md.get("rights") or [] if r.get("id")]
        licence = rights[0]["id"] if rights else None
        access = item["access"]["status"]
        keywords = [s["subject"] for s in md.get("subjects") or [] if not s.get("id")]
    else:
        licence = (md.get("license") or {}).get("id")
        access = md["access_right"]
        keywords = md.get("keywords") or []
    if licence:
        assert record.license is not None and record.license.raw == licence
        known = {"cc-by-4.0": "CC-BY-4.0", "bsd-3-clause": "BSD-3-Clause"}
        if licence.lower() in known:
            assert record.license.uri == f"http://spdx.org/licenses/{known[licence.lower()]}"
        else:
            assert record.license.uri is None  # "other-open" is no SPDX licence: kept, unmapped
    else:
        assert record.license is None
    assert record.access_rights == access
    assert record.keywords == keywords
    assert record.issued == md["publication_date"]
    created = item.get("created")
    assert record.created == created
    assert record.modified == (item.get("updated") if rdm else item.get("modified") or item.get("updated"))
    if rdm and md.get("publisher"):
        assert record.publisher is not None and record.publisher.name == md["publisher"]
    elif not rdm:
        assert record.publisher is not None and record.publisher.name == "Zenodo"  # DataCite publisher of Zenodo


# -- relations ----------------------------------------------------------------------------------------------------

FIELD_OF = {
    "issupplementto": "is_supplement_to",
    "ispartof": "is_part_of",
    "haspart": "has_part",
    "references": "references",
    "cites": "references",
    "isnewversionof": "is_new_version_of",
    "isversionof": "is_version_of",
}


@pytest.mark.parametrize(("label", "item"), CAPTURES, ids=_ids(CAPTURES))
def test_relations_and_communities(label: str, item: dict[str, Any]) -> None:
    record = _map(item)
    md = item["metadata"]
    rdm = detect_shape(item) == "rdm"
    for related in md.get("related_identifiers") or []:
        relation = (related["relation_type"]["id"] if rdm else related["relation"]).lower()
        value = related["identifier"]
        if relation in FIELD_OF:
            targets = getattr(record, FIELD_OF[relation])
            assert any(value.lower().endswith(t.value.lower()) for t in targets), (relation, value)
        else:
            assert any(value.lower() in link.lower() for link in record.related_links), (relation, value)
    slugs = [c["id"] for c in md.get("communities") or []] if not rdm else []
    for slug in slugs:
        assert any(i.value == f"https://zenodo.org/communities/{slug}" for i in record.is_part_of)
    # references are citation strings: those that carry a DOI become identifiers
    for reference in md.get("references") or []:
        text = reference["reference"] if isinstance(reference, dict) else reference
        found = re.search(r"\b(10\.\d{4,9}/[^\s\"<>]+[^\s\"<>.,;)\]])", text)
        if found:
            assert any(t.value.lower() == found.group(1).lower() for t in record.references)


def test_external_doi_record_keeps_its_parts_and_citations() -> None:
    (item,) = [item for label, item in LEGACY if label.endswith("#15482")]
    record = _map(item)
    assert record.doi == "10.11646/zootaxa.3916.1.1"
    parts = {r["identifier"].lower() for r in item["metadata"]["related_identifiers"] if r["relation"] == "hasPart"}
    assert len(parts) == 113 and {i.value.lower() for i in record.has_part} == parts
    assert {i.scheme for i in record.has_part} == {IdentifierScheme.DOI, IdentifierScheme.URL, IdentifierScheme.OTHER}
    assert "http://www.gbif.org/dataset/a769b646-ed6a-4028-827b-98312f729588" in record.related_links  # isSourceOf
    assert any(t.value == "10.1109/tac.1974.1100705" for t in record.references)
    assert record.is_part_of[0].value == "https://zenodo.org/communities/biosyslit"


# -- files -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "item"), CAPTURES, ids=_ids(CAPTURES))
def test_files(label: str, item: dict[str, Any]) -> None:
    record = _map(item)
    if detect_shape(item) == "rdm":
        entries = list(((item.get("files") or {}).get("entries") or {}).values())
        expected = {e["key"]: (e["size"], e["checksum"].split(":")[1], e.get("mimetype")) for e in entries}
    else:
        expected = {
            f.get("filename", f.get("key")): (
                f.get("filesize", f.get("size")),
                str(f["checksum"]).split(":")[-1],
                None,
            )
            for f in item.get("files") or []
        }
    assert {d.name for d in record.distributions} == set(expected)
    for distribution in record.distributions:
        size, md5, media_type = expected[distribution.name]
        assert distribution.size_bytes == size
        assert distribution.checksum is not None and str(distribution.checksum) == f"md5:{md5}"
        assert distribution.url is not None and distribution.url.endswith(("/content", distribution.name))
        if media_type:
            assert distribution.media_type == media_type
        assert distribution.availability.value == ("online" if record.access_rights == "open" else "on-request")
    if expected:
        assert record.size_bytes == sum(size for size, _, _ in expected.values())
    assert [d.name for d in record.distributions] == sorted(d.name for d in record.distributions)


def test_old_legacy_file_layout_is_read() -> None:
    (item,) = [item for label, item in LEGACY if label.endswith("#3974864")]
    record = _map(item)
    (file,) = record.distributions
    assert file.name == "threshold_velocity_plot.py" and file.size_bytes == 2360
    assert str(file.checksum) == "md5:f1b74dfdbe14758fed4025f3665cd62b"
    assert file.url == "https://zenodo.org/api/files/d7efe648-24b9-4ea7-bc10-75d44edbf15f/threshold_velocity_plot.py"
    assert file.role == "software" and file.media_type == "text/x-python"
    assert record.contributors[0].name == "Berera, A"


# -- physics from the vocabulary -------------------------------------------------------------------------------


def test_corpus_records_name_no_experiment() -> None:
    """The corpus's Zenodo records are linguistics, taxonomy and software: no experiment, no messenger."""
    for _, item in CAPTURES:
        record = _map(item)
        assert record.experiments == [] and record.messengers == []


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        (ExperimentSignals(keywords=["IceCube", "neutrinos"]), ["IceCube"]),
        (ExperimentSignals(keywords=["XENON1T"]), ["XENON"]),  # a name with a digit is unambiguous
        (ExperimentSignals(keywords=["xenon"]), []),  # the element
        (ExperimentSignals(keywords=["xenon", "dark matter"]), ["XENON"]),  # ... in a dark-matter context
        (ExperimentSignals(keywords=["ATLAS"]), []),  # an atlas of anything
        (ExperimentSignals(keywords=["ATLAS experiment"]), ["ATLAS"]),
        (ExperimentSignals(keywords=["Virgo", "galaxy clusters"]), []),  # the Virgo cluster
        (ExperimentSignals(keywords=["Virgo", "LIGO"]), ["Virgo", "LIGO"]),  # another experiment gives the context
        (ExperimentSignals(communities=["km3net"]), ["KM3NeT"]),
        (ExperimentSignals(organisations=["CRESST Collaboration"]), ["CRESST"]),
        (ExperimentSignals(keywords=["cosine similarity", "cosine"]), []),
    ],
)
def test_experiments_only_where_unambiguous(signals: ExperimentSignals, expected: list[str]) -> None:
    experiments, _ = detect_experiments(signals)
    assert [e.label for e in experiments] == expected


def test_collaboration_creator_gives_experiment_collaboration_and_physics() -> None:
    item = json.loads(json.dumps(RDM[0][1]))
    item["metadata"]["creators"] = [{"person_or_org": {"type": "organizational", "name": "XENON Collaboration"}}]
    item["metadata"]["subjects"] = [{"subject": "dark matter"}, {"subject": "likelihood"}]
    record = _map(item)
    assert [e.label for e in record.experiments] == ["XENON"]
    assert [c.label for c in record.collaboration] == ["XENON"]
    assert record.creators[0].kind == "organization"
    assert [m.label for m in record.messengers] == ["dark-matter direct detection"]
    assert [t.label for t in record.targets] == ["xenon"]
    assert [t.label for t in record.detection_technique] == ["dual-phase time projection chamber"]
    assert {c.label for c in record.resource_categories} == {"likelihood", "software"}


# -- bad input ---------------------------------------------------------------------------------------------------


def _legacy() -> dict[str, Any]:
    return json.loads(json.dumps(LEGACY[0][1]))


def _rdm() -> dict[str, Any]:
    (item,) = [item for label, item in RDM if label.endswith("record-22705923.json#22705923")]
    return json.loads(json.dumps(item))


def _bad(item: Any) -> MappingError:
    payload = item if isinstance(item, bytes) else orjson.dumps(item)
    native = str(item.get("id", "1")) if isinstance(item, dict) else "1"
    with pytest.raises(MappingError) as caught:
        ZenodoConnector.map_record(RawRecord(native, payload, "application/json", "x"), "zenodo")
    return caught.value


def test_bad_values_name_their_field() -> None:
    assert _bad(b"{not json").field == "payload"
    assert _bad(b"[1, 2]").field == "payload"
    tomb = json.loads((_corpus_root() / "zenodo/rest/rdm-json_cyanheads-fixtures/tombstone-22705918.json").read_text())
    assert _bad(tomb).field == "payload"

    item = _legacy()
    del item["metadata"]["title"]
    item.pop("title", None)
    assert _bad(item).field == "metadata.title"

    item = _legacy()
    item["doi"] = "not a doi"
    assert _bad(item).field == "doi"

    item = _legacy()
    item["metadata"]["creators"][0]["orcid"] = "0000-1234"
    assert _bad(item).field == "metadata.creators[0]"

    item = _legacy()
    item["metadata"]["publication_date"] = "10 August 2021"
    assert _bad(item).field == "metadata.publication_date"

    item = _legacy()
    item["files"][0]["filesize"] = -3
    assert _bad(item).field == "files[0].filesize"

    item = _legacy()
    item["metadata"]["access_right"] = "sometimes"
    assert _bad(item).field == "metadata.access_right"

    item = _rdm()
    item["pids"]["doi"]["identifier"] = "zenodo.22705923"
    assert _bad(item).field == "pids.doi.identifier"

    item = _rdm()
    item["metadata"]["creators"] = {"not": "a list"}
    assert _bad(item).field == "metadata.creators"

    item = _rdm()
    item["files"]["entries"]["scikit-learn/scikit-learn-1.9.1.zip"]["checksum"] = "md5:not-hex"
    assert _bad(item).field == "files.entries['scikit-learn/scikit-learn-1.9.1.zip'].checksum"

    item = _rdm()
    del item["metadata"]
    assert _bad(item).field == "metadata"


def test_listed_id_must_match_payload() -> None:
    item = _legacy()
    raw = RawRecord("999", orjson.dumps(item), "application/json", "x")
    with pytest.raises(MappingError) as caught:
        ZenodoConnector.map_record(raw, "zenodo")
    assert caught.value.field == "id"


def test_mapping_is_pure() -> None:
    for _, item in CAPTURES:
        raw = RawRecord(str(item["id"]), orjson.dumps(item, option=orjson.OPT_SORT_KEYS), "application/json", "u")
        first = ZenodoConnector.map_record(raw, "zenodo")
        second = ZenodoConnector.map_record(raw, "zenodo")
        assert first.model_dump() == second.model_dump()


def test_html_to_text() -> None:
    html = "<p>A &amp; B<br>next</p><ul><li>one</li><li>two <b>bold</b></li></ul>"
    html += "<pre>x  =  1\n y</pre><script>s</script>"
    assert html_to_text(html) == "A & B\nnext\n\n- one\n- two bold\n\nx  =  1\n y"
    assert html_to_text("plain   text\n here") == "plain text here"
