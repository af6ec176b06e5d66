"""Notifications (issue 6, acceptance 3): after a run, a real local SMTP server (aiosmtpd) and a local webhook
receiver get the source, run id, state, counts and a link — for a failed `dmlake harvest` of a sandbox replica, for
deletions waiting for confirmation and for a jump in the error rate; undeliverable notices never fail anything."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from email.message import Message
from pathlib import Path

import httpx
import pytest
from fake_source import FakeConnector, FakeStore
from notify_receivers import free_port, smtp_server, webhook_receiver
from sqlalchemy import update

from connectors.base import Limits, MappingError, RawRecord, SourceSpec
from connectors.http import HttpClient
from harvester.catalogue import Catalogue, Counts
from harvester.config import NotifySettings, Source, SourceNotify
from harvester.harvest import Harvester
from harvester.notify import Notifier, error_rate, events_for
from harvester.runs import RunRow
from harvester.schema import runs
from ontology import Record
from sandbox import build_replicas
from sandbox.faults import FaultPlan
from sandbox.server import start

REPO = Path(__file__).resolve().parents[2]


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def test_failed_harvest_reaches_smtp_and_webhook_with_run_counts_and_link(tmp_path: Path) -> None:
    with (
        start(build_replicas(generate=30, seed=1, kinds=["zenodo"])) as sandbox,
        smtp_server() as mailbox,
        webhook_receiver(fail_first=1) as hook,
    ):
        sources = tmp_path / "sources.toml"
        sources.write_text(
            sandbox.sources_toml({"zenodo": {"max_retries": 1, "timeout": 5}})
            + f'\n[sources.zenodo.notify]\nemail = ["dm@example.org", "oncall@example.org"]\nwebhook = "{hook.url}"\n'
            + f'\n[notify]\nsmtp_host = "127.0.0.1"\nsmtp_port = {mailbox.port}\nfrom = "lake@example.org"\n',
            encoding="utf-8",
        )
        # the portal answers every request with 500: the run fails
        plan = FaultPlan(kind="status", status=500, every=1).to_dict()
        httpx.put(f"{sandbox.urls['zenodo']}/_sandbox/faults", json=[plan], timeout=30).raise_for_status()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "harvester.cli",
                "--home",
                str(tmp_path / "home"),
                "--config",
                str(sources),
                "harvest",
                "zenodo",
                "--no-index",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
            env={
                "PATH": os.environ.get("PATH", ""),
                "COLUMNS": "200",
                "DMLAKE_PUBLIC_URL": "https://lake.example.org/",
            },
        )
    assert done.returncode == 1  # the harvest failed, and says so; the notification does not change that
    assert "run 1 notified by email to dm@example.org, oncall@example.org" in done.stderr
    assert "run 1 notified by webhook" in done.stderr

    [(sender, recipients, message)] = mailbox.messages
    assert (sender, recipients) == ("lake@example.org", ["dm@example.org", "oncall@example.org"])
    assert message["Subject"] == "[dmlake] zenodo: run 1 failed"
    assert (message["X-Dmlake-Source"], message["X-Dmlake-Run"], message["X-Dmlake-Events"]) == (
        "zenodo",
        "1",
        "failure",
    )
    body = body_of(message)
    assert "Run: 1 (full), failed" in body
    assert "Records: 0 added, 0 updated, 0 unchanged, 0 deleted" in body
    assert "Run report: https://lake.example.org/admin/runs/1" in body
    assert "dmlake run show 1" in body
    assert "500" in body  # the run's message: what failed

    assert hook.attempts == 2  # the first POST got a 503, the shared client retried
    [payload] = hook.received
    assert (payload["source"], payload["run_id"], payload["state"], payload["events"]) == (
        "zenodo",
        1,
        "failed",
        ["failure"],
    )
    assert payload["counts"]["added"] == 0 and set(payload["counts"]) >= {"added", "updated", "quarantined", "deleted"}
    assert payload["link"] == "https://lake.example.org/admin/runs/1"
    assert payload["requests"] >= 1 and "500" in payload["message"]
    assert hook.headers[0]["Content-Type"] == "application/json"
    assert hook.headers[0]["User-Agent"].startswith("dmlake/")


class ColonBug(FakeConnector):
    @classmethod
    def map_record(cls, raw: RawRecord, source: str) -> Record:
        if b":" in raw.payload.split(b'"title":', 1)[1].split(b",", 1)[0]:
            raise MappingError("title", "cannot read a title with a colon")
        return super().map_record(raw, source)


def harvest(catalogue: Catalogue, store: FakeStore, *, full: bool = False) -> int:
    ColonBug.store = store
    with Harvester(catalogue, HttpClient(Limits()), {"fake": ColonBug}) as harvester:
        report = harvester.harvest(
            Source(SourceSpec("demo", "fake", "http://fake.invalid"), True, 0.2, None), full=full
        )
    return report.run_id


def test_error_rate_jump_and_pending_deletions_are_notified(catalogue: Catalogue) -> None:
    store = FakeStore(40)
    with smtp_server() as mailbox, webhook_receiver() as hook:
        settings = NotifySettings(smtp_host="127.0.0.1", smtp_port=mailbox.port, public_url="http://lake.test")
        wanted = SourceNotify(email=("dm@example.org",), webhook=hook.url, error_rate_jump=0.1)
        source = Source(SourceSpec("demo", "fake", "http://fake.invalid"), True, 0.2, None, notify=wanted)
        notifier = Notifier(catalogue.engine, settings, contact="ops@example.org")

        first = harvest(catalogue, store)
        assert notifier.after_run(source, first) == []  # a clean run: nothing to tell

        for i in range(6):  # 6 of 40 records now fail: 15%, up from 0%
            store.edit(f"r{i:05d}", title=f"Record {i}: revised")
        second = harvest(catalogue, store, full=True)
        deliveries = notifier.after_run(source, second)
        assert [(d.channel, d.ok) for d in deliveries] == [("email", True), ("webhook", True)]
        assert hook.received[-1]["events"] == ["error_rate"]
        assert hook.received[-1]["error_rate"] == pytest.approx(6 / 40)
        assert hook.received[-1]["previous_error_rate"] == 0.0
        assert hook.received[-1]["counts"]["quarantined"] == 6
        assert mailbox.messages[-1][2]["Subject"] == "[dmlake] demo: error rate up to 15.0%"
        assert mailbox.messages[-1][1] == ["dm@example.org"]
        assert mailbox.messages[-1][0] == "ops@example.org"  # no [notify] from: the sources file's contact

        third = harvest(catalogue, store, full=True)  # the same 15% again: no jump
        assert notifier.after_run(source, third) == []

        for i in range(6):  # the source fixes its titles, and half of the records vanish (beyond the 20% guard)
            store.edit(f"r{i:05d}", title=f"Record {i}")
        for i in range(10, 30):
            del store.items[f"r{i:05d}"]
        fourth = harvest(catalogue, store, full=True)
        notifier.after_run(source, fourth)
        assert hook.received[-1]["events"] == ["pending_deletions"]
        assert hook.received[-1]["counts"]["pending_deletions"] == 20
        assert hook.received[-1]["link"] == f"http://lake.test/admin/runs/{fourth}"
        text = body_of(mailbox.messages[-1][2])
        assert "Pending deletions: 20" in text and "dmlake deletions confirm demo" in text
        notifier.close()


def test_undeliverable_notices_are_logged_and_never_raise(
    catalogue: Catalogue, caplog: pytest.LogCaptureFixture
) -> None:
    store = FakeStore(10)
    store.items["r00001"]["title"] = "Record 1: broken"
    run_id = harvest(catalogue, store)
    closed = free_port()  # nothing listens there
    settings = NotifySettings(smtp_host="127.0.0.1", smtp_port=closed, timeout=2)
    wanted = SourceNotify(email=("dm@example.org",), webhook=f"http://127.0.0.1:{closed}/hook", error_rate_jump=0.05)
    source = Source(SourceSpec("demo", "fake", "http://fake.invalid"), True, 0.2, None, notify=wanted)
    notifier = Notifier(catalogue.engine, settings)
    with caplog.at_level(logging.WARNING, logger="harvester.notify"):
        deliveries = notifier.after_run(source, run_id)
    notifier.close()
    assert [(d.channel, d.ok) for d in deliveries] == [("email", False), ("webhook", False)]
    assert all(d.error for d in deliveries)
    assert "ConnectionRefusedError" in (deliveries[0].error or "")
    assert len([r for r in caplog.records if "could not be delivered" in r.message]) == 2


def test_smtp_login_without_its_password_variable_is_explained(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = harvest(catalogue, FakeStore(3))
    with catalogue.engine.begin() as conn:  # the run failed (as a killed process's run is marked)
        conn.execute(update(runs).where(runs.c.id == run_id).values(state="interrupted", message="the process died"))
    monkeypatch.delenv("DMLAKE_TEST_NO_SUCH_VAR", raising=False)
    with smtp_server() as mailbox:
        settings = NotifySettings(
            smtp_host="127.0.0.1", smtp_port=mailbox.port, username="dmlake", password_env="DMLAKE_TEST_NO_SUCH_VAR"
        )
        wanted = SourceNotify(email=("dm@example.org",), on=("failure",))
        source = Source(SourceSpec("demo", "fake", "http://fake.invalid"), True, 0.2, None, notify=wanted)
        [delivery] = Notifier(catalogue.engine, settings).after_run(source, run_id)
    assert delivery.error == (
        "RuntimeError: [notify] username is set but the password variable DMLAKE_TEST_NO_SUCH_VAR is not: "
        "set it in the environment of the harvest"
    )
    assert mailbox.messages == []


def _run(counts: Counts, state: str = "succeeded", run_id: int = 2) -> RunRow:
    from datetime import UTC, datetime

    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    return RunRow(run_id, "demo", state, "incremental", stamp, stamp, stamp, "h", 1, 1, counts, 1, 0, None)


@pytest.mark.parametrize(
    ("now_failed", "before_failed", "jump", "expected"),
    [
        (10, 0, 0.05, True),  # 10% from 0%
        (10, 5, 0.05, True),  # exactly the threshold counts
        (9, 5, 0.05, False),
        (5, 10, 0.05, False),  # better than before
        (0, 0, 0.05, False),
    ],
)
def test_error_rate_jump_threshold(now_failed: int, before_failed: int, jump: float, expected: bool) -> None:
    now = _run(Counts(added=100 - now_failed, quarantined=now_failed))
    before = _run(Counts(unchanged=100 - before_failed, errored=before_failed), run_id=1)
    assert error_rate(now.counts) == now_failed / 100
    events = events_for(now, before, SourceNotify(webhook="http://x", error_rate_jump=jump))
    assert ("error_rate" in events) is expected


def test_events_follow_the_sources_choice() -> None:
    failed = _run(Counts(pending_deletions=3, errored=50, added=50), state="failed")
    everything = SourceNotify(webhook="http://x")
    assert events_for(failed, None, everything) == ("failure", "pending_deletions", "error_rate")
    assert events_for(failed, None, SourceNotify(webhook="http://x", on=("pending_deletions",))) == (
        "pending_deletions",
    )
    assert events_for(_run(Counts()), None, everything) == ()  # nothing seen, nothing wrong
