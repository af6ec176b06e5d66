"""The DCAT-AP 3 / PROV-O / dml: RDF view: every model field becomes the expected triples."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from ontology import rdf
from ontology.model import (
    Agent,
    Checksum,
    Collision,
    Concept,
    Distribution,
    EnergyRange,
    Identifier,
    IdentifierScheme,
    Quantity,
    Record,
    SelectedQuantity,
    TemporalCoverage,
)
from ontology.summary import GENERATED_MARK
from ontology.terms import ADMS, DCAT, DCT, DML, FOAF, ORG, OWL, PROV, QUDT, RDF, RDFS, SKOS, SPDX, XSD

RECORD = URIRef("https://w3id.org/dmlake/record/cernopendata/12345")
VOCAB = "https://w3id.org/dmlake/vocab/"
QUDT_UNIT = "http://qudt.org/vocab/unit/"
DMLU = "https://w3id.org/dmlake/unit/"


def local(name: str) -> URIRef:
    return URIRef(f"{RECORD}#{name}")


@pytest.fixture
def g(full: Record) -> Graph:
    return rdf.graph(full)


def one(graph: Graph, subject: URIRef | BNode, predicate: URIRef) -> object:
    values = list(graph.objects(subject, predicate))
    assert len(values) == 1, f"{subject} {predicate}: {values}"
    return values[0]


def test_the_dataset_is_named_by_the_record_id_and_carries_title_description_and_identifiers(g: Graph) -> None:
    assert (RECORD, RDF.type, DCAT.Dataset) in g
    assert one(g, RECORD, DCT.title) == Literal("DoubleMuon primary dataset in AOD format from RunB of 2011")
    assert str(one(g, RECORD, DCT.description)).startswith("Muon pairs recorded by CMS in 2011")
    assert set(g.objects(RECORD, DCT.identifier)) == {Literal(str(RECORD)), Literal("10.7483/OPENDATA.CMS.ABCD.1234")}
    notations = {one(g, i, SKOS.notation): g.value(i, ADMS.schemaAgency) for i in g.objects(RECORD, ADMS.identifier)}
    assert notations == {
        Literal("10.7483/OPENDATA.CMS.ABCD.1234", datatype=DML.doi): Literal("DataCite"),
        Literal("12345", datatype=DML.cernRecid): Literal("CERN Open Data"),
        Literal("1234567", datatype=DML.inspireRecord): Literal("INSPIRE-HEP"),
        Literal("oai:cernopendata.cern:12345", datatype=DML.oaiIdentifier): None,
    }
    assert all((i, RDF.type, ADMS.Identifier) in g for i in g.objects(RECORD, ADMS.identifier))
    assert one(g, RECORD, DCAT.version) == Literal("2.0")
    page = URIRef("https://opendata.cern.ch/record/12345")
    assert one(g, RECORD, DCAT.landingPage) == page and (page, RDF.type, FOAF.Document) in g


def test_creators_contributors_and_publisher_are_typed_agents_with_orcid_and_ror_iris(g: Graph) -> None:
    jane = URIRef("https://orcid.org/0000-0002-1825-0097")
    cern = URIRef("https://ror.org/01ggx4157")
    assert set(g.objects(RECORD, DCT.creator)) == {jane, local("creator-2")}
    assert {(jane, RDF.type, FOAF.Agent), (jane, RDF.type, FOAF.Person)} <= set(g)
    assert one(g, jane, FOAF.givenName) == Literal("Jane") and one(g, jane, FOAF.familyName) == Literal("Doe")
    assert one(g, jane, ORG.memberOf) == cern and (cern, FOAF.name, Literal("CERN")) in g
    assert (local("creator-2"), RDF.type, FOAF.Organization) in g
    assert one(g, local("creator-2"), FOAF.name) == Literal("CMS Collaboration")
    assert one(g, RECORD, DCT.contributor) == local("contributor-1")
    # the publisher's ROR IRI is also an affiliation: it is still described as a foaf:Agent (DCAT-AP's range)
    assert one(g, RECORD, DCT.publisher) == cern
    assert (cern, RDF.type, FOAF.Agent) in g and (cern, FOAF.name, Literal("CERN Open Data Portal")) in g


def test_vocabulary_values_are_concepts_with_their_scheme_and_themes_take_only_iris(g: Graph) -> None:
    cms = URIRef(VOCAB + "experiment/CMS")
    assert one(g, RECORD, DML.experiment) == cms and one(g, RECORD, DML.collaboration) == cms
    assert one(g, cms, SKOS.inScheme) == URIRef(VOCAB + "experiment")
    assert one(g, cms, SKOS.prefLabel) == Literal("CMS", lang="en") and (cms, RDF.type, SKOS.Concept) in g
    expected = {
        DML.messenger: "messenger/collider",
        DML.detectionTechnique: "technique/collider-detector",
        DML.target: "target/Xe",
        DML.dataLevel: "data-level/3",
        DML.accelerator: "accelerator/CERN-LHC",
        DML.collisionType: "collision-type/pp",
    }
    for prop, concept in expected.items():
        assert one(g, RECORD, prop) == URIRef(VOCAB + concept)
    themes = set(g.objects(RECORD, DCAT.theme))
    assert themes == {
        URIRef("http://publications.europa.eu/resource/authority/data-theme/TECH"),
        URIRef(VOCAB + "messenger/collider"),
        URIRef(VOCAB + "technique/collider-detector"),
        URIRef(VOCAB + "resource-category/event-data"),
    }
    unmapped = [c for c in g.objects(RECORD, DML.resourceCategory) if isinstance(c, BNode)]
    assert len(unmapped) == 1
    assert one(g, unmapped[0], SKOS.prefLabel) == Literal("collision data")
    assert one(g, unmapped[0], SKOS.inScheme) == URIRef(VOCAB + "unmapped")
    assert {str(one(g, o, SKOS.prefLabel)) for o in g.objects(RECORD, DML.observable)} == {"invariant mass"}
    assert {str(one(g, s, SKOS.prefLabel)) for s in g.objects(RECORD, DCT.subject)} == {"Particle physics"}
    resource_type = one(g, RECORD, DCT.type)
    assert (resource_type, RDF.type, SKOS.Concept) in g and one(g, resource_type, SKOS.prefLabel) == Literal(
        "Dataset / Collision"
    )
    assert set(g.objects(RECORD, DCAT.keyword)) == {Literal("muon"), Literal("dimuon")}


def test_licence_access_rights_and_language_point_into_spdx_and_the_eu_tables(g: Graph) -> None:
    licence = URIRef("http://spdx.org/licenses/CC0-1.0")
    assert one(g, RECORD, DCT.license) == licence
    assert (licence, RDF.type, DCT.LicenseDocument) in g
    assert one(g, licence, DCT.type) == URIRef("http://purl.org/adms/licencetype/PublicDomain")
    public = URIRef("http://publications.europa.eu/resource/authority/access-right/PUBLIC")
    assert one(g, RECORD, DCT.accessRights) == public and (public, RDF.type, DCT.RightsStatement) in g
    english = URIRef("http://publications.europa.eu/resource/authority/language/ENG")
    assert one(g, RECORD, DCT.language) == english and (english, RDF.type, DCT.LinguisticSystem) in g


@pytest.mark.parametrize(
    ("value", "lexical", "datatype"),
    [
        ("2011", "2011", XSD.gYear),
        ("2011-05", "2011-05", XSD.gYearMonth),
        ("2011-05-17", "2011-05-17", XSD.date),
        ("2011-05-17T10:00Z", "2011-05-17T10:00:00Z", XSD.dateTime),
        ("2011-05-17T10:00:30.5+0100", "2011-05-17T10:00:30.5+01:00", XSD.dateTime),
        ("2011-05-17T10:00:30", "2011-05-17T10:00:30", XSD.dateTime),
    ],
)
def test_dates_carry_the_xsd_type_of_their_precision(value: str, lexical: str, datatype: URIRef) -> None:
    literal = rdf.date_literal(value)
    assert literal == Literal(lexical, datatype=datatype)  # rdflib normalises both lexical forms alike
    assert literal.datatype == datatype and literal.ill_typed is not True


def test_issued_modified_created_and_the_temporal_coverage(g: Graph) -> None:
    assert one(g, RECORD, DCT.issued) == Literal("2016-04", datatype=XSD.gYearMonth)
    assert one(g, RECORD, DCT.modified) == Literal("2021-06-01T10:00:00Z", datatype=XSD.dateTime)
    assert one(g, RECORD, DCT.created) == Literal("2011", datatype=XSD.gYear)
    period = one(g, RECORD, DCT.temporal)
    assert (period, RDF.type, DCT.PeriodOfTime) in g
    assert one(g, period, DCAT.startDate) == Literal("2011-03-13", datatype=XSD.date)
    assert one(g, period, DCAT.endDate) == Literal("2011-08-31", datatype=XSD.date)


def test_physics_values_are_qudt_quantities_with_unit_iris(g: Graph) -> None:
    sqrt_s = one(g, RECORD, DML.centreOfMassEnergy)
    assert (sqrt_s, RDF.type, QUDT.QuantityValue) in g
    assert one(g, sqrt_s, QUDT.numericValue) == Literal("7.0", datatype=XSD.double)
    assert one(g, sqrt_s, QUDT.unit) == URIRef(DMLU + "TeraEV")
    assert one(g, sqrt_s, DML.rawValue) == Literal("7TeV")
    energy = one(g, RECORD, DML.energyRange)
    assert (energy, RDF.type, DML.EnergyRange) in g
    assert one(g, energy, DML.minEnergy) == Literal("1.0", datatype=XSD.double)
    assert one(g, energy, DML.maxEnergy) == Literal("3500.0", datatype=XSD.double)
    assert one(g, energy, QUDT.unit) == URIRef(QUDT_UNIT + "GigaEV")
    assert one(g, one(g, RECORD, DML.exposure), QUDT.unit) == URIRef(DMLU + "TONNE-YR")
    live_time = one(g, RECORD, DML.liveTime)
    assert one(g, live_time, QUDT.unit) == URIRef(QUDT_UNIT + "DAY")
    assert one(g, live_time, QUDT.numericValue) == Literal("278.8", datatype=XSD.double)
    assert one(g, RECORD, DML.reaction) == Literal("P P --> MU+ MU- X")
    assert one(g, RECORD, DML.numberOfEvents) == Literal("29944565", datatype=XSD.nonNegativeInteger)
    assert one(g, RECORD, DML.skyCoverage) == Literal("not applicable: collider data")
    assert one(g, RECORD, DML.totalByteSize) == Literal("2147488169", datatype=XSD.nonNegativeInteger)
    assert set(g.objects(RECORD, DML.fileFormat)) == {Literal("AOD"), Literal("root")}


def test_an_unknown_unit_code_is_kept_beside_a_quantity_without_unit(full: Record) -> None:
    record = full.model_copy(update={"live_time": Quantity(value=3.0, unit="fortnights")})
    g = rdf.graph(record)
    live_time = one(g, RECORD, DML.liveTime)
    assert list(g.objects(live_time, QUDT.unit)) == []
    assert one(g, live_time, DML.unitCode) == Literal("fortnights")


def test_a_data_selection_is_a_list_of_selected_quantities_with_ranges_units_and_cuts(full: Record) -> None:
    selection = [
        SelectedQuantity(
            quantity="E0",
            description="primary energy",
            group="KASCADE",
            min=1e15,
            max=1e18,
            unit="eV",
            cut="cut",
            applied=True,
            raw="E0 | primary energy | 10^15 - 10^18 eV | cut",
        ),
        SelectedQuantity(
            quantity="Ze",
            description="zenith angle",
            group="KASCADE",
            min=0.0,
            max=90.0,
            unit="furlongs",
            cut="full range",
            raw="Ze | zenith angle | 0 - 90 | full range",
        ),
        SelectedQuantity(quantity="Date", raw="Date | 1998-2013"),
    ]
    g = rdf.graph(full.model_copy(update={"selection": selection}))
    nodes = {str(one(g, node, DCT.title)): node for node in g.objects(RECORD, DML.selection)}
    assert set(nodes) == {"E0", "Ze", "Date"}
    energy = nodes["E0"]
    assert (energy, RDF.type, DML.SelectedQuantity) in g
    assert one(g, energy, DML.minValue) == Literal("1e+15", datatype=XSD.double)
    assert one(g, energy, DML.maxValue) == Literal("1e+18", datatype=XSD.double)
    assert one(g, energy, QUDT.unit) == URIRef(QUDT_UNIT + "EV")
    assert one(g, energy, DML.selectionGroup) == Literal("KASCADE")
    assert one(g, energy, DML.cut) == Literal("cut")
    assert one(g, energy, DML.cutApplied) == Literal("true", datatype=XSD.boolean)
    assert one(g, energy, DCT.description) == Literal("primary energy")
    assert one(g, nodes["Ze"], DML.unitCode) == Literal("furlongs")
    assert one(g, nodes["Ze"], DML.cutApplied) == Literal("false", datatype=XSD.boolean)
    assert one(g, nodes["Date"], DML.rawValue) == Literal("Date | 1998-2013")
    assert list(g.objects(nodes["Date"], DML.minValue)) == []


def test_relations_point_to_resolvable_iris_or_carry_the_bare_identifier(g: Graph) -> None:
    assert one(g, RECORD, DCT.isPartOf) == URIRef("https://opendata.cern.ch/record/1")
    part = one(g, RECORD, DCT.hasPart)
    assert part == local("has-part-1")
    assert one(g, one(g, part, ADMS.identifier), SKOS.notation) == Literal(
        "cms/run2011b/part1", datatype=DML.gitlabPath
    )
    assert one(g, RECORD, DCT.isReferencedBy) == URIRef("https://arxiv.org/abs/1206.1234")
    assert one(g, RECORD, DCT.references) == URIRef("https://doi.org/10.1088/1748-0221/3/08/S08004")
    assert one(g, RECORD, DCT.isVersionOf) == URIRef("https://doi.org/10.7483/OPENDATA.CMS.ABCD")
    previous = URIRef("https://doi.org/10.7483/OPENDATA.CMS.ABCD.1233")
    assert one(g, RECORD, DCAT.previousVersion) == previous and one(g, RECORD, DCAT.prev) == previous
    assert one(g, RECORD, DCT.relation) == URIRef("https://cms-opendata-guide.web.cern.ch/")


def test_files_are_distributions_with_urls_sizes_checksums_formats_and_licence(g: Graph) -> None:
    index = local("file-CMS_Run2011B_DoubleMu_AOD_file_index.json")
    root = local("file-00A1B2C3.root")
    assert set(g.objects(RECORD, DCAT.distribution)) == {index, root}
    url = "https://opendata.cern.ch/record/12345/files/CMS_Run2011B_DoubleMu_AOD_file_index.json"
    assert one(g, index, DCAT.accessURL) == URIRef(url) and one(g, index, DCAT.downloadURL) == URIRef(url)
    assert one(g, index, DCAT.byteSize) == Literal("4521", datatype=XSD.nonNegativeInteger)
    checksum = one(g, index, SPDX.checksum)
    assert one(g, checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_adler32
    # adler32 is a 32-bit number: the source's 7 hex digits become the 8 that xsd:hexBinary needs
    assert one(g, checksum, SPDX.checksumValue) == Literal("08b2a4a8", datatype=XSD.hexBinary)
    assert one(g, index, DCT["format"]) == URIRef("http://publications.europa.eu/resource/authority/file-type/JSON")
    media = URIRef("https://www.iana.org/assignments/media-types/application/json")
    assert one(g, index, DCAT.mediaType) == media and (media, RDF.type, DCT.MediaType) in g
    assert one(g, index, DCT.description) == Literal("Index of the ROOT files")
    assert one(g, index, DML.fileRole) == Literal("index") and one(g, index, DML.availability) == Literal("online")

    assert one(g, root, DCAT.accessURL) == URIRef("https://opendata.cern.ch/record/12345")
    assert str(one(g, root, DCAT.downloadURL)).startswith("root://eospublic.cern.ch//eos/opendata/cms/")
    assert one(g, one(g, root, SPDX.checksum), SPDX.algorithm) == SPDX.checksumAlgorithm_sha1
    root_format = one(g, root, DCT["format"])
    assert (root_format, RDF.type, DCT.MediaTypeOrExtent) in g and one(g, root_format, RDFS.label) == Literal("root")
    assert list(g.objects(root, DCAT.mediaType)) == []  # ROOT has no IANA media type
    replica = one(g, root, DML.replica)
    assert (one(g, replica, DML.site), one(g, replica, DML.replicaState)) == (
        Literal("CERN-PROD"),
        Literal("AVAILABLE"),
    )
    licence = URIRef("http://spdx.org/licenses/CC0-1.0")
    assert one(g, index, DCT.license) == licence and one(g, root, DCT.license) == licence
    assert one(g, one(g, root, ADMS.identifier), SKOS.notation) == Literal("file-guid-1", datatype=DML.otherIdentifier)


def test_a_file_without_url_is_reached_through_the_landing_page(full: Record) -> None:
    record = full.model_copy(update={"distributions": [Distribution(name="notes.txt")]})
    g = rdf.graph(record)
    notes = local("file-notes.txt")
    assert one(g, notes, DCAT.accessURL) == URIRef("https://opendata.cern.ch/record/12345")
    assert list(g.objects(notes, DCAT.downloadURL)) == []
    assert one(g, notes, DCT["format"]) == URIRef("http://publications.europa.eu/resource/authority/file-type/TXT")


def test_provenance_chains_source_harvest_run_mapping_and_record(g: Graph, full: Record) -> None:
    entry = local("record")
    digest = base64.urlsafe_b64encode(bytes.fromhex(full.provenance.raw_sha256)).decode().rstrip("=")
    payload = URIRef(f"ni:///sha-256;{digest}")
    run = local("harvest-run")
    mapping = URIRef("https://w3id.org/dmlake/mapping/cernopendata/1.0")
    source_record = URIRef("https://opendata.cern.ch/api/records/12345")
    assert {(entry, RDF.type, DCAT.CatalogRecord), (entry, RDF.type, PROV.Entity)} <= set(g)
    assert one(g, entry, FOAF.primaryTopic) == RECORD
    assert one(g, entry, DCT.modified) == Literal("2026-11-02T09:30:00+00:00", datatype=XSD.dateTime)
    assert one(g, entry, PROV.wasDerivedFrom) == payload
    assert one(g, entry, PROV.wasGeneratedBy) == run
    assert one(g, payload, PROV.wasGeneratedBy) == run
    assert one(g, one(g, payload, SPDX.checksum), SPDX.checksumValue) == Literal(
        full.provenance.raw_sha256, datatype=XSD.hexBinary
    )
    assert one(g, payload, PROV.wasDerivedFrom) == source_record
    assert one(g, source_record, PROV.wasAttributedTo) == URIRef("https://w3id.org/dmlake/source/cernopendata")
    assert set(g.objects(run, PROV.used)) == {source_record, mapping}
    assert (run, RDF.type, PROV.Activity) in g and one(g, run, DCT.identifier) == Literal("7")
    dmlake = URIRef("https://w3id.org/dmlake/agent/dmlake")
    assert one(g, run, PROV.wasAssociatedWith) == dmlake and (dmlake, RDF.type, PROV.SoftwareAgent) in g
    association = one(g, run, PROV.qualifiedAssociation)
    assert one(g, association, PROV.agent) == dmlake and one(g, association, PROV.hadPlan) == mapping
    assert (mapping, RDF.type, PROV.Plan) in g and one(g, mapping, OWL.versionInfo) == Literal("1.0")


def test_a_record_not_yet_stored_by_the_harvester_is_an_entity_but_no_catalogue_record(minimal: Record) -> None:
    g = rdf.graph(minimal)
    entry = URIRef(f"{minimal.id}#record")
    assert (entry, RDF.type, PROV.Entity) in g and (entry, RDF.type, DCAT.CatalogRecord) not in g
    assert list(g.objects(entry, DCT.modified)) == []
    run = one(g, entry, PROV.wasGeneratedBy)
    assert list(g.objects(run, DCT.identifier)) == []  # no run number outside a harvest
    assert list(g.objects(run, PROV.used)) == [URIRef("https://w3id.org/dmlake/mapping/hepdata/0.3")]


def test_a_missing_description_is_generated_marked_and_flagged(minimal: Record) -> None:
    g = rdf.graph(minimal)
    dataset = URIRef(minimal.id)
    description = str(one(g, dataset, DCT.description))
    assert description.startswith(GENERATED_MARK) and "Table 1" in description
    assert one(g, dataset, DML.descriptionGenerated) == Literal(True)


def test_a_record_with_a_description_is_not_flagged(g: Graph) -> None:
    assert list(g.objects(RECORD, DML.descriptionGenerated)) == []


def test_the_same_record_always_gives_the_same_triples(full: Record) -> None:
    assert rdf.ntriples(full) == rdf.ntriples(full.model_copy(deep=True))


def test_records_in_one_graph_keep_their_local_nodes_apart(full: Record) -> None:
    other = full.model_copy(update={"id": full.id.replace("12345", "777"), "native_id": "777"})
    both = rdf.graph([full, other])
    assert len(both) > len(rdf.graph(full))
    assert len(set(both.objects(None, DCT.temporal))) == 2
    unmapped = {s for s in rdf.graph(full).subjects(RDF.type, SKOS.Concept) if isinstance(s, BNode)}
    assert len(unmapped) == 4  # resource type, a resource category, an observable, a subject
    assert len({s for s in both.subjects(RDF.type, SKOS.Concept) if isinstance(s, BNode)}) == 8


@pytest.fixture
def awkward(full: Record) -> Record:
    """Strings and URLs that break naive serialisers: quotes, newlines, control characters, spaces, non-ASCII."""
    return full.model_copy(
        update={
            "title": 'A "quoted" title\nover two lines with a tab\t, a bell \x07 and ümlauts √s',
            "landing_page": "https://example.org/record with spaces/{id}",
            "keywords": ["<xml> & ampersand", "back\\slash"],
            "creators": [Agent(name="Ngô Bảo Châu")],
            "distributions": [Distribution(name="file #1.root", url="https://example.org/a b/file #1.root")],
            "collision": Collision(type=Concept(uri=None, label="p\u00afp", raw="ppbar"), sqrt_s=None),
        }
    )


@pytest.mark.parametrize("fmt", ["turtle", "rdfxml", "ntriples"])
def test_every_serialisation_reads_back_to_the_same_graph(awkward: Record, fmt: str) -> None:
    text = rdf.serialize(awkward, fmt)
    parsed = Graph().parse(data=text, format={"turtle": "turtle", "rdfxml": "xml", "ntriples": "nt"}[fmt])
    assert isomorphic(parsed, rdf.graph(awkward))
    assert len(parsed) == len(rdf.triples(awkward))


def test_unsafe_iri_characters_are_percent_encoded(awkward: Record) -> None:
    g = rdf.graph(awkward)
    assert one(g, URIRef(awkward.id), DCAT.landingPage) == URIRef("https://example.org/record%20with%20spaces/%7Bid%7D")
    title = str(one(g, URIRef(awkward.id), DCT.title))
    assert "\x07" not in title and "\t" in title and "\n" in title


def test_ni_uri_is_the_rfc_6920_name_of_the_payload() -> None:
    payload = b"hello world"
    digest = hashlib.sha256(payload).hexdigest()
    assert str(rdf.ni_uri(digest)) == "ni:///sha-256;uU0nuZNNPgilLlLX2n2r-sSE7-N6U4DukIj3rOLvzek"


def test_checksums_of_every_algorithm_name_their_spdx_individual(full: Record) -> None:
    files = [
        Distribution(
            name=f"f.{algorithm}", url="https://example.org/f", checksum=Checksum(algorithm=algorithm, value=v)
        )
        for algorithm, v in (("md5", "d41d8cd98f00b204e9800998ecf8427e"), ("sha256", "ab" * 32), ("sha512", "cd" * 64))
    ]
    g = rdf.graph(full.model_copy(update={"distributions": files}))
    algorithms = {one(g, c, SPDX.algorithm) for c in g.subjects(RDF.type, SPDX.Checksum)}
    assert {SPDX.checksumAlgorithm_md5, SPDX.checksumAlgorithm_sha256, SPDX.checksumAlgorithm_sha512} <= algorithms


def test_quantities_of_every_supported_unit_kind(full: Record) -> None:
    record = full.model_copy(
        update={
            "collision": Collision(sqrt_s=Quantity(value=91.2, unit="GEV")),
            "energy_range": EnergyRange(min=None, max=10.0, unit="PeV"),
            "exposure": Quantity(value=56.0, unit="kg·d"),
            "live_time": Quantity(value=3.2e7, unit="s"),
            "temporal_coverage": TemporalCoverage(start="1989", end=None),
        }
    )
    g = rdf.graph(record)
    assert one(g, one(g, RECORD, DML.centreOfMassEnergy), QUDT.unit) == URIRef(QUDT_UNIT + "GigaEV")
    energy = one(g, RECORD, DML.energyRange)
    assert list(g.objects(energy, DML.minEnergy)) == [] and one(g, energy, QUDT.unit) == URIRef(DMLU + "PetaEV")
    assert one(g, one(g, RECORD, DML.exposure), QUDT.unit) == URIRef(DMLU + "KiloGM-DAY")
    assert one(g, one(g, RECORD, DML.liveTime), QUDT.unit) == URIRef(QUDT_UNIT + "SEC")
    period = one(g, RECORD, DCT.temporal)
    assert one(g, period, DCAT.startDate) == Literal("1989", datatype=XSD.gYear)
    assert list(g.objects(period, DCAT.endDate)) == []


def test_identifiers_of_every_scheme_have_a_datatype(full: Record) -> None:
    values = {
        IdentifierScheme.DOI: "10.1234/x",
        IdentifierScheme.CONCEPT_DOI: "10.1234/y",
        IdentifierScheme.INSPIRE: "42",
    }
    identifiers = [Identifier(scheme=s, value=values.get(s, "v1")) for s in IdentifierScheme]
    g = rdf.graph(full.model_copy(update={"identifiers": identifiers}))
    datatypes = {one(g, i, SKOS.notation).datatype for i in g.objects(RECORD, ADMS.identifier)}  # type: ignore[union-attr]
    assert len(datatypes) == len(IdentifierScheme)


def test_harvest_time_provenance_and_an_unmapped_licence(full: Record) -> None:
    provenance = full.provenance.model_copy(
        update={"retrieved_at": datetime(2026, 1, 2, tzinfo=UTC), "harvest_run": None}
    )
    record = full.model_copy(
        update={"provenance": provenance, "license": Concept(uri=None, label="CERN licence", raw="CERN licence")}
    )
    g = rdf.graph(record)
    licence = one(g, RECORD, DCT.license)
    assert licence == local("licence") and one(g, licence, RDFS.label) == Literal("CERN licence")
    assert list(g.objects(licence, DCT.type)) == []
    assert list(g.objects(local("harvest-run"), DCT.identifier)) == []
