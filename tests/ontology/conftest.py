"""Constructed records for the view tests: one with every model field set, one with only what the model requires.

Tests take them as fixtures (`full`, `minimal`) and derive variants with `model_copy(update=...)`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ontology import vocabulary
from ontology.model import (
    Affiliation,
    Agent,
    Availability,
    Checksum,
    Collision,
    Concept,
    Distribution,
    EnergyRange,
    Identifier,
    IdentifierScheme,
    Provenance,
    Quantity,
    Record,
    Replica,
    TemporalCoverage,
    record_id,
)

RAW_SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def full_record() -> Record:
    """A CMS-like release with every field of the model filled (values chosen so each view shows each field)."""
    return Record(
        id=record_id("cernopendata", "12345"),
        source="cernopendata",
        native_id="12345",
        identifiers=[
            Identifier(scheme=IdentifierScheme.DOI, value="10.7483/OPENDATA.CMS.ABCD.1234"),
            Identifier(scheme=IdentifierScheme.CERN_RECID, value="12345"),
            Identifier(scheme=IdentifierScheme.INSPIRE, value="1234567"),
            Identifier(scheme=IdentifierScheme.OAI, value="oai:cernopendata.cern:12345"),
        ],
        version="2.0",
        is_version_of=[Identifier(scheme=IdentifierScheme.CONCEPT_DOI, value="10.7483/OPENDATA.CMS.ABCD")],
        landing_page="https://opendata.cern.ch/record/12345",
        title="DoubleMuon primary dataset in AOD format from RunB of 2011",
        description="Muon pairs recorded by CMS in 2011, reconstructed with CMSSW_5_3_32.",
        resource_type=Concept(uri=None, label="Dataset / Collision", raw="Dataset/Collision"),
        creators=[
            Agent(
                name="Jane Doe",
                given_name="Jane",
                family_name="Doe",
                orcid="0000-0002-1825-0097",
                affiliations=[Affiliation(name="CERN", ror="https://ror.org/01ggx4157")],
            ),
            Agent(name="CMS Collaboration", kind="organization"),
        ],
        contributors=[Agent(name="John Smith", given_name="John", family_name="Smith")],
        collaboration=[vocabulary.concept("experiment", "CMS Collaboration")],
        experiments=[vocabulary.concept("experiment", "CMS")],
        accelerator=vocabulary.concept("accelerator", "CERN-LHC"),
        publisher=Agent(name="CERN Open Data Portal", kind="organization", ror="01ggx4157"),
        keywords=["muon", "dimuon"],
        subjects=[Concept(uri=None, label="Particle physics", raw="Particle physics")],
        license=vocabulary.license_concept("CC0-1.0"),
        access_rights="open",
        language="en",
        issued="2016-04",
        modified="2021-06-01T10:00Z",
        created="2011",
        temporal_coverage=TemporalCoverage(start="2011-03-13", end="2011-08-31"),
        messengers=[vocabulary.concept("messenger", "collider")],
        detection_technique=[vocabulary.concept("technique", "collider-detector")],
        data_level=vocabulary.concept("data-level", "3"),
        resource_categories=[
            vocabulary.concept("resource-category", "event-data"),
            Concept(uri=None, label="collision data", raw="Collision"),
        ],
        collision=Collision(
            type=vocabulary.concept("collision-type", "pp"), sqrt_s=Quantity(value=7.0, unit="TeV", raw="7TeV")
        ),
        energy_range=EnergyRange(min=1.0, max=3500.0, unit="GeV"),
        targets=[vocabulary.concept("target", "Xe")],
        exposure=Quantity(value=1.5, unit="t.a"),
        live_time=Quantity(value=278.8, unit="d"),
        observables=[Concept(uri=None, label="invariant mass", raw="M(mu mu)")],
        reactions=["P P --> MU+ MU- X"],
        number_of_events=29_944_565,
        sky_coverage="not applicable: collider data",
        distributions=[
            Distribution(
                name="CMS_Run2011B_DoubleMu_AOD_file_index.json",
                url="https://opendata.cern.ch/record/12345/files/CMS_Run2011B_DoubleMu_AOD_file_index.json",
                size_bytes=4521,
                checksum=Checksum.parse("adler32:8b2a4a8"),
                media_type="application/json",
                description="Index of the ROOT files",
                role="index",
                availability=Availability.ONLINE,
            ),
            Distribution(
                name="00A1B2C3.root",
                url="root://eospublic.cern.ch//eos/opendata/cms/Run2011B/DoubleMu/AOD/00A1B2C3.root",
                access_url="https://opendata.cern.ch/record/12345",
                size_bytes=2_147_483_648,
                checksum=Checksum.parse("sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709"),
                format="root",
                availability=Availability.ON_TAPE,
                replicas=[Replica(site="CERN-PROD", state="AVAILABLE", url="root://eos.example/00A1B2C3.root")],
                identifiers=[Identifier(scheme=IdentifierScheme.OTHER, value="file-guid-1")],
            ),
        ],
        size_bytes=2_147_488_169,
        formats=["AOD", "root"],
        is_part_of=[Identifier(scheme=IdentifierScheme.CERN_RECID, value="1")],
        has_part=[Identifier(scheme=IdentifierScheme.GITLAB_PATH, value="cms/run2011b/part1")],
        is_supplement_to=[Identifier(scheme=IdentifierScheme.ARXIV, value="1206.1234")],
        references=[Identifier(scheme=IdentifierScheme.DOI, value="10.1088/1748-0221/3/08/S08004")],
        is_new_version_of=[Identifier(scheme=IdentifierScheme.DOI, value="10.7483/OPENDATA.CMS.ABCD.1233")],
        related_links=["https://cms-opendata-guide.web.cern.ch/"],
        provenance=Provenance(
            source="cernopendata",
            source_kind="cernopendata",
            source_url="https://opendata.cern.ch/api/records/12345",
            harvest_run=7,
            retrieved_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
            raw_sha256=RAW_SHA256,
            mapping_version="1.0",
        ),
    )


def minimal_record() -> Record:
    """Only what the model requires: no description, no creators, no dates, no files, no run data."""
    return Record(
        id=record_id("hepdata", "ins1396331-t1"),
        source="hepdata",
        native_id="ins1396331-t1",
        title="Table 1",
        provenance=Provenance(source="hepdata", source_kind="hepdata", raw_sha256=RAW_SHA256, mapping_version="0.3"),
    )


@pytest.fixture
def full() -> Record:
    return full_record()


@pytest.fixture
def minimal() -> Record:
    return minimal_record()
