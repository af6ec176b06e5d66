"""`Catalog.search` and `Catalog.get` over a home and over a running service give the same typed answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from oai_harness import serving

from dmlake import Catalog
from dmlake.catalog import Hit, build_query
from dmlake.lake import Lake
from indexer.query import QueryError
from portal.app import create_app

COSINE = "dmdc/dmdc/cosine/cosine100-6years-modulation@v1.0"


def test_keyword_arguments_build_the_query_model() -> None:
    query = build_query(
        "modulation",
        messenger=["dark-matter direct detection", "collider"],
        target="NaI",
        energy=("1 keV", "100 TeV"),
        date=("2016-01-01", None),
        facets=["experiment"],
        size=5,
    )
    assert dict(query.filters) == {"messenger": ("dark-matter direct detection", "collider"), "target": ("NaI",)}
    energy = dict(query.overlaps)["energy"][0]
    assert (energy.low, energy.high) == (pytest.approx(1e-6), pytest.approx(1e5))  # GeV
    assert dict(query.overlaps)["date"][0].high is None
    assert build_query(energy="1TeV..100TeV").overlaps == build_query(energy=(1000, 100000)).overlaps
    with pytest.raises(QueryError, match="unknown filter field 'colour'"):
        build_query(filters=["colour=red"])


def search_both(catalog: Catalog) -> dict[str, Any]:
    direct = catalog.search(
        messenger="dark-matter direct detection", energy=("1 keV", "10 keV"), facets=["experiment", "messenger"]
    )
    nai = catalog.search(target="NaI")
    collider = catalog.search(messenger="collider", filters=["sqrt_s=13TeV"])
    return {"direct": direct, "nai": nai, "collider": collider}


def check(answers: dict[str, Any]) -> None:
    direct = answers["direct"]
    assert direct.total == 3 and len(direct) == 3 and all(isinstance(hit, Hit) for hit in direct)
    assert direct.facet("experiment") == {"ANAIS": 1, "COSINE-100": 1, "CRESST": 1}
    frame = direct.to_dataframe()
    assert len(frame) == 3 and set(frame["experiments"]) == {"ANAIS", "COSINE-100", "CRESST"}
    cosine = frame[frame["experiments"] == "COSINE-100"].iloc[0]
    assert cosine["year"] == 2025 and cosine["source"] == "dmdc" and cosine["id"].endswith("modulation%40v1.0")
    assert sorted(hit.experiments for hit in answers["nai"]) == [("ANAIS",), ("COSINE-100",)]  # the NaI experiments
    assert [hit.experiments for hit in answers["collider"]] == [("LHCb",)]


def test_a_home_and_a_service_answer_alike(harvested: Any) -> None:
    with Catalog(harvested.home) as local:
        local_answers = search_both(local)
        check(local_answers)
        record = local.get(COSINE)
        assert record.title.startswith("COSINE-100 Full Dataset")
        with pytest.raises(LookupError, match="no record"):
            local.get("dmdc/no/such@v1")
    lake = Lake.open(Path(harvested.home))
    try:
        with serving(create_app(lake)) as url, Catalog(url, cache_dir=Path(harvested.home) / "remote-cache") as remote:
            remote_answers = search_both(remote)
            check(remote_answers)
            assert [h.id for h in remote_answers["direct"]] == [h.id for h in local_answers["direct"]]
            assert remote.get(COSINE) == record
            # files open the same way from a service: the record's download URLs, checksums verified
            opened = remote.open(COSINE, "CosineNaQF.csv")
            assert opened["qf"].attrs["units"] == "%" and opened.attrs["file_checksum"].startswith("sha256:")
    finally:
        lake.close()
