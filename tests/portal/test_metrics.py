"""`/metrics` (issue 6, acceptance 4): the Prometheus text format, parsed by prometheus_client's own parser, with
the catalogue's runs, records, quarantine, pending deletions, last runs and change-feed consumer lag."""

from __future__ import annotations

from pathlib import Path

from fake_sources import Lab
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from dmlake.lake import Lake
from portal.app import create_app


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        assert family.documentation  # every metric says what it measures
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_parse_and_report_the_catalogue(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "home")
    lab = Lab(lake.catalogue)
    lab.source("alpha", [{"id": str(i)} for i in range(6)])
    lab.source("beta", [{"id": str(i)} for i in range(3)] + [{"id": "bad", "broken": "x"}])
    lab.harvest()
    del lab.stores["alpha"].items["2"]
    lab.harvest("alpha", full=True)  # one of six gone: within the guard, tombstoned
    lab.stores["beta"].items.clear()  # all of beta gone: held back for confirmation
    lab.harvest("beta", full=True)
    lake.update_index()
    client = TestClient(create_app(lake))

    m = scrape(client)
    assert m[("dmlake_records", (("source", "alpha"), ("status", "live")))] == 5
    assert m[("dmlake_records", (("source", "alpha"), ("status", "tombstoned")))] == 1
    assert m[("dmlake_records", (("source", "beta"), ("status", "live")))] == 3
    assert m[("dmlake_quarantined_records", (("source", "beta"),))] == 1
    assert m[("dmlake_pending_deletions", (("source", "beta"),))] == 3
    assert m[("dmlake_runs_total", (("mode", "full"), ("source", "alpha"), ("state", "succeeded")))] == 2
    assert m[("dmlake_run_records_total", (("outcome", "added"), ("source", "alpha")))] == 6
    assert m[("dmlake_run_records_total", (("outcome", "deleted"), ("source", "alpha")))] == 1
    assert m[("dmlake_run_records_total", (("outcome", "quarantined"), ("source", "beta")))] == 1
    assert m[("dmlake_http_requests_total", (("source", "alpha"),))] == 0  # the fake source makes no requests
    assert m[("dmlake_last_run_state", (("source", "beta"), ("state", "succeeded")))] == 1
    assert m[("dmlake_last_run_duration_seconds", (("source", "alpha"),))] >= 0
    assert 0 <= m[("dmlake_last_run_age_seconds", (("source", "alpha"),))] < 600
    last = lake.catalogue.last_seq()
    assert m[("dmlake_change_feed_sequence", ())] == last
    assert m[("dmlake_consumer_lag_changes", (("consumer", "index"),))] == 0
    assert m[("dmlake_consumer_position", (("consumer", "index"),))] == last

    lab.stores["alpha"].edit("0", title="changed")
    lab.harvest("alpha")
    m = scrape(client)
    assert m[("dmlake_consumer_lag_changes", (("consumer", "index"),))] == 1  # the index has one change to apply
    assert m[("dmlake_runs_total", (("mode", "incremental"), ("source", "alpha"), ("state", "succeeded")))] == 1
    lake.close()


def test_an_empty_catalogue_still_parses(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "home")
    m = scrape(TestClient(create_app(lake)))
    assert m == {("dmlake_change_feed_sequence", ()): 0}
    lake.close()


def test_runs_in_progress_and_http_totals_by_source(tmp_path: Path) -> None:
    from harvester.runs import Runs
    from harvester.schema import runs

    lake = Lake.open(tmp_path / "home")
    lab = Lab(lake.catalogue)
    lab.source("alpha", [{"id": str(i)} for i in range(3)])
    lab.harvest()
    lab.harvest("alpha", full=True)
    with lake.catalogue.engine.begin() as conn:  # the fake source makes no requests: as a real one would have
        conn.execute(runs.update().where(runs.c.source == "alpha").values(requests=7, retries=2, not_modified=3))
    Runs(lake.catalogue.engine).start("alpha", "incremental")
    Runs(lake.catalogue.engine).start("gamma", "full")
    m = scrape(TestClient(create_app(lake)))
    assert m[("dmlake_runs_running", (("source", "alpha"),))] == 1
    assert m[("dmlake_runs_running", (("source", "gamma"),))] == 1
    assert (
        m[("dmlake_http_requests_total", (("source", "alpha"),))] == 7 * 2
    )  # both ended runs (the running one: none yet)
    assert m[("dmlake_http_retries_total", (("source", "alpha"),))] == 2 * 2
    assert m[("dmlake_http_not_modified_total", (("source", "alpha"),))] == 3 * 2
    assert m[("dmlake_http_requests_total", (("source", "gamma"),))] == 0
    assert ("dmlake_quarantined_records", (("source", "alpha"),)) not in m  # no rows, no sample
    lake.close()
