"""Record → index document: every field, units, normalisation, sort keys, summary, filter values."""

from __future__ import annotations

import pytest

from indexer.document import (
    CLUSTER_FIELD,
    ID_FIELD,
    SORT_KEYS,
    SORT_LEVELS,
    SUMMARY_FIELD,
    SUMMARY_KEYS,
    TEXT_FIELDS,
    UnitError,
    energy_in_gev,
    energy_token,
    filter_terms,
    index_document,
    normalise_format,
    partial_date_timestamp,
    plain_text,
    short_description,
    tiebreak,
    title_key,
)
from indexer.query import FIELDS, SORTABLE
from ontology.model import (
    Agent,
    Availability,
    Collision,
    Concept,
    Distribution,
    EnergyRange,
    Identifier,
    IdentifierScheme,
    Provenance,
    Quantity,
    Record,
    record_id,
)
from ontology.vocabulary import concept, license_concept


def full_record() -> Record:
    """A CMS-like release with a value in every field the index reads."""
    return Record(
        id=record_id("cernopendata", "12345"),
        source="cernopendata",
        native_id="12345",
        identifiers=[
            Identifier(scheme=IdentifierScheme.DOI, value="10.7483/OPENDATA.CMS.A342.9982"),
            Identifier(scheme=IdentifierScheme.ARXIV, value="arXiv:1207.7214"),
            Identifier(scheme=IdentifierScheme.CERN_RECID, value="12345"),
        ],
        landing_page="https://opendata.cern.ch/record/12345",
        title="DoubleMuon primary dataset in AOD format from Run of 2012 (/DoubleMu/Run2012B-22Jan2013-v1/AOD)",
        description="<p>Di-muon events with B<sup>0</sup>-&gt;K*mumu candidates &amp; J/psi, "
        "recorded in <b>pp</b> collisions at 8 TeV.</p>\n<p>" + "Long text. " * 60 + "</p>",
        resource_type=Concept(label="Dataset", raw="Dataset"),
        creators=[Agent(name="CMS Collaboration", kind="organization")],
        collaboration=[concept("experiment", "CMS collaboration")],
        experiments=[concept("experiment", "CMS")],
        accelerator=concept("accelerator", "LHC"),
        keywords=["muon", "B physics", "muon"],
        subjects=[Concept(label="hep-ex", raw="hep-ex")],
        license=license_concept("CC0"),
        issued="2017-05-17",
        modified="2020-01-31T12:00:00Z",
        messengers=[concept("messenger", "collider")],
        detection_technique=[concept("technique", "general-purpose collider detector")],
        data_level=concept("data-level", "level 3: analysis-level software and data"),
        resource_categories=[concept("resource-category", "event data")],
        collision=Collision(type=concept("collision-type", "p-p"), sqrt_s=Quantity(value=8.0, unit="TeV")),
        energy_range=EnergyRange(min=500.0, max=2000.0, unit="MeV"),
        targets=[concept("target", "xenon")],
        observables=[Concept(label="DSIG/DPT", raw="DSIG/DPT")],
        reactions=["P P --> MU+ MU- X"],
        distributions=[
            Distribution(name="a.root", size_bytes=1000, format="root", availability=Availability.ONLINE),
            Distribution(name="b.root", size_bytes=2500, media_type="application/x-root", availability="on-tape"),
            Distribution(name="index.txt", size_bytes=10, format="txt", role="index"),
        ],
        formats=["aod", "root"],
        provenance=Provenance(
            source="cernopendata", source_kind="cernopendata", raw_sha256="0" * 64, mapping_version="1"
        ),
    )


def test_every_query_field_is_in_the_document() -> None:
    document = index_document(full_record())
    assert set(FIELDS) <= set(document)
    assert set(TEXT_FIELDS) <= set(document)
    assert set(SORT_KEYS) <= set(document)
    assert all(name == "relevance" or name in SORT_LEVELS for name in SORTABLE)


def test_identity_and_cluster() -> None:
    document = index_document(full_record())
    assert document[ID_FIELD] == "https://w3id.org/dmlake/record/cernopendata/12345"
    assert document[CLUSTER_FIELD] == document[ID_FIELD]


def test_keyword_fields_hold_concept_labels() -> None:
    document = index_document(full_record())
    assert document["experiment"] == ["CMS"]
    assert document["collaboration"] == ["CMS"]
    assert document["messenger"] == ["collider"]
    assert document["technique"] == ["general-purpose collider detector"]
    assert document["resource_category"] == ["event data"]
    assert document["resource_type"] == ["Dataset"]
    assert document["data_level"] == ["level 3: analysis-level software and data"]
    assert document["collision_type"] == ["pp"]
    assert document["target"] == ["xenon"]
    assert document["license"] == ["CC0-1.0"]
    assert document["source"] == ["cernopendata"]
    assert document["keyword"] == ["muon", "B physics"]  # duplicates dropped, order kept


def test_files_formats_and_availability() -> None:
    document = index_document(full_record())
    assert document["file_format"] == ["AOD", "ROOT", "TXT"]  # record formats + distribution format / media type
    assert document["availability"] == ["online", "on-tape", "unknown"]
    assert document["file_count"] == 3
    assert document["size_bytes"] == 3510  # no record-level size: the sum of the files


def test_record_size_wins_over_the_sum_of_files() -> None:
    record = full_record().model_copy(update={"size_bytes": 99})
    assert index_document(record)["size_bytes"] == 99


def test_identifiers_compare_like_identifier_key() -> None:
    document = index_document(full_record())
    assert document["doi"] == ["10.7483/opendata.cms.a342.9982"]
    assert document["identifier"] == [
        "doi:10.7483/opendata.cms.a342.9982",
        "arxiv:1207.7214",
        "cern-recid:12345",
    ]


def test_numbers_in_the_units_the_names_say() -> None:
    document = index_document(full_record())
    assert document["year"] == 2017
    assert document["sqrt_s_gev"] == pytest.approx(8000.0)
    assert document["energy_min_gev"] == pytest.approx(0.5)
    assert document["energy_max_gev"] == pytest.approx(2.0)


def test_missing_values_stay_missing() -> None:
    record = Record(
        id=record_id("zenodo", "1"),
        source="zenodo",
        native_id="1",
        title="A bare record",
        provenance=Provenance(source="zenodo", source_kind="zenodo", raw_sha256="0" * 64, mapping_version="1"),
    )
    document = index_document(record)
    for name in ("year", "sqrt_s_gev", "energy_min_gev", "energy_max_gev", "size_bytes", "issued_ts", "modified_ts"):
        assert document[name] is None, name
    assert document["file_count"] == 0
    assert document["experiment"] == [] and document["file_format"] == [] and document["availability"] == []
    assert document[SUMMARY_FIELD]["description"] is None
    assert document[SUMMARY_FIELD]["doi"] is None


def test_an_energy_in_an_unknown_unit_is_left_out() -> None:
    record = full_record().model_copy(
        update={
            "collision": Collision(sqrt_s=Quantity(value=8.0, unit="furlong")),
            "energy_range": EnergyRange(min=1.0, max=2.0, unit="K"),
        }
    )
    document = index_document(record)
    assert document["sqrt_s_gev"] is None
    assert document["energy_min_gev"] is None and document["energy_max_gev"] is None


def test_text_fields() -> None:
    document = index_document(full_record())
    assert document["title"] == [full_record().title]
    description = document["description"][0]
    assert description.startswith("Di-muon events with B0->K*mumu candidates & J/psi, recorded in pp collisions")
    assert "<" not in description
    assert document["keywords"] == ["muon", "B physics", "hep-ex"]
    assert document["experiments"] == ["CMS", concept("accelerator", "LHC").label]
    assert document["observables"] == ["DSIG/DPT"]
    assert document["reactions"] == ["P P --> MU+ MU- X"]
    assert "10.7483/OPENDATA.CMS.A342.9982" in document["identifiers"]
    assert "doi:10.7483/opendata.cms.a342.9982" in document["identifiers"]
    assert "12345" in document["identifiers"]
    assert "collider" in document["concepts"] and "xenon" in document["concepts"] and "pp" in document["concepts"]
    # energies are added in the compact spelling people search for, from the collision and from the text
    assert "8TeV" in document["physics"]
    assert "P P --> MU+ MU- X" in document["physics"]


def test_summary_is_complete_and_short() -> None:
    record = full_record()
    summary = index_document(record)[SUMMARY_FIELD]
    assert tuple(summary) == SUMMARY_KEYS
    assert summary["title"] == record.title
    assert summary["source"] == "cernopendata"
    assert summary["experiments"] == ["CMS"]
    assert summary["issued"] == "2017-05-17"
    assert summary["year"] == 2017
    assert summary["doi"] == "10.7483/OPENDATA.CMS.A342.9982"
    assert summary["resource_type"] == "Dataset"
    assert summary["landing_page"] == "https://opendata.cern.ch/record/12345"
    assert summary["file_count"] == 3
    assert summary["size_bytes"] == 3510
    assert summary["description"].endswith("…")
    assert len(summary["description"]) <= 301


def test_sort_keys() -> None:
    document = index_document(full_record())
    assert document["issued_ts"] == 1494979200  # 2017-05-17T00:00:00Z
    assert document["modified_ts"] == 1580472000  # 2020-01-31T12:00:00Z
    assert document["tiebreak"] == tiebreak(document[ID_FIELD])
    assert (document["title_key_0"], document["title_key_1"]) == title_key(full_record().title)[:2]


def test_partial_dates() -> None:
    assert partial_date_timestamp("1970") == 0
    assert partial_date_timestamp("1970-02") == 31 * 86400
    assert partial_date_timestamp("1970-01-02") == 86400
    assert partial_date_timestamp("1970-01-01T01:00:00+01:00") == 0
    assert partial_date_timestamp("1969") == -365 * 86400
    assert partial_date_timestamp(None) is None


def test_title_key_orders_like_the_folded_title() -> None:
    titles = ["beta", "Alpha", "Élan", "  (quoted) title", "alpha 2", "alpha 10", "Zeta", "éclair"]
    assert sorted(titles, key=title_key) == [
        "Alpha", "alpha 10", "alpha 2", "beta", "éclair", "Élan", "  (quoted) title", "Zeta",
    ]  # fmt: skip
    assert title_key("Alpha") == title_key("alpha")
    assert title_key("Élan") == title_key("elan")
    assert title_key("  (quoted) title") == title_key("quoted) title")
    assert title_key("x" * 40) == title_key("x" * 32 + "different tail")  # only the first 32 bytes count
    assert title_key("x" * 31) < title_key("x" * 32)


def test_tiebreak_is_stable_across_processes() -> None:
    # blake2b, not Python's salted hash: the same id gets the same tie-break in every process and release
    assert tiebreak("https://w3id.org/dmlake/record/zenodo/1") == 0xD289138488C45244
    assert tiebreak("a") != tiebreak("b")
    assert 0 <= tiebreak("a") < 2**64


@pytest.mark.parametrize(
    ("value", "unit", "gev"),
    [(13, "TeV", 13000.0), (900, "GeV", 900.0), (1, "PeV", 1e6), (1, "EeV", 1e9), (5, "keV", 5e-6), (3, "keVnr", 3e-6),
     (2, "keVee", 2e-6), (7, "MeV", 7e-3), (4, "eV", 4e-9), (1, "meV", 1e-12)],
)  # fmt: skip
def test_energy_units(value: float, unit: str, gev: float) -> None:
    assert energy_in_gev(value, unit) == pytest.approx(gev)


@pytest.mark.parametrize("unit", ["gev", "TeV/c", "K", "kg.d", ""])
def test_energy_units_refused(unit: str) -> None:
    with pytest.raises(UnitError, match="not an energy unit"):
        energy_in_gev(1.0, unit)


def test_energy_tokens() -> None:
    assert energy_token(13000.0) == "13TeV"
    assert energy_token(900.0) == "900GeV"
    assert energy_token(5020.0) == "5.02TeV"
    assert energy_token(91.2) == "91.2GeV"
    assert energy_token(0.003) == "3MeV"


def test_formats() -> None:
    assert normalise_format("root") == "ROOT"
    assert normalise_format(".h5") == "H5"
    assert normalise_format("text/csv") == "CSV"
    assert normalise_format("application/json; charset=utf-8") == "JSON"
    assert normalise_format("yoda.h5") == "YODA.H5"
    assert normalise_format("Some long description of a format") == "Some long description of a format"
    assert normalise_format("  ") is None


def test_plain_text_and_short_description() -> None:
    assert plain_text("<p>a &amp; b</p>\n\n<p>c</p>") == "a & b c"
    assert plain_text("B<sup>0</sup> and <i>J/&psi;</i><br/>next") == "B0 and J/ψ next"
    assert short_description("short") == "short"
    text = "word " * 100
    cut = short_description(text, limit=50)
    assert cut is not None and cut.endswith("…") and len(cut) <= 51 and not cut[:-1].endswith(" ")


def test_filter_values_are_normalised_like_the_document() -> None:
    assert "CMS" in filter_terms("experiment", "cms")
    assert "CMS" in filter_terms("experiment", "CMS Collaboration")
    assert "pp" in filter_terms("collision_type", "proton-proton")
    assert "collider" in filter_terms("messenger", "accelerator")
    assert "CC0-1.0" in filter_terms("license", "cc0")
    assert filter_terms("doi", "https://doi.org/10.7483/OPENDATA.CMS.A342.9982") == ("10.7483/opendata.cms.a342.9982",)
    assert filter_terms("identifier", "arxiv:1207.7214") == ("arxiv:1207.7214",)
    assert "doi:10.5281/zenodo.1" in filter_terms("identifier", "10.5281/ZENODO.1")
    assert "cern-recid:12345" in filter_terms("identifier", "12345")
    assert "ROOT" in filter_terms("file_format", "root")
    assert "on-tape" in filter_terms("availability", "On-Tape")
    assert filter_terms("keyword", " muon ") == ("muon",)
    assert filter_terms("experiment", "NoSuchExperiment") == ("NoSuchExperiment",)
