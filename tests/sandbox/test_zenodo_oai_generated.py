"""The generated Zenodo OAI-PMH replica serves the generated Zenodo REST replica's records, as zenodo.org's two
interfaces serve the same records: same DOI, concept DOI, title, creators, dates, licence and communities; listings
by set and datestamp range select what the REST search selects; versions share their concept DOI, which is never a
record's DOI; the bodies are valid DataCite kernel-4 and oai_dc; and both harvests map to the same records."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import lxml.html
import pytest
from lxml import etree
from oai_schema import LocalSchemas

from connectors import registry
from connectors.base import HarvestState, Limits, SourceSpec
from connectors.http import HttpClient
from ontology.model import IdentifierScheme, Record
from sandbox.replicas.oaipmh_zenodo import GeneratedZenodoBase, ZenodoOaiReplica
from sandbox.replicas.zenodo import ZenodoReplica
from sandbox.replicas.zenodo_generate import FAMILY_BLOCK, PERIOD
from sandbox.server import RunningSandbox, start

OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"
KERNEL = "{http://datacite.org/schema/kernel-4}"
RDM_JSON = {"Accept": "application/vnd.inveniordm.v1+json"}
COUNT, SEED = 20_000, 11
RELATIONS = {
    "issupplementto": "IsSupplementTo",
    "references": "References",
    "isnewversionof": "IsNewVersionOf",
    "isdocumentedby": "IsDocumentedBy",
}
SCHEMES = {"doi": "DOI", "arxiv": "arXiv", "url": "URL"}
GENERAL_TYPES = {
    "dataset": "Dataset",
    "software": "Software",
    "publication-technicalnote": "Text",
    "publication-preprint": "Preprint",
    "publication-article": "JournalArticle",
}
"""DataCite's names of what the generator writes (invenio's relation-type, scheme and resource-type vocabularies)."""
LISTED = 1_000
"""The first records, listed in both formats (a multiple of the family block, so every family is whole)."""
SCATTERED = [(k * 7_919) % COUNT for k in range(1, 101)]
"""Records far into the base, fetched one by one."""


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSandbox]:
    replicas = {"zenodo": ZenodoReplica.generated(COUNT, SEED), "oai": ZenodoOaiReplica.generated(COUNT, SEED)}
    with start(replicas) as served:
        yield served


@dataclass
class OaiRecord:
    header: etree._Element
    dc: etree._Element
    datacite: etree._Element

    @property
    def identifier(self) -> str:
        return self.header.findtext(f"{OAI}identifier") or ""


def oai(running: RunningSandbox, **params: str) -> etree._Element:
    response = httpx.get(running.urls["oai"] + "/oai2d", params=params, timeout=60)
    assert response.status_code == 200, response.text[:500]
    return etree.fromstring(response.content)


def oai_walk(running: RunningSandbox, verb: str, **params: str) -> Iterator[etree._Element]:
    root = oai(running, verb=verb, **params)
    while True:
        yield root
        token = (root.findtext(f".//{OAI}resumptionToken") or "").strip()
        if not token:
            return
        root = oai(running, verb=verb, resumptionToken=token)


def rest_record(running: RunningSandbox, recid: str) -> dict[str, Any]:
    response = httpx.get(f"{running.urls['zenodo']}/api/records/{recid}", headers=RDM_JSON, timeout=60)
    assert response.status_code == 200, (recid, response.status_code)
    data: dict[str, Any] = response.json()
    return data


def rest_search(running: RunningSandbox, **params: str) -> list[dict[str, Any]]:
    """Every hit of a REST search, in the order asked for (pages of 100: the replica takes any token)."""
    hits: list[dict[str, Any]] = []
    page = 1
    while True:
        query = {"all_versions": "true", "size": "100", "page": str(page), "access_token": "sandbox", **params}
        response = httpx.get(f"{running.urls['zenodo']}/api/records", params=query, headers=RDM_JSON, timeout=60)
        assert response.status_code == 200, response.text[:500]
        body = response.json()
        hits += body["hits"]["hits"]
        if "next" not in body["links"]:
            assert len(hits) == body["hits"]["total"]
            return hits
        page += 1


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def base(running: RunningSandbox) -> GeneratedZenodoBase:
    replica = running.replicas["oai"]
    assert isinstance(replica, ZenodoOaiReplica)
    found = replica.oai_base
    assert isinstance(found, GeneratedZenodoBase)
    return found


@pytest.fixture(scope="module")
def listed(running: RunningSandbox, base: GeneratedZenodoBase) -> dict[str, OaiRecord]:
    """The first LISTED records by ListRecords in both formats, and the scattered ones by GetRecord."""
    until = stamp(base.updated(LISTED - 1))
    bodies: dict[str, dict[str, etree._Element]] = defaultdict(dict)
    headers: dict[str, etree._Element] = {}
    for prefix in ("oai_dc", "datacite"):
        for root in oai_walk(running, "ListRecords", metadataPrefix=prefix, until=until):
            for record in root.iter(f"{OAI}record"):
                header = record.find(f"{OAI}header")
                metadata = record.find(f"{OAI}metadata")
                assert header is not None and metadata is not None
                identifier = header.findtext(f"{OAI}identifier") or ""
                headers[identifier] = header
                bodies[identifier][prefix] = metadata[0]
        for index in SCATTERED:
            root = oai(running, verb="GetRecord", identifier=base.native_id(index), metadataPrefix=prefix)
            record = root.find(f".//{OAI}record")
            assert record is not None
            header, metadata = record.find(f"{OAI}header"), record.find(f"{OAI}metadata")
            assert header is not None and metadata is not None
            headers[base.native_id(index)] = header
            bodies[base.native_id(index)][prefix] = metadata[0]
    records = {i: OaiRecord(headers[i], b["oai_dc"], b["datacite"]) for i, b in bodies.items()}
    assert len(records) == LISTED + len(set(SCATTERED) - set(range(LISTED)))
    return records


# -- the same facts through both interfaces ----------------------------------------------------------------------


def test_every_oai_record_is_the_rest_record_of_the_same_id(
    running: RunningSandbox, base: GeneratedZenodoBase, listed: dict[str, OaiRecord]
) -> None:
    sample = [base.native_id(i) for i in range(0, LISTED, 5)] + [base.native_id(i) for i in SCATTERED]
    assert len(sample) == 300
    for identifier in sample:
        record = listed[identifier]
        rdm = rest_record(running, identifier.removeprefix("oai:zenodo.org:"))
        compare_header(record.header, rdm)
        compare_datacite(record.datacite, rdm)
        compare_dublin_core(record.dc, rdm)


def compare_header(header: etree._Element, rdm: dict[str, Any]) -> None:
    assert header.findtext(f"{OAI}identifier") == f"oai:zenodo.org:{rdm['id']}" == rdm["pids"]["oai"]["identifier"]
    updated = datetime.fromisoformat(rdm["updated"])
    assert header.findtext(f"{OAI}datestamp") == stamp(updated)
    kind = rdm["metadata"]["resource_type"]["id"].split("-")[0]
    type_sets = {"dataset": ["openaire_data"], "software": ["software"]}.get(kind, [])
    specs = [s.text for s in header.findall(f"{OAI}setSpec")]
    assert specs == [f"user-{slug}" for slug in community_slugs(rdm)] + type_sets


def community_slugs(rdm: dict[str, Any]) -> list[str]:
    slugs = [e["slug"] for e in rdm["parent"]["communities"]["entries"]]
    assert slugs
    return slugs


def compare_datacite(resource: etree._Element, rdm: dict[str, Any]) -> None:
    md = rdm["metadata"]
    recid = rdm["id"]

    def texts(path: str) -> list[str]:
        return [e.text or "" for e in resource.iterfind(path)]

    def related(relation: str) -> list[str]:
        return texts(f"{KERNEL}relatedIdentifiers/{KERNEL}relatedIdentifier[@relationType='{relation}']")

    assert texts(f"{KERNEL}identifier[@identifierType='DOI']") == [rdm["pids"]["doi"]["identifier"]], recid
    assert texts(f"{KERNEL}alternateIdentifiers/{KERNEL}alternateIdentifier") == [f"oai:zenodo.org:{recid}"]
    assert related("IsVersionOf") == [rdm["parent"]["pids"]["doi"]["identifier"]], recid
    assert texts(f"{KERNEL}titles/{KERNEL}title") == [md["title"]]
    assert texts(f"{KERNEL}publisher") == ["Zenodo"]
    assert texts(f"{KERNEL}publicationYear") == [md["publication_date"][:4]]
    assert datacite_creators(resource) == rest_creators(md["creators"]), recid
    dates = [(e.get("dateType"), e.text) for e in resource.iterfind(f"{KERNEL}dates/{KERNEL}date")]
    expected_dates = [("Issued", md["publication_date"])]
    expected_dates += [(d["type"]["title"]["en"], d["date"]) for d in md.get("dates", [])]
    assert dates == [*expected_dates, ("Updated", rdm["updated"][:10])], recid
    licence = md["rights"][0]
    rights = resource.findall(f"{KERNEL}rightsList/{KERNEL}rights")
    assert [(r.get("rightsIdentifier"), r.get("rightsURI"), r.text) for r in rights[:1]] == [
        (licence["id"], licence["props"]["url"], licence["title"]["en"])
    ]
    assert rights[0].get("rightsIdentifierScheme") == "spdx"
    assert [r.get("rightsURI") for r in rights[1:]] == [f"info:eu-repo/semantics/{rdm['access']['status']}Access"]
    assert related("IsPartOf") == [f"https://zenodo.org/communities/{s}/" for s in community_slugs(rdm)]
    assert texts(f"{KERNEL}subjects/{KERNEL}subject") == [s["subject"] for s in md["subjects"]]
    assert texts(f"{KERNEL}version") == [md["version"]]
    assert texts(f"{KERNEL}language") == ["eng"]
    general = resource.find(f"{KERNEL}resourceType")
    assert general is not None
    expected_type = {"dataset": ("Dataset", ""), "software": ("Software", "")}.get(
        md["resource_type"]["id"], ("Text", md["resource_type"]["title"]["en"])
    )
    assert (general.get("resourceTypeGeneral"), general.text or "") == expected_type
    found = [
        (e.text, e.get("relationType"), e.get("relatedIdentifierType"), e.get("resourceTypeGeneral"))
        for e in resource.iterfind(f"{KERNEL}relatedIdentifiers/{KERNEL}relatedIdentifier")
        if e.get("relationType") not in ("IsVersionOf", "IsPartOf")
    ]
    expected = [
        (
            r["identifier"],
            RELATIONS[r["relation_type"]["id"]],
            SCHEMES[r["scheme"]],
            GENERAL_TYPES[r["resource_type"]["id"]] if "resource_type" in r else None,
        )
        for r in md["related_identifiers"]
    ]
    assert found == expected, recid
    abstract = resource.findtext(f"{KERNEL}descriptions/{KERNEL}description[@descriptionType='Abstract']") or ""
    # the abstract is the description's text, its HTML stripped (marshmallow-utils strip_html)
    assert abstract == lxml.html.fragment_fromstring(md["description"], create_parent="div").text_content(), recid


def datacite_creators(resource: etree._Element) -> list[tuple[Any, ...]]:
    out = []
    for creator in resource.iterfind(f"{KERNEL}creators/{KERNEL}creator"):
        name = creator.find(f"{KERNEL}creatorName")
        assert name is not None
        out.append(
            (
                name.text,
                (name.get("nameType") or "").lower(),
                creator.findtext(f"{KERNEL}givenName"),
                creator.findtext(f"{KERNEL}familyName"),
                tuple(e.text for e in creator.iterfind(f"{KERNEL}nameIdentifier[@nameIdentifierScheme='ORCID']")),
                tuple(
                    (e.text, (e.get("affiliationIdentifier") or "").removeprefix("https://ror.org/") or None)
                    for e in creator.iterfind(f"{KERNEL}affiliation")
                ),
            )
        )
    return out


def rest_creators(creators: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            c["person_or_org"]["name"],
            c["person_or_org"]["type"],
            c["person_or_org"].get("given_name"),
            c["person_or_org"].get("family_name"),
            tuple(i["identifier"] for i in c["person_or_org"].get("identifiers", []) if i["scheme"] == "orcid"),
            tuple((a["name"], a.get("id")) for a in c.get("affiliations", [])),
        )
        for c in creators
    ]


def compare_dublin_core(dc: etree._Element, rdm: dict[str, Any]) -> None:
    md = rdm["metadata"]

    def texts(element: str) -> list[str]:
        return [e.text or "" for e in dc.iterfind(f"{DC}{element}")]

    doi, concept = rdm["pids"]["doi"]["identifier"], rdm["parent"]["pids"]["doi"]["identifier"]
    assert texts("identifier") == [f"https://doi.org/{doi}", f"oai:zenodo.org:{rdm['id']}"]
    relations = texts("relation")
    assert relations[-1] == f"https://doi.org/{concept}"
    communities = [f"https://zenodo.org/communities/{s}/" for s in community_slugs(rdm)]
    assert relations[-1 - len(communities) : -1] == communities
    assert relations[: -1 - len(communities)] == [
        url_of(r["identifier"], r["scheme"]) for r in md["related_identifiers"]
    ]
    assert texts("title") == [md["title"]]
    assert texts("creator") == [c["person_or_org"]["name"] for c in md["creators"]]
    assert texts("contributor") == [c["person_or_org"]["name"] for c in md.get("contributors", [])]
    access = rdm["access"]
    embargo = [f"info:eu-repo/date/embargoEnd/{access['embargo']['until']}"] if access["status"] == "embargoed" else []
    assert texts("date") == [md["publication_date"], *embargo]
    licence = md["rights"][0]
    assert texts("rights") == [
        f"info:eu-repo/semantics/{access['status']}Access",
        licence["title"]["en"],
        licence["props"]["url"],
    ]
    assert texts("subject") == [s["subject"] for s in md["subjects"]]
    assert texts("publisher") == ["Zenodo"] and texts("language") == ["eng"]
    # invenio's DublinCoreSchema escapes the description's HTML (bleach, no tags allowed): the text shows the tags
    assert texts("description") == [md["description"].replace("<", "&lt;").replace(">", "&gt;")]
    names = [etree.QName(e).localname for e in dc]
    assert names == sorted(names)  # dcxml writes the elements in alphabetical order


def url_of(identifier: str, scheme: str) -> str:
    """What idutils.to_url makes of the related identifiers the generator writes."""
    return {
        "doi": f"https://doi.org/{identifier}",
        "arxiv": f"https://arxiv.org/abs/{identifier}",  # the generator's arXiv ids carry the `arXiv:` prefix
        "url": identifier,
    }[scheme]


def test_the_sample_covers_every_kind_of_record(running: RunningSandbox, listed: dict[str, OaiRecord]) -> None:
    """The comparisons above are only as good as the variety they saw."""
    kinds: set[tuple[str | None, str | None]] = set()
    access: set[str | None] = set()
    related_kinds: set[str | None] = set()
    for record in listed.values():
        general = record.datacite.find(f"{KERNEL}resourceType")
        assert general is not None
        kinds.add((general.get("resourceTypeGeneral"), general.text))
        access.update(r.get("rightsURI") for r in record.datacite.iterfind(f"{KERNEL}rightsList/{KERNEL}rights"))
        related_kinds.update(r.get("relationType") for r in record.datacite.iterfind(f".//{KERNEL}relatedIdentifier"))
    assert kinds == {("Dataset", None), ("Software", None), ("Text", "Technical note")}
    assert {f"info:eu-repo/semantics/{s}Access" for s in ("open", "embargoed", "restricted")} <= access
    assert {"IsSupplementTo", "References", "IsNewVersionOf", "IsDocumentedBy", "IsVersionOf", "IsPartOf"} <= (
        related_kinds
    )


# -- listings select what the REST search selects --------------------------------------------------------------


@pytest.mark.parametrize(
    ("set_spec", "rest_filter", "start", "hours"),
    [
        ("user-escape2020", {"communities": "escape2020"}, "2018-01-10T06:00:00Z", 48),
        ("user-neutrino-astronomy", {"communities": "neutrino-astronomy"}, "2018-01-20T00:00:00Z", 30),
        ("openaire_data", {"type": "dataset"}, "2018-01-25T12:00:00Z", 12),
        ("software", {"type": "software"}, "2018-01-05T00:00:00Z", 72),
        (None, {}, "2018-02-01T00:00:00Z", 9),
    ],
)
def test_set_and_range_listings_are_the_rest_search_filtered_the_same_way(
    running: RunningSandbox, set_spec: str | None, rest_filter: dict[str, str], start: str, hours: int
) -> None:
    lower = datetime.fromisoformat(start.replace("Z", "+00:00"))
    upper = lower + timedelta(hours=hours) - timedelta(seconds=1)
    params = {"metadataPrefix": "oai_dc", "from": stamp(lower), "until": stamp(upper)}
    if set_spec:
        params["set"] = set_spec
    roots = list(oai_walk(running, "ListIdentifiers", **params))
    listed = [h.findtext(f"{OAI}identifier") for root in roots for h in root.iter(f"{OAI}header")]
    size = roots[0].find(f".//{OAI}resumptionToken")
    assert size is not None and int(size.get("completeListSize", "-1")) == len(listed)
    # an OAI datestamp is `updated` cut to the second: `until` U holds every record updated before U + 1 s
    window = f'updated:["{lower.isoformat()}" TO "{(upper + timedelta(seconds=1)).isoformat()}"}}'
    hits = rest_search(running, q=window, sort="updated-asc", **rest_filter)
    assert listed == [h["pids"]["oai"]["identifier"] for h in hits]
    assert len(listed) > 20


def test_type_and_community_set_sizes_over_the_whole_base_are_those_of_the_rest_facets(
    running: RunningSandbox,
) -> None:
    """completeListSize of a whole set (counted by arithmetic) equals the REST search's total for the same filter."""
    for set_spec, rest_filter in (
        ("openaire_data", {"type": "dataset"}),
        ("software", {"type": "software"}),
        ("user-astroparticle-open-data", {"communities": "astroparticle-open-data"}),
    ):
        root = oai(running, verb="ListIdentifiers", metadataPrefix="oai_dc", set=set_spec)
        token = root.find(f".//{OAI}resumptionToken")
        assert token is not None
        query = {"all_versions": "true", "size": "1", **rest_filter}
        response = httpx.get(f"{running.urls['zenodo']}/api/records", params=query, headers=RDM_JSON, timeout=60)
        assert int(token.get("completeListSize", "-1")) == response.json()["hits"]["total"] > 0, set_spec


# -- versions and concept DOIs --------------------------------------------------------------------------------


def test_versions_of_one_family_share_one_concept_doi_that_is_no_records_doi(
    running: RunningSandbox, base: GeneratedZenodoBase, listed: dict[str, OaiRecord]
) -> None:
    first = [listed[base.native_id(i)] for i in range(LISTED)]
    doi_of = {r.identifier: r.datacite.findtext(f"{KERNEL}identifier") or "" for r in first}
    families: dict[str, list[str]] = defaultdict(list)
    for record in first:
        concepts = [
            e.text or ""
            for e in record.datacite.iterfind(f"{KERNEL}relatedIdentifiers/{KERNEL}relatedIdentifier")
            if e.get("relationType") == "IsVersionOf"
        ]
        assert len(concepts) == 1, record.identifier
        families[concepts[0]].append(doi_of[record.identifier])
    every_doi = {r.datacite.findtext(f"{KERNEL}identifier") for r in listed.values()}
    assert not set(families) & every_doi
    sizes = [len(v) for v in families.values()]
    assert max(sizes) > 1 and min(sizes) == 1 and sum(sizes) == LISTED
    assert len(families) < LISTED * 3 // 4  # most records share their concept with another version
    for concept, dois in list(families.items())[:: max(1, len(families) // 60)]:
        concept_recid = concept.removeprefix("10.5281/zenodo.")
        some_version = dois[0].removeprefix("10.5281/zenodo.")
        versions = httpx.get(
            f"{running.urls['zenodo']}/api/records/{some_version}/versions",
            params={"size": "25"},
            headers=RDM_JSON,
            timeout=60,
        ).json()["hits"]["hits"]
        assert sorted(v["pids"]["doi"]["identifier"] for v in versions) == sorted(dois), concept
        assert {v["parent"]["pids"]["doi"]["identifier"] for v in versions} == {concept}
        latest = httpx.get(f"{running.urls['zenodo']}/api/records/{concept_recid}", headers=RDM_JSON, timeout=60)
        assert latest.status_code == 302
        assert latest.headers["location"].endswith(f"/api/records/{max(dois).removeprefix('10.5281/zenodo.')}")
        # the concept's record id is no OAI record, as on Zenodo (the REST API redirects it to the latest version)
        missing = httpx.get(
            running.urls["oai"] + "/oai2d",
            params={"verb": "GetRecord", "identifier": f"oai:zenodo.org:{concept_recid}", "metadataPrefix": "oai_dc"},
            timeout=60,
        )
        assert missing.status_code == 422 and b'code="idDoesNotExist"' in missing.content


def test_families_repeat_with_the_rest_generators_period(base: GeneratedZenodoBase) -> None:
    """Set membership by residue is only right if the REST patterns repeat every PERIOD records."""
    assert PERIOD % FAMILY_BLOCK == 0
    for index in (3, 517, PERIOD - 1):
        for later in (index + PERIOD, index + 7 * PERIOD):
            assert base.sets_of(index) == base.sets_of(later)
            assert base.record(later)["sets"] == list(base.sets_of(later))


# -- valid bodies ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def body_schemas(standards: Path) -> dict[str, etree.XMLSchema]:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(LocalSchemas(standards))
    schemas = {
        version: etree.XMLSchema(etree.parse(str(standards / "datacite" / version / "metadata.xsd"), parser))
        for version in ("kernel-4.5", "kernel-4.6")
    }
    schemas["oai_dc"] = etree.XMLSchema(etree.parse(str(standards / "oai-pmh" / "oai_dc.xsd"), parser))
    return schemas


def test_datacite_bodies_are_valid_kernel_4_and_oai_dc_bodies_valid_oai_dc(
    listed: dict[str, OaiRecord], body_schemas: dict[str, etree.XMLSchema]
) -> None:
    invalid = []
    for identifier, record in listed.items():
        for name, body in (("kernel-4.5", record.datacite), ("kernel-4.6", record.datacite), ("oai_dc", record.dc)):
            schema = body_schemas[name]
            if not schema.validate(etree.ElementTree(body)):
                invalid.append((identifier, name, str(schema.error_log.last_error)))
    assert invalid == []
    assert len(listed) > 1_000


def test_a_broken_body_is_caught_by_the_schemas(
    listed: dict[str, OaiRecord], body_schemas: dict[str, etree.XMLSchema]
) -> None:
    """The validation above can fail: the same bodies, broken as a careless renderer would break them."""
    record = next(iter(listed.values()))
    resource = etree.fromstring(etree.tostring(record.datacite))
    kind = resource.find(f"{KERNEL}resourceType")
    assert kind is not None
    kind.set("resourceTypeGeneral", "Data set")
    assert not body_schemas["kernel-4.5"].validate(etree.ElementTree(resource))
    dc = etree.fromstring(etree.tostring(record.dc))
    etree.SubElement(dc, f"{DC}keyword").text = "dark matter"
    assert not body_schemas["oai_dc"].validate(etree.ElementTree(dc))


# -- end to end: both harvests map to the same records ---------------------------------------------------------


def harvest(running: RunningSandbox, name: str, options: dict[str, Any]) -> dict[str, Record]:
    replica = running.replicas[name]
    connector_class = registry()[replica.kind]
    spec = SourceSpec(name=f"{name}-generated", kind=replica.kind, url=running.urls[name], options=options)
    records: dict[str, Record] = {}
    with HttpClient(Limits(requests_per_minute=None, max_retries=2), max_backoff=0.5) as http:
        for page in connector_class(spec, http).pages(HarvestState()):
            assert not page.failures, page.failures[:3]
            for raw in page.records:
                record = connector_class.map_record(raw, spec.name)
                records[identifier(record, IdentifierScheme.DOI)] = record
    return records


def identifier(record: Record, scheme: IdentifierScheme) -> str:
    values = [i.value for i in record.identifiers if i.scheme == scheme]
    assert len(values) == 1, (record.native_id, scheme, values)
    return values[0]


def test_harvests_of_both_replicas_map_to_records_with_equal_dois_and_titles() -> None:
    count, seed = 240, 5
    replicas = {"zenodo": ZenodoReplica.generated(count, seed), "zenodo-oai": ZenodoOaiReplica.generated(count, seed)}
    with start(replicas) as served:
        rest = harvest(served, "zenodo", replicas["zenodo"].source_options())
        dublin_core = harvest(served, "zenodo-oai", replicas["zenodo-oai"].source_options())
        datacite = harvest(served, "zenodo-oai", {"profile": "zenodo", "metadata_prefix": "oai_datacite"})
    assert replicas["zenodo-oai"].source_options() == {"profile": "zenodo", "metadata_prefix": "oai_dc"}
    assert len(rest) == count
    assert set(rest) == set(dublin_core) == set(datacite)
    for doi, record in rest.items():
        for other in (dublin_core[doi], datacite[doi]):
            assert other.title == record.title, doi
            assert identifier(other, IdentifierScheme.ZENODO) == identifier(record, IdentifierScheme.ZENODO)
            assert [c.name for c in other.creators] == [c.name for c in record.creators], doi
        # DataCite names the licence by its SPDX id, as the REST record does (oai_dc gives only its title and URL)
        assert record.license is not None and datacite[doi].license == record.license, doi
        concept = identifier(record, IdentifierScheme.CONCEPT_DOI)
        assert identifier(datacite[doi], IdentifierScheme.CONCEPT_DOI) == concept
        assert concept not in rest
