"""The browser tests' service and browser, shared by every module here (they run on one xdist worker).

The sandbox serves the CERN Open Data corpus and the DMDC GitLab group holding the COSINE-100 release; they are
harvested into a temporary home once per session and the service runs under uvicorn on an ephemeral 127.0.0.1
port (kept running: the record pages fetch the COSINE-100 files from the GitLab replica to plot them). The browser
is Debian's `/usr/bin/chromium` driven by Playwright; missing, it is a failure, not a skip (`scripts/setup.sh`
installs it, `make test` runs it first).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from browser_page import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, WAIT_MS
from lakes import harvest_all, sources_of

from dmlake.lake import Lake
from portal.app import create_app
from sandbox import build_replicas, start


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Iterator[str]:
    """The service's base URL, over a lake harvested from the CERN and DMDC replicas."""
    lake = Lake.open(tmp_path_factory.mktemp("browser-home"))
    with start(build_replicas(corpus, kinds=["cernopendata", "dmdc"])) as running:
        reports = harvest_all(lake, sources_of(running))
        assert all(report.state == "succeeded" for report in reports.values()), reports
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(lake), log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "the service did not start within 30 s"
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()
            lake.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser test needs Debian's chromium. Run scripts/setup.sh (as root, or with "
            "sudo) or `apt-get install -y chromium`."
        )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (its own context: no history or storage from another test); JavaScript errors fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    the_page = context.new_page()
    errors: list[str] = []
    the_page.on("pageerror", lambda error: errors.append(str(error)))
    the_page.set_default_timeout(WAIT_MS)
    yield the_page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
