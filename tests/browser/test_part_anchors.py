"""A file's DOI landing in a real headless Chromium: the landing URL the DOI code gives a file of the COSINE-100 release
(`doi.registrar.part_url`: the release's page, the file's DOI segment as anchor) opens the page scrolled to that
file's row, which the page marks as the target. Screenshot kept in `test-artifacts/browser/`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from browser_page import shot

from doi.parts import file_segment
from doi.registrar import part_url

COSINE = "dmdc/dmdc%2Fcosine%2Fcosine100-6years-modulation%40v1.0"

pytestmark = pytest.mark.xdist_group("browser")


def test_a_files_landing_url_opens_the_page_at_its_row(service: str, page: Any) -> None:
    record = httpx.get(f"{service}/api/records/{COSINE}", params={"format": "json"}, timeout=60).json()
    names = [f["name"] for f in record["distributions"] if f.get("role", "data") == "data"]
    name = names[-1]  # the last data file: far enough down the page that landing on it needs a scroll
    release_doi = "10.80000/dmlake.dmdc.dmdc-cosine-cosine100-6years-modulation-v1.0"
    landing = part_url(f"{service}/records/{COSINE}", f"{release_doi}/{file_segment(name)}")
    page.goto(landing)
    page.wait_for_selector("table.files tr.file")
    page.wait_for_selector("#plot figure.plot svg, #plot .message", state="attached")  # the page has settled
    target = page.evaluate(
        "() => { const t = document.querySelector(':target'); if (!t) return null;"
        " const box = t.getBoundingClientRect();"
        " return {tag: t.tagName, id: t.id, cls: t.className, file: t.querySelector('td').textContent,"
        "         top: box.top, bottom: box.bottom, height: window.innerHeight, scrolled: window.scrollY}; }"
    )
    assert target is not None, f"{landing}: no element is the target"
    assert (target["tag"], target["cls"], target["id"]) == ("TR", "file", file_segment(name))
    assert name in target["file"]
    # scrolled to it: the row at the top of the view (to within a pixel's rounding)
    assert target["scrolled"] > 0 and -2 <= target["top"] < target["height"] and target["bottom"] > 0, target
    shot(page, "07-record-page-file-landing")
