"""What the browser tests read off the search page, and ask the API to compare it with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

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
PAGE_SIZE = 20
WAIT_MS = 30_000


def shot(page: Any, name: str) -> None:
    """A full-page screenshot kept as a test artefact in `test-artifacts/browser/`."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def wait_for_total(page: Any, total: int) -> None:
    page.wait_for_function("n => document.querySelector('#summary').dataset.total === String(n)", arg=total)


def wait_for_page(page: Any, number: int, total: int) -> None:
    """The results of page `number` of a search with `total` hits are shown."""
    page.wait_for_function(
        "([n, t]) => { const s = document.querySelector('#summary').dataset;"
        " return s.page === String(n) && s.total === String(t) && !document.body.hasAttribute('aria-busy'); }",
        arg=[number, total],
    )


def hit_ids(page: Any) -> list[str]:
    return list(page.eval_on_selector_all("#hits > li", "items => items.map(i => i.dataset.id)"))


def total_shown(page: Any) -> int:
    return int(page.get_attribute("#summary", "data-total"))


def api_search(base: str, q: str = "", filters: list[str] | None = None, **params: Any) -> dict[str, Any]:
    answer = httpx.get(f"{base}/api/search", params={"q": q, "filter": filters or [], **params}, timeout=60)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def api_total(base: str, q: str = "", filters: list[str] | None = None) -> int:
    return int(api_search(base, q, filters, size=0)["total"])
