"""The record page in a real headless Chromium (Debian's `chromium`, driven by Playwright; issue 5, acceptance 4).

Over the CERN Open Data and DMDC replicas harvested by `conftest.service`, the browser opens a record page from a
search (files with checksums, the embedded JSON-LD parsed and compared with the API's schema.org view, every format
link answering) and sees the plot of a COSINE-100 table. The search page itself is `test_search_page.py`.
Screenshots of each step are kept in `test-artifacts/browser/`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from browser_page import shot

COSINE = "dmdc/dmdc%2Fcosine%2Fcosine100-6years-modulation%40v1.0"

pytestmark = pytest.mark.xdist_group("browser")


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
