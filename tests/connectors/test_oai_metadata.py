"""`connectors.oai_metadata`: the OAI envelope, format dispatch, the Zenodo and CERN Open Data profiles, malformed
records, and every corpus record through the DCAT-AP 3.0.1 SHACL gate.

Inputs are real: the recorded Zenodo OAI-PMH sessions (2024 and 2026, `oai_dc` and `datacite`) split into
`<record>` elements as the connector splits them, KCDC's DataCite 4.4 drafts, DataCite's own examples, and CERN
Open Data corpus records rendered as the portal's OAI server renders them (its `oai_dc` dumper; DataCite from
dmlake's own export of the REST-mapped record).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from connectors.base import Connector, HarvestState, MappingError, Page, RawRecord
from connectors.cernopendata_mapper import map_cern_record
from connectors.oai_metadata import OaiRecord, map_oai_record, parse_oai_record, profile_of
from ontology import IdentifierScheme, Record, datacite, shacl
from ontology.model import Provenance

OAI = "{http://www.openarchives.org/OAI/2.0/}"


class OaiTestConnector(Connector):
    """Stands in for `OaiPmhConnector` as the `connector` argument: only its kind and mapping version are read."""

    kind = "oaipmh"
    mapping_version = "oai-test"
    default_url = "https://example.org/oai"

    def pages(self, state: HarvestState) -> list[Page]:  # type: ignore[override]
        return []

    @classmethod
    def map_record(cls, raw: RawRecord, source: str) -> Record:
        raise NotImplementedError


@dataclass(frozen=True)
class CorpusRecord:
    file: str
    identifier: str
    datestamp: str | None
    deleted: bool
    format: str
    """`oai_dc`, `datacite` or `none` (deleted records)."""
    payload: bytes

    def raw(self, profile: str = "zenodo") -> RawRecord:
        return RawRecord(
            native_id=self.identifier,
            payload=self.payload,
            media_type=f"application/xml; oai-profile={profile}",
            url=f"https://zenodo.org/oai2d?verb=GetRecord&identifier={self.identifier}&metadataPrefix={self.format}",
            source_updated=self.datestamp,
        )


def zenodo_oai_records(corpus: Path) -> list[CorpusRecord]:
    out = []
    for path in sorted((corpus / "zenodo" / "oai" / "extracted").glob("*.xml")):
        try:
            tree = etree.parse(str(path))
        except etree.XMLSyntaxError:
            continue
        for element in tree.iter(f"{OAI}record"):
            header = element.find(f"{OAI}header")
            assert header is not None
            metadata = element.find(f"{OAI}metadata")
            namespace = etree.QName(metadata[0]).namespace if metadata is not None and len(metadata) else None
            out.append(
                CorpusRecord(
                    file=path.name,
                    identifier=header.findtext(f"{OAI}identifier") or "",
                    datestamp=header.findtext(f"{OAI}datestamp"),
                    deleted=header.get("status") == "deleted",
                    format="none" if namespace is None else "oai_dc" if "oai_dc" in namespace else "datacite",
                    payload=etree.tostring(element, encoding="UTF-8", xml_declaration=True),
                )
            )
    return out


def wrap_record(metadata: bytes, identifier: str, sets: tuple[str, ...] = (), datestamp: str = "2024-01-01") -> bytes:
    """A bare metadata document (a DataCite resource, an oai_dc record) inside an OAI `<record>`."""
    inner = etree.fromstring(metadata)
    record = etree.Element(f"{OAI}record", nsmap={None: OAI[1:-1]})
    header = etree.SubElement(record, f"{OAI}header")
    etree.SubElement(header, f"{OAI}identifier").text = identifier
    etree.SubElement(header, f"{OAI}datestamp").text = datestamp
    for spec in sets:
        etree.SubElement(header, f"{OAI}setSpec").text = spec
    etree.SubElement(record, f"{OAI}metadata").append(inner)
    return etree.tostring(record, encoding="UTF-8", xml_declaration=True)


def raw_record(payload: bytes, identifier: str, profile: str = "generic") -> RawRecord:
    return RawRecord(identifier, payload, f"application/xml; oai-profile={profile}", "https://example.org/oai")


DC = "http://purl.org/dc/elements/1.1/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"


@pytest.fixture(scope="module")
def zenodo(corpus: Path) -> list:
    return zenodo_oai_records(corpus)


def _map(raw: RawRecord, source: str = "zenodo-oai") -> Record:
    return map_oai_record(raw, source, OaiTestConnector)


# --------------------------------------------------------------------------------------------------------------------
# envelope and dispatch


def test_every_recorded_record_is_read_and_deleted_headers_are_not_mapped(zenodo: list) -> None:
    assert len({r.identifier for r in zenodo}) >= 200
    deleted = [r for r in zenodo if r.deleted]
    assert deleted, "the recordings contain deleted headers (Zenodo sends them although Identify says deletedRecord=no)"
    for record in zenodo:
        parsed = parse_oai_record(record.payload)
        assert isinstance(parsed, OaiRecord)
        assert parsed.identifier == record.identifier
        assert parsed.datestamp == record.datestamp
        assert parsed.deleted == record.deleted
        if not record.deleted:
            assert parsed.metadata is not None
    # Zenodo's 2024 ListRecords sent deleted headers *with* their metadata: still deletions, never mapped
    assert any(parse_oai_record(r.payload).metadata is not None for r in deleted)
    for record in deleted:
        with pytest.raises(MappingError) as error:
            _map(record.raw())
        assert error.value.field == "header.status"


def test_set_specs_are_read(zenodo: list) -> None:
    record = next(r for r in zenodo if r.file.startswith("scythe-2026__get_record__02"))
    assert parse_oai_record(record.payload).set_specs == ("software", "user-rdmo")


def test_profile_comes_from_the_media_type() -> None:
    assert profile_of("application/xml; oai-profile=zenodo") == "zenodo"
    assert profile_of('application/xml;oai-profile="cernopendata"') == "cernopendata"
    assert profile_of("application/xml") == "generic"
    with pytest.raises(MappingError) as error:
        profile_of("application/xml; oai-profile=arxiv")
    assert error.value.field == "media_type"


def test_every_zenodo_record_maps_in_both_profiles(zenodo: list) -> None:
    live = [r for r in zenodo if not r.deleted]
    assert {r.format for r in live} == {"oai_dc", "datacite"}
    for record in live:
        for profile in ("zenodo", "generic"):
            mapped = _map(record.raw(profile))
            assert mapped.native_id == record.identifier
            assert mapped.title
            assert mapped.identifier(IdentifierScheme.OAI) == record.identifier
            assert mapped.provenance.source_kind == "oaipmh"


def test_oai_datacite_envelope_gives_the_same_record_as_the_bare_kernel(zenodo: list) -> None:
    """No oai_datacite response was recorded (corpus gap): wrap a recorded kernel resource the way invenio does."""
    for record in [r for r in zenodo if r.format == "datacite"][:20]:
        tree = etree.fromstring(record.payload)
        resource = tree.find(".//{http://datacite.org/schema/kernel-4}resource")
        envelope = etree.Element("{http://schema.datacite.org/oai/oai-1.1/}oai_datacite")
        etree.SubElement(envelope, "{http://schema.datacite.org/oai/oai-1.1/}schemaVersion").text = "4.5"
        etree.SubElement(envelope, "{http://schema.datacite.org/oai/oai-1.1/}datacentreSymbol").text = "CERN.ZENODO"
        payload = etree.SubElement(envelope, "{http://schema.datacite.org/oai/oai-1.1/}payload")
        payload.append(resource)
        sets = parse_oai_record(record.payload).set_specs
        wrapped = wrap_record(etree.tostring(envelope), record.identifier, sets, record.datestamp or "2024")
        bare = _map(record.raw())
        enveloped = _map(raw_record(wrapped, record.identifier, "zenodo"))
        assert enveloped.content_dict() | {"provenance": None} == bare.content_dict() | {"provenance": None}


# --------------------------------------------------------------------------------------------------------------------
# Zenodo profile


def test_zenodo_profile_reads_ids_concept_doi_communities_and_types(zenodo: list) -> None:
    datacite_2026 = next(r for r in zenodo if r.file.startswith("scythe-2026__get_record__01"))
    record = _map(datacite_2026.raw())
    assert record.identifier(IdentifierScheme.ZENODO) == "10357859"
    assert record.doi == "10.5281/zenodo.10357859"
    assert record.identifier(IdentifierScheme.CONCEPT_DOI) == "10.5281/zenodo.596581"
    assert [i.value for i in record.is_version_of] == ["10.5281/zenodo.596581"]
    assert [i.value for i in record.is_part_of] == [
        "https://zenodo.org/communities/rdmo"
    ]  # set spec and relation, once
    assert [i.value for i in record.is_supplement_to] == ["https://github.com/rdmorganiser/rdmo/tree/2.1.0"]
    assert record.resource_type is not None and record.resource_type.raw == "software"
    assert record.resource_type.uri == "https://schema.org/SoftwareSourceCode"
    assert [c.label for c in record.resource_categories] == ["software"]
    assert record.landing_page == "https://zenodo.org/records/10357859"
    assert record.version == "2.1.0"
    assert record.license is not None and record.license.uri == "http://spdx.org/licenses/Apache-2.0"
    assert record.access_rights == "open"

    dc_2026 = next(r for r in zenodo if r.file.startswith("scythe-2026__get_record__02"))
    from_dc = _map(dc_2026.raw())
    assert from_dc.resource_type is not None and from_dc.resource_type.raw == "software"  # from the `software` set
    assert from_dc.license == record.license.model_copy(update={"raw": from_dc.license.raw})  # type: ignore[union-attr]
    assert [i.value for i in from_dc.is_part_of] == ["https://zenodo.org/communities/rdmo"]
    for field in ("title", "issued", "landing_page", "doi"):
        assert getattr(from_dc, field) == getattr(record, field), field
    assert [c.name for c in from_dc.creators] == [c.name for c in record.creators]


def test_zenodo_communities_from_every_user_set(zenodo: list) -> None:
    checked = 0
    for record in (r for r in zenodo if not r.deleted):
        sets = parse_oai_record(record.payload).set_specs
        mapped = _map(record.raw())
        parts = {i.value for i in mapped.is_part_of}
        for spec in sets:
            if spec.startswith("user-"):
                assert f"https://zenodo.org/communities/{spec[5:]}" in parts
                checked += 1
        assert not any("zenodo.org/communities/" in link for link in mapped.related_links)
    assert checked >= 20


def test_zenodo_profile_rejects_ids_of_other_repositories(zenodo: list) -> None:
    record = next(r for r in zenodo if r.format == "oai_dc" and not r.deleted)
    payload = record.payload.replace(record.identifier.encode(), b"oai:example.org:42")
    with pytest.raises(MappingError) as error:
        _map(raw_record(payload, "oai:example.org:42", "zenodo"))
    assert error.value.field == "header.identifier"


# --------------------------------------------------------------------------------------------------------------------
# CERN Open Data profile: the portal's oai_dc dumper, and DataCite as dmlake exports the REST-mapped record


def _cern_records(corpus: Path, step: int = 25) -> list[dict]:
    records: list[dict] = []
    for path in sorted((corpus / "cernopendata" / "records").glob("*.json")):
        records += json.loads(path.read_text(encoding="utf-8"))
    return records[::step]


def _portal_oai_dc(metadata: dict, oai_id: str) -> bytes:
    """What cernopendata-portal's `serializers/dublincore.py` `dumps_etree` serves for a record."""
    root = etree.Element(f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC})

    def add(name: str, value: str) -> None:
        etree.SubElement(root, f"{{{DC}}}{name}").text = value

    add("title", metadata["title"])
    if metadata.get("collaboration", {}).get("name"):
        add("creator", metadata["collaboration"]["name"])
    if metadata.get("date_published"):
        add("date", metadata["date_published"])
    add("type", metadata["type"]["primary"])
    add("identifier", oai_id)
    add("publisher", "CERN Open Data")
    for fmt in metadata.get("distribution", {}).get("formats", []):
        add("format", fmt)
    if metadata.get("abstract", {}).get("description"):
        add("description", metadata["abstract"]["description"])
    return etree.tostring(root)


def _rest_record(metadata: dict) -> Record:
    payload = json.dumps({"id": metadata["recid"], "metadata": metadata}).encode()
    provenance = Provenance(source="cern", source_kind="cernopendata", raw_sha256="0" * 64, mapping_version="t")
    return map_cern_record(payload, "cernopendata", provenance)


def test_cern_profile_agrees_with_the_rest_mapping(corpus: Path) -> None:
    sample = _cern_records(corpus)
    assert len(sample) > 200
    with_collision = 0
    for metadata in sample:
        rest = _rest_record(metadata)
        oai_id = f"oai:cernopendata.cern:{rest.native_id}"
        from_dc = _map(raw_record(wrap_record(_portal_oai_dc(metadata, oai_id), oai_id), oai_id, "cernopendata"))
        from_datacite = _map(
            raw_record(wrap_record(datacite.to_xml(rest), oai_id), oai_id, "cernopendata"), "cernopendata-oai"
        )
        for mapped in (from_dc, from_datacite):
            assert mapped.identifier(IdentifierScheme.CERN_RECID) == rest.native_id
            assert mapped.landing_page == rest.landing_page
            assert mapped.title == rest.title
            if mapped is from_datacite or metadata.get("collaboration", {}).get("name"):
                # the portal's oai_dc names experiments only through the collaboration (its creator)
                assert {e.uri for e in mapped.experiments} >= {e.uri for e in rest.experiments if e.uri}
            assert mapped.resource_type is not None and rest.resource_type is not None
            assert mapped.resource_type.uri == rest.resource_type.uri
            if mapped.experiments:
                assert {m.uri for m in mapped.messengers} >= {m.uri for m in rest.messengers}
        assert from_dc.formats == rest.formats
        assert from_dc.issued == rest.issued
        assert [c.uri for c in from_dc.collaboration] == [c.uri for c in rest.collaboration]
        # oai_dc carries only the primary type; dmlake's DataCite carries the categories as vocabulary subjects
        rest_categories = {c.uri for c in rest.resource_categories if c.uri}
        assert {c.uri for c in from_datacite.resource_categories} >= rest_categories
        if not metadata["type"].get("secondary"):
            assert {c.uri for c in from_dc.resource_categories if c.uri} == rest_categories
        assert from_datacite.doi == rest.doi
        assert from_datacite.accelerator == rest.accelerator or (
            from_datacite.accelerator is not None
            and rest.accelerator is not None
            and from_datacite.accelerator.uri == rest.accelerator.uri
        )
        if rest.collision is not None:
            assert from_datacite.collision is not None
            if rest.collision.type is not None and rest.collision.type.uri:
                assert from_datacite.collision.type is not None
                assert from_datacite.collision.type.uri == rest.collision.type.uri
            if rest.collision.sqrt_s is not None:
                with_collision += 1
                assert from_datacite.collision.sqrt_s is not None
                assert from_datacite.collision.sqrt_s.value == rest.collision.sqrt_s.value
                assert from_datacite.collision.sqrt_s.unit == rest.collision.sqrt_s.unit
        if rest.number_of_events is not None:
            assert from_datacite.number_of_events == rest.number_of_events
    assert with_collision > 50


def test_cern_profile_reads_both_oai_id_forms() -> None:
    dc = b'<oai_dc:dc xmlns:oai_dc="%s" xmlns:dc="%s"><dc:title>T</dc:title></oai_dc:dc>' % (
        OAI_DC.encode(),
        DC.encode(),
    )
    for oai_id in ("oai:cernopendata.cern:84000", "oai:opendata.cern.ch:recid/84000"):
        mapped = _map(raw_record(wrap_record(dc, oai_id), oai_id, "cernopendata"))
        assert mapped.identifier(IdentifierScheme.CERN_RECID) == "84000"
    with pytest.raises(MappingError) as error:
        _map(raw_record(wrap_record(dc, "oai:cernopendata.cern:abc"), "oai:cernopendata.cern:abc", "cernopendata"))
    assert error.value.field == "header.identifier"


# --------------------------------------------------------------------------------------------------------------------
# malformed records


_DC_RECORD = (
    b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"%s</oai_dc:dc>"
)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"not xml at all <", "payload"),
        (b"<record/>", "record"),
        (b'<record xmlns="http://www.openarchives.org/OAI/2.0/"><metadata/></record>', "header"),
        (
            b'<record xmlns="http://www.openarchives.org/OAI/2.0/"><header><datestamp>2024-01-01</datestamp>'
            b"</header></record>",
            "header.identifier",
        ),
        (wrap_record(_DC_RECORD % b"<dc:creator>X</dc:creator>", "oai:x:1"), "dc:title"),
        (wrap_record(b'<mods xmlns="http://www.loc.gov/mods/v3"/>', "oai:x:1"), "metadata"),
        (
            wrap_record(b'<oai_datacite xmlns="http://schema.datacite.org/oai/oai-1.1/"/>', "oai:x:1"),
            "oai_datacite.payload",
        ),
        (
            wrap_record(
                b'<resource xmlns="http://datacite.org/schema/kernel-4"><identifier identifierType="DOI">'
                b"10.1234/x</identifier><creators><creator><creatorName>A</creatorName></creator></creators>"
                b"</resource>",
                "oai:x:1",
            ),
            "resource.titles",
        ),
        (
            wrap_record(
                b'<resource xmlns="http://datacite.org/schema/kernel-4"><identifier identifierType="DOI">'
                b"not-a-doi</identifier><titles><title>T</title></titles></resource>",
                "oai:x:1",
            ),
            "resource.identifier",
        ),
        (
            wrap_record(
                b'<resource xmlns="http://datacite.org/schema/kernel-4"><titles><title>T</title></titles>'
                b'<dates><date dateType="Issued">last spring</date></dates></resource>',
                "oai:x:1",
            ),
            "resource.dates[0]",
        ),
        (
            wrap_record(
                b'<resource xmlns="http://datacite.org/schema/kernel-4"><titles><title>T</title></titles>'
                b'<creators><creator><creatorName>Doe, J</creatorName><nameIdentifier nameIdentifierScheme="ORCID">'
                b"xyz789</nameIdentifier></creator></creators></resource>",
                "oai:x:1",
            ),
            "resource.creators[0].nameIdentifier[0]",
        ),
        (
            wrap_record(
                b'<resource xmlns="http://datacite.org/schema/kernel-4"><titles><title>T</title></titles>'
                b"<creators><creator><nameIdentifier>1</nameIdentifier></creator></creators></resource>",
                "oai:x:1",
            ),
            "resource.creators[0].creatorName",
        ),
        (
            wrap_record(
                b'<resource xmlns="http://datacite.org/schema/kernel-4"><titles><title>T</title></titles>'
                b"<geoLocations><geoLocation><geoLocationPoint><pointLatitude>north</pointLatitude>"
                b"<pointLongitude>1</pointLongitude></geoLocationPoint></geoLocation></geoLocations></resource>",
                "oai:x:1",
            ),
            "resource.geoLocations[0].geoLocationPoint.pointLatitude",
        ),
        (
            wrap_record(
                b'<resource xmlns="http://datacite.org/schema/kernel-4"><titles><title>T</title></titles>'
                b"<fundingReferences><fundingReference><awardNumber>1</awardNumber></fundingReference>"
                b"</fundingReferences></resource>",
                "oai:x:1",
            ),
            "resource.fundingReferences[0].funderName",
        ),
    ],
)
def test_malformed_records_name_the_field(payload: bytes, field: str) -> None:
    with pytest.raises(MappingError) as error:
        _map(raw_record(payload, "oai:x:1"))
    assert error.value.field == field, str(error.value)


def test_a_payload_listed_under_another_identifier_is_refused(zenodo: list) -> None:
    record = next(r for r in zenodo if not r.deleted)
    with pytest.raises(MappingError) as error:
        _map(RawRecord("oai:zenodo.org:1", record.payload, "application/xml; oai-profile=zenodo", "u"))
    assert error.value.field == "header.identifier"


@pytest.mark.parametrize("profile", ["zenodo", "generic"])
def test_an_invalid_datestamp_standing_in_for_modified_is_named_as_the_header_field(profile: str) -> None:
    """Without a date of change in the metadata the header's datestamp becomes `modified`: an invalid one is the
    header's field, not the model's."""
    resource = (
        b'<resource xmlns="http://datacite.org/schema/kernel-4"><identifier identifierType="DOI">10.5281/zenodo.1'
        b"</identifier><creators><creator><creatorName>Doe, Jane</creatorName></creator></creators><titles><title>"
        b"T</title></titles><publisher>Zenodo</publisher><publicationYear>2020</publicationYear></resource>"
    )
    payload = wrap_record(resource, "oai:zenodo.org:1", datestamp="yesterday")
    with pytest.raises(MappingError) as error:
        _map(raw_record(payload, "oai:zenodo.org:1", profile))
    assert error.value.field == "header.datestamp"
    assert error.value.message.startswith("oai:zenodo.org:1: 'yesterday' is not an ISO 8601 date")


def test_xml_entities_are_not_expanded() -> None:
    payload = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<record xmlns="http://www.openarchives.org/OAI/2.0/"><header><identifier>&x;</identifier></header></record>'
    )
    with pytest.raises(MappingError) as error:
        _map(raw_record(payload, "oai:x:1"))
    assert "root:" not in str(error.value)


# --------------------------------------------------------------------------------------------------------------------
# the SHACL gate


def test_every_corpus_record_passes_the_dcat_ap_gate(zenodo: list, corpus: Path) -> None:
    records: list[Record] = []
    for record in (r for r in zenodo if not r.deleted):
        # one source per recording and format: a record captured several times is several records, not one graph
        where = f"{record.file.split('__')[0]}-{record.format}"
        records += [_map(record.raw("zenodo"), f"zenodo-{where}"), _map(record.raw("generic"), f"generic-{where}")]
    records = list({r.id: r for r in records}.values())
    for path in sorted((corpus / "kcdc" / "datacite44_drafts" / "md_xml").glob("*.xml")):
        oai_id = f"oai:kcdc:{path.stem}"
        records.append(_map(raw_record(wrap_record(path.read_bytes(), oai_id), oai_id), "kcdc-datacite"))
    for metadata in _cern_records(corpus, step=50):
        rest = _rest_record(metadata)
        oai_id = f"oai:cernopendata.cern:{rest.native_id}"
        records.append(_map(raw_record(wrap_record(_portal_oai_dc(metadata, oai_id), oai_id), oai_id, "cernopendata")))
        records.append(
            _map(raw_record(wrap_record(datacite.to_xml(rest), oai_id), oai_id, "cernopendata"), "cern-datacite")
        )
    report = shacl.validate(records, gates=("dcat-ap", "dml"))
    assert report.conforms("dcat-ap"), report.summary(examples=5)
    assert report.conforms("dml"), report.summary(examples=5)
    assert len(records) > 700
