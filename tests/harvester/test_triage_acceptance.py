"""Issue 6, acceptance 2: injected mapping errors appear grouped in `dmlake errors`; after the mapping is fixed,
`dmlake errors retry` clears them with zero HTTP requests.

A Zenodo replica serves generated records. The harvest runs in a `dmlake` process whose Zenodo mapper has a bug
(a module imported before the CLI wraps `ZenodoConnector.map_record`): it cannot resolve one affiliation and cannot
read some records' dates, so those records are quarantined. The retry runs in a plain `dmlake` process — the fixed
mapper — while the replica's request log proves it asked the portal nothing.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lakes import replica_requests

from dmlake.lake import Lake
from harvester.runs import Runs
from sandbox import build_replicas
from sandbox.server import RunningSandbox, start

REPO = Path(__file__).resolve().parents[2]
RECORDS = 60

BUGGY_MAPPER = '''
"""A Zenodo mapper release with two bugs, injected into this process only."""
import orjson

from connectors.base import MappingError
from connectors.zenodo import ZenodoConnector

_original = ZenodoConnector.map_record.__func__


def _buggy(cls, raw, source):
    record = _original(cls, raw, source)
    if int(record.native_id) % 5 == 0:
        raise MappingError("metadata.creators.affiliations", f"cannot resolve affiliation of record {record.native_id}")
    if int(record.native_id) % 7 == 3:
        raise MappingError("metadata.publication_date", f"cannot read date {record.issued!s} (expected a year only)")
    return record


ZenodoConnector.map_record = classmethod(_buggy)
'''


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with start(build_replicas(generate=RECORDS, seed=5, kinds=["zenodo"])) as running:
        yield running


def dmlake(home: Path, sources: Path, *args: str, patch: Path | None = None) -> subprocess.CompletedProcess[str]:
    prelude = f"import sys; sys.path.insert(0, {str(patch)!r}); import buggy_mapper; " if patch else ""
    code = f"{prelude}from harvester.cli import main; sys.argv = ['dmlake'] + sys.argv[1:]; main()"
    if not patch:
        code = "import sys; " + code
    env = {"COLUMNS": "250", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DMLAKE_MAP_WORKERS": "0"}
    return subprocess.run(
        [sys.executable, "-c", code, "--home", str(home), "--config", str(sources), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def test_mapping_errors_grouped_then_retried_without_requests(sandbox: RunningSandbox, tmp_path: Path) -> None:
    home = tmp_path / "home"
    sources = tmp_path / "sources.toml"
    sources.write_text(sandbox.sources_toml(), encoding="utf-8")
    patch = tmp_path / "patch"
    patch.mkdir()
    (patch / "buggy_mapper.py").write_text(BUGGY_MAPPER, encoding="utf-8")

    harvested = dmlake(home, sources, "harvest", "zenodo", "--no-index", patch=patch)
    assert harvested.returncode == 0, harvested.stderr
    lake = Lake.open(home)
    native_ids = [int(r.native_id) for r in lake.catalogue.iter_records("zenodo")]
    native_ids += [int(e.native_id) for e in lake.catalogue.quarantined("zenodo")]
    assert len(native_ids) == RECORDS
    affiliation = sorted(str(n) for n in native_ids if n % 5 == 0)
    date = sorted(str(n) for n in native_ids if n % 5 != 0 and n % 7 == 3)
    assert affiliation and date

    # grouped: one group per field, with its count and an example
    shown = dmlake(home, sources, "errors", "zenodo")
    assert shown.returncode == 0, shown.stderr
    assert f"{len(affiliation) + len(date)} quarantined records in 2 groups" in shown.stdout
    groups = json.loads(dmlake(home, sources, "errors", "--format", "json").stdout)
    by_field = {g["field"]: g for g in groups}
    assert by_field["metadata.creators.affiliations"]["records"] == len(affiliation)
    assert by_field["metadata.publication_date"]["records"] == len(date)
    assert by_field["metadata.creators.affiliations"]["example_record"] == affiliation[0]
    assert by_field["metadata.creators.affiliations"]["example_message"] == (
        f"cannot resolve affiliation of record {affiliation[0]}"
    )
    assert {g["error_class"] for g in groups} == {"MappingError"}
    assert all(g["first_seen"] <= g["last_seen"] for g in groups)

    exported = tmp_path / "date-errors.csv"
    done = dmlake(
        home, sources, "errors", "zenodo", "--field", "metadata.publication_date", "--records", "--format", "csv",
        "--output", str(exported),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(exported.read_text(encoding="utf-8"))))
    assert sorted(r["native_id"] for r in rows) == date
    assert all(r["message"].startswith("cannot read date ") and r["source_url"].startswith("http") for r in rows)

    # the fixed mapper retries from the raw store: the errors clear, and the portal is asked nothing
    replica_requests(sandbox, "zenodo", clear=True)
    retried = dmlake(home, sources, "errors", "retry", "zenodo")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert replica_requests(sandbox, "zenodo") == []
    assert dmlake(home, sources, "errors").stdout.strip() == "no quarantined records"
    assert lake.catalogue.count("zenodo") == RECORDS
    [run] = Runs(lake.catalogue.engine).recent("zenodo", 1)
    assert (run.mode, run.state, run.counts.added, run.requests) == (
        "retry",
        "succeeded",
        len(affiliation) + len(date),
        0,
    )
    # the retried records are in the change feed and the index caught up with it
    assert lake.catalogue.cursor("index") == lake.catalogue.last_seq()
    lake.close()


def test_errors_export_of_an_empty_quarantine_has_its_header(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text("", encoding="utf-8")
    done = dmlake(tmp_path / "home", sources, "errors", "--records", "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "source,native_id,stage,error_class,field,message,attempts,first_seen,last_seen,run_id,raw_sha256,source_url"
    ]
