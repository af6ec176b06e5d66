"""The web page in a real headless Chromium (Debian's `chromium`, driven by Playwright; issue 5, acceptance 4).

The sandbox serves the CERN Open Data corpus and the DMDC GitLab group holding the COSINE-100 release; they are
harvested into a temporary home and the service runs under uvicorn on an ephemeral 127.0.0.1 port. The browser then
searches, narrows by a facet (the count checked against the API), pages, opens a record page (files with checksums,
the embedded JSON-LD parsed and compared with the API's schema.org view, every format link answering) and sees the
plot of a COSINE-100 table. Screenshots of each step are kept in `test-artifacts/browser/`.

Chromium missing is a failure, not a skip: `scripts/setup.sh` installs it (`make test` runs it first).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from lakes import harvest_all, sources_of

from dmlake.lake import Lake
from portal.app import create_app
from sandbox import build_replicas, start

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
COSINE = "dmdc/dmdc%2Fcosine%2Fcosine100-6years-modulation%40v1.0"
PAGE_SIZE = 20
WAIT_MS = 30_000

pytestmark = pytest.mark.xdist_group("browser")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Iterator[str]:
    """The service's base URL, over a lake harvested from the CERN and DMDC replicas (kept running: the record
    pages fetch the COSINE-100 files from the GitLab replica to plot them)."""
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


@pytest.fixture(scope="module")
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
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    the_page = context.new_page()
    errors: list[str] = []
    the_page.on("pageerror", lambda error: errors.append(str(error)))
    the_page.set_default_timeout(WAIT_MS)
    yield the_page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def wait_for_total(page: Any, total: int) -> None:
    page.wait_for_function("n => document.querySelector('#summary').dataset.total === String(n)", arg=total)


def hit_ids(page: Any) -> list[str]:
    return list(page.eval_on_selector_all("#hits > li", "items => items.map(i => i.dataset.id)"))


def total_shown(page: Any) -> int:
    return int(page.get_attribute("#summary", "data-total"))


def api_total(base: str, q: str = "", filters: list[str] | None = None) -> int:
    answer = httpx.get(f"{base}/api/search", params={"q": q, "filter": filters or [], "size": 0}, timeout=60)
    answer.raise_for_status()
    return int(answer.json()["total"])


def test_search_facet_click_chips_paging_and_bookmark(service: str, page: Any) -> None:
    page.goto(service + "/")
    page.wait_for_selector("#hits > li")
    assert total_shown(page) == api_total(service) > PAGE_SIZE
    assert len(hit_ids(page)) == PAGE_SIZE
    page.click("#syntax summary")
    assert page.is_visible("text=energy:[1 TeV TO 100 TeV]")
    shot(page, "01-search-page-with-syntax-help")
    page.keyboard.press("Escape")
    assert not page.is_visible("text=energy:[1 TeV TO 100 TeV]")

    page.fill("#q", "muon")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"[?&]q=muon"))
    wait_for_total(page, api_total(service, "muon"))
    texts = api_total(service, "muon")
    assert texts > PAGE_SIZE, "the CERN corpus has many muon datasets"

    # a facet value with more than one page of hits: clicking it narrows the hits to its count, as the API says
    buttons = page.query_selector_all("section.facet[data-facet=experiment] .facet-value")
    choice = next(b for b in buttons if int(b.query_selector(".count").inner_text().replace(",", "")) > PAGE_SIZE)
    value = choice.get_attribute("data-value")
    count = int(choice.query_selector(".count").inner_text().replace(",", ""))
    choice.click()
    wait_for_total(page, count)
    assert count == api_total(service, "muon", [f"experiment={value}"]) < texts
    assert page.get_attribute(f"section.facet[data-facet=experiment] .facet-value[data-value='{value}']",
                              "aria-pressed") == "true"  # fmt: skip
    assert page.inner_text("#chips").startswith(f"Experiment: {value}")
    assert "filter=experiment" in page.url
    shot(page, "02-facet-clicked")

    # paging: the next page brings new hits, none seen before
    first = hit_ids(page)
    page.click("#more")
    page.wait_for_function("n => document.querySelectorAll('#hits > li').length > n", arg=PAGE_SIZE)
    both = hit_ids(page)
    assert both[:PAGE_SIZE] == first and len(set(both)) == len(both) == min(2 * PAGE_SIZE, count)
    shot(page, "03-second-page")

    # the address is the search: reloading it gives the same filtered search
    page.reload()
    wait_for_total(page, count)
    assert page.input_value("#q") == "muon" and hit_ids(page) == first

    # the chip removes the filter
    page.click(f"#chips button[data-filter='experiment={value}']")
    wait_for_total(page, texts)
    assert "filter=" not in page.url and page.inner_text("#chips") == ""

    # a query that cannot be parsed says where and why, instead of showing nothing
    page.fill("#q", "title:(")
    page.press("#q", "Enter")
    page.wait_for_selector("#error:not([hidden])")
    assert "character" in page.inner_text("#error")
    shot(page, "04-query-error")


def test_record_page_files_checksums_json_ld_plot_and_formats(service: str, page: Any) -> None:
    page.goto(service + "/?q=COSINE")
    page.wait_for_selector("#hits > li")
    page.click("#hits > li:first-child h3 a")
    page.wait_for_url(re.compile(r"/records/dmdc/"))
    assert page.inner_text("h1").startswith("COSINE-100")

    record = httpx.get(f"{service}/api/records/{COSINE}", params={"format": "json"}, timeout=60).json()
    assert page.url.endswith("/records/" + COSINE) or record["id"].endswith(page.url.split("/records/", 1)[1])
    checksums = [f"{f['checksum']['algorithm']}:{f['checksum']['value']}" for f in record["distributions"]
                 if f.get("checksum")]  # fmt: skip
    shown = page.eval_on_selector_all("td.checksum code", "codes => codes.map(c => c.textContent)")
    assert checksums and shown == checksums
    assert len(page.query_selector_all("table.files tr.file")) == len(record["distributions"])
    assert "18.7 kB" in page.inner_text("table.files")  # LICENSE, 18,657 bytes

    embedded = json.loads(page.inner_text("script[type='application/ld+json']"))
    served = httpx.get(f"{service}/api/records/{COSINE}", params={"format": "schemaorg"}, timeout=60).json()
    assert embedded == served and embedded["@type"] == "Dataset"

    # the first table is plotted when the page opens: an SVG whose lines carry the table's points
    page.wait_for_selector("#plot figure.plot svg, #plot .message", state="attached")
    assert not page.query_selector("#plot .message"), page.inner_text("#plot .message")
    assert_drawn(page, minimum_points=20)
    shot(page, "05-record-page-with-plot")

    # another table, chosen by the reader: the figure follows
    option = page.eval_on_selector(
        "#plot select[name=file]", "s => [...s.options].find(o => o.text.includes('CosineNaQF.csv')).value"
    )
    page.select_option("#plot select[name=file]", option)
    page.wait_for_selector("#plot figure.plot[data-file='data/CosineNaQF.csv'] svg")
    assert_drawn(page, minimum_points=20)  # matplotlib simplifies a smooth curve's path
    caption = page.inner_text("#plot figcaption")
    assert "qf against nuclear_recoil_energy" in caption and "998 rows" in caption
    shot(page, "06-record-page-other-table")

    # every format the API serves for the record answers
    links = page.eval_on_selector_all("#formats a[data-format]", "links => links.map(a => a.href)")
    assert len(links) >= 8
    for link in links:
        answer = httpx.get(link, timeout=60)
        assert answer.status_code == 200, (link, answer.text[:200])

    not_found = page.goto(service + "/records/cernopendata/no-such-record")
    assert not_found is not None and not_found.status == 404
    assert "No such record" in page.inner_text("h1")
    shot(page, "07-not-found")


def assert_drawn(page: Any, minimum_points: int) -> None:
    """The plot's SVG has a line (matplotlib's `line2d` group) whose path visits at least `minimum_points`."""
    points = page.eval_on_selector_all(
        "#plot figure.plot svg g[id^=line2d] path",
        "paths => paths.map(p => (p.getAttribute('d') || '').split(/[ML]/).filter(s => s.trim()).length)",
    )
    assert points and max(points) >= minimum_points, points
