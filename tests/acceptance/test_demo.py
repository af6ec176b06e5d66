"""The README's first command, `dmlake demo` (what `make demo` runs), as a real process: every replica harvested,
catalogue and index built, a summary printed, then the search API and the page served on 127.0.0.1."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from sandbox.replicas import REPLICA_CLASSES

REPO = Path(__file__).resolve().parents[2]


def test_demo_harvests_every_replica_then_serves_search_and_the_page(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "harvester.cli", "--home", str(tmp_path / "home"), "demo"]
    process = subprocess.Popen(
        [*command, "--generate", "30", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"},
    )
    printed: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 600
        url = None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            printed.append(line)
            found = re.search(r"serving (http://127\.0\.0\.1:\d+/)", line)
            url = found.group(1) if found else None
        transcript = "".join(printed)
        assert url is not None, f"the demo never said where it serves:\n{transcript}"
        for name in REPLICA_CLASSES:
            assert re.search(rf"replica {re.escape(name)}\s+http://127\.0\.0\.1:\d+", transcript), name
        assert "failed" not in transcript, transcript
        assert re.search(r"[\d,]+ records", transcript)

        search = httpx.get(f"{url}api/search", params={"q": "", "facet": "source", "size": 1}, timeout=30).json()
        sources = {value["value"] for value in search["facets"]["source"]}
        assert sources == set(REPLICA_CLASSES), f"sources in the index: {sorted(sources)}"
        assert search["total"] >= len(REPLICA_CLASSES) * 5
        record = httpx.get(f"{url}api/records/{search['hits'][0]['id']}", timeout=30)
        assert record.status_code == 200, (search["hits"][0]["id"], record.text[:300])
        assert record.json()["id"] == search["hits"][0]["id"]
        page = httpx.get(url, timeout=30)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert httpx.get(f"{url}openapi.json", timeout=30).json()["paths"]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
