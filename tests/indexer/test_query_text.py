"""The search text's field syntax (`indexer.query_text`): what it rewrites, what it leaves alone, what it refuses."""

from __future__ import annotations

import pytest

from indexer.query import Query, QueryError
from indexer.query_text import (
    ENERGY_UNITS,
    date_bound,
    energy_gev,
    number_text,
    parse_overlap_filter,
    rewrite_text,
)


@pytest.mark.parametrize(
    "text",
    ["muon", '"a:b" title:higgs', "B0->K*mumu", "year:[2010 TO 2012]", "sqrt_s_gev:>7000", 'keyword:"WIMP"*', "doi:*"],
)
def test_text_without_dmlake_fields_is_left_as_written(text: str) -> None:
    assert rewrite_text(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("experiment:cms muon", 'experiment: IN ["cms" "CMS"] muon'),
        ('experiment:"CMS Collaboration"', 'experiment: IN ["CMS Collaboration" "CMS"]'),
        ("experiment: IN [cms atlas]", 'experiment: IN ["cms" "CMS" "atlas" "ATLAS"]'),
        ("licence:cc0", 'license: IN ["cc0" "CC0-1.0"]'),
        ("format:root", 'file_format: IN ["root" "ROOT"]'),
        ("doi:https://doi.org/10.7483/OPENDATA.CMS.A", 'doi: IN ["10.7483/opendata.cms.a"]'),
        ("identifier:arxiv:1207.7214", 'identifier: IN ["arxiv:1207.7214"]'),
        ("-experiment:CMS jets", '-experiment: IN ["CMS"] jets'),
        ("(messenger:neutrino)", '(messenger: IN ["neutrino"])'),
    ],
)
def test_portal_fields_match_what_people_type(text: str, expected: str) -> None:
    assert rewrite_text(text) == expected


def test_energies_are_read_with_their_units_in_gev() -> None:
    assert energy_gev("13TeV") == energy_gev("13 TeV") == energy_gev("13tev") == 13_000
    assert energy_gev("900GeV") == energy_gev("900") == energy_gev("0.9TeV") == 900
    assert energy_gev("1eV") == pytest.approx(1e-9) and energy_gev("2 keV") == pytest.approx(2e-6)
    assert energy_gev("1.5e3 MeV") == pytest.approx(1.5) and energy_gev("3PeV") == 3e6 and energy_gev("1EeV") == 1e9
    assert set(ENERGY_UNITS) == {"eV", "keV", "MeV", "GeV", "TeV", "PeV", "EeV"}


def test_a_point_energy_is_widened_to_match_any_rounding() -> None:
    assert rewrite_text("sqrt_s:13TeV") == "sqrt_s_gev:[12999.999987000001 TO 13000.000013]"
    assert rewrite_text("sqrt_s:13 TeV jets") == rewrite_text("sqrt_s:13TeV") + " jets"
    assert rewrite_text("sqrt_s:13 muon").startswith("sqrt_s_gev:[12.999999987 TO 13.0000000130")  # no unit: GeV
    assert rewrite_text("sqrt_s:13 muon").endswith("] muon")


def test_energy_means_overlap_with_the_interval_or_sqrt_s() -> None:
    clause = rewrite_text("energy:[1 TeV TO 100 TeV]")
    assert clause == (
        "(((energy_min_gev:<=100000.0001 OR (energy_max_gev:* -energy_min_gev:*)) AND "
        "(energy_max_gev:>=999.999999 OR (energy_min_gev:* -energy_max_gev:*))) OR "
        "sqrt_s_gev:[999.999999 TO 100000.0001])"
    )
    assert rewrite_text("energy:[1TeV TO 100TeV]") == clause
    assert "energy_max_gev:>13000.000013" in rewrite_text("energy:>13TeV")  # exclusive: narrowed, 13 TeV is out
    assert "energy_min_gev:<=13000.000013" in rewrite_text("energy:<=13TeV")
    assert rewrite_text("energy:[1 PeV TO *]").endswith("sqrt_s_gev:>=999999.9990000001)")


def test_dates_are_periods_and_mean_overlap() -> None:
    assert date_bound("2011", upper=False) == 1293840000  # 2011-01-01T00:00:00Z
    assert date_bound("2011", upper=True) == 1325375999  # 2011-12-31T23:59:59Z
    assert date_bound("2012-02", upper=True) == 1330559999  # leap day included
    assert date_bound("2012-12-31", upper=True) == 1356998399
    assert rewrite_text("date:2011") == "(date_start_ts:<=1325375999 AND date_end_ts:>=1293840000)"
    assert rewrite_text("date:>=2016") == "date_end_ts:>=1451606400"
    assert rewrite_text("date:[* TO 2011]") == "date_start_ts:<=1325375999"


def test_overlap_filters_read_the_same_values() -> None:
    energy = parse_overlap_filter("energy", "1TeV..100TeV", 7)
    assert (energy.low, energy.high) == (1000.0, 100_000.0)
    assert parse_overlap_filter("energy", "13TeV", 7).low == 13_000
    assert parse_overlap_filter("energy", "..1TeV", 7).low is None
    dates = parse_overlap_filter("date", "2015-01-01..2018-12-31", 5)
    assert (dates.low, dates.high) == (date_bound("2015", upper=False), date_bound("2018", upper=True))
    query = Query.parse("", filters=["energy=1TeV..10TeV", "energy=10TeV..100TeV", "date=2011", "sqrt_s=13TeV"])
    assert [name for name, _ in query.overlaps] == ["date", "energy"] and len(dict(query.overlaps)["energy"]) == 2
    assert dict(query.ranges)["sqrt_s_gev"].low == pytest.approx(13_000)


def test_numbers_are_written_back_exactly() -> None:
    for value in (999.999999, 1e-9, 0.999999999, 12999.999987000001, 1e11, 13000.0):
        assert float(number_text(value)) == value and "e" not in number_text(value)


@pytest.mark.parametrize(
    ("text", "position", "in_message", "in_hint"),
    [
        ("higgs colour:red", 6, "no field 'colour'", "energy, sqrt_s, date"),
        ("energy:13furlongs", 9, "unknown energy unit 'furlongs'", "eV, keV, MeV, GeV, TeV, PeV, EeV"),
        ("energy:[100 TeV TO 1 TeV]", 7, "is empty", "swap the bounds: energy:[1 TeV TO 100 TeV]"),
        ("sqrt_s:[8TeV TO 7TeV]", 7, "is empty", "swap the bounds: sqrt_s:[7TeV TO 8TeV]"),
        ("date:[2018 TO 2015]", 5, "is empty", "swap the bounds: date:[2015 TO 2018]"),
        ("energy:[1 TeV TO", 7, "not closed", "LOW TO HIGH"),
        ("energy:[1 TeV 2 TeV]", 7, "[LOW TO HIGH]", "energy:[1 TeV TO 100 TeV]"),
        ("muon energy:", 12, "no value", "units"),
        ("date:2011-13", 5, "not a date", "month"),
        ("date:yesterday", 5, "not a date", "YYYY-MM-DD"),
        ("energy:lots", 7, "not an energy", "13TeV"),
    ],
)
def test_a_text_that_cannot_be_read_is_refused_with_position_and_hint(
    text: str, position: int, in_message: str, in_hint: str
) -> None:
    with pytest.raises(QueryError) as caught:
        Query.parse(text)
    error = caught.value
    assert error.parameter == "q" and error.position == position
    assert in_message in error.message and error.hint and in_hint in error.hint


@pytest.mark.parametrize(
    ("expression", "in_message", "in_hint"),
    [
        ("energy=1TeV..1furlong", "unknown energy unit", "TeV"),
        ("energy=100TeV..1TeV", "empty", "energy=1TeV..100TeV"),
        ("date=2018..2015", "empty", "date=2015..2018"),
        ("date=soon", "not a date", "YYYY"),
        ("sqrt_s=8TeV..7TeV", "empty", "sqrt_s=7TeV..8TeV"),
    ],
)
def test_a_filter_that_cannot_be_read_is_refused(expression: str, in_message: str, in_hint: str) -> None:
    with pytest.raises(QueryError) as caught:
        Query.parse("", filters=[expression])
    assert caught.value.parameter == "filter"
    assert in_message in caught.value.message and caught.value.hint and in_hint in caught.value.hint


def test_projection_and_facets_are_checked() -> None:
    assert Query.parse("", fields=["title,doi", "experiment"]).fields == ("title", "doi", "experiments")
    assert Query.parse("", fields=[""]).fields is None
    with pytest.raises(QueryError) as caught:
        Query.parse("", fields=["title,colour"])
    assert (
        caught.value.parameter == "fields"
        and "colour" in caught.value.message
        and "landing_page" in str(caught.value.hint)
    )
    assert Query.parse("", facets=["year_histogram,energy_histogram,experiment"]).terms_facets == ("experiment",)
    with pytest.raises(QueryError) as facet:
        Query.parse("", facets=["month_histogram"])
    assert "year_histogram" in str(facet.value.hint)


def test_projectable_fields_are_the_summary_fields() -> None:
    from indexer.document import SUMMARY_KEYS
    from indexer.query import PROJECTABLE

    assert PROJECTABLE == SUMMARY_KEYS
