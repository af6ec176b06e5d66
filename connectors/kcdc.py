"""KCDC (kcdc.iap.kit.edu), the KASCADE Cosmic-ray Data Centre: its preselections, read from the data-shop page.

KCDC's portal has no machine interface (no API, no OAI-PMH in production, no sitemap), so this connector reads
the page that lists the preselections (`/datashop/fulldata`, option `path`) through the shared HTTP client and turns
each row of its release table into one raw record (see `connectors.kcdc_html`). KCDC's OAI-PMH *prototype* is
harvested by the OAI-PMH connector with profile `kcdc` instead (`connectors.kcdc_oai`).

Every run lists the whole page, so every run's last page is `listing_complete`: a row that vanished from the page
becomes a tombstone (through the harvester's mass-deletion guard). There is no modification stamp per row; an
unchanged row maps to an unchanged record, which the catalogue does not write again.

Conditional GET. The page is one document, so its validators (ETag, Last-Modified, when the server sends them) are
kept in the checkpoint, with the names of the rows it listed and the mapping version that read them, rather than with
each row's record: the checkpoint commits in the transaction that stores the rows, so it never vouches for rows the
catalogue does not hold. The next run asks with them; a 304 lists those rows as unchanged without downloading or
parsing the page. A run that stopped early (`limit`) keeps no validators, its rows being only part of the page; a
`--full` run, which starts without the previous checkpoint, fetches the page unconditionally.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, ClassVar

from connectors.base import Connector, HarvestState, Page, RawRecord, register
from connectors.http import HttpError, NotModified, Validators
from connectors.kcdc_html import KcdcPageError, map_kcdc_html_record, parse_page, row_document
from ontology import Record

log = logging.getLogger(__name__)

MAPPING_VERSION = "kcdc-html-1"
PAGE_PATH = "/datashop/fulldata"
MEDIA_TYPE = "text/html; charset=utf-8; kcdc-row=1"
FETCH_ATTEMPTS = 3
"""A page that arrives but does not parse (cut short by a proxy, say) is fetched again this many times in all."""


@register
class KcdcConnector(Connector):
    kind: ClassVar[str] = "kcdc"
    mapping_version: ClassVar[str] = MAPPING_VERSION
    default_url: ClassVar[str] = "https://kcdc.iap.kit.edu"

    @property
    def page_url(self) -> str:
        path = str(self.spec.options.get("path", PAGE_PATH))
        return self.spec.url.rstrip("/") + "/" + path.lstrip("/")

    def pages(self, state: HarvestState) -> Iterator[Page]:
        url = self.page_url
        # a sample (`limit`) reads the page itself: the rows a 304 vouches for are the whole page's
        prior = _prior_listing(state.resume or state.previous, url) if state.limit is None else None
        page, requests = None, 0
        for attempt in range(1, FETCH_ATTEMPTS + 1):
            # Only the first attempt is conditional: a retry is for a page that arrived and did not parse
            held = prior[0] if prior is not None and attempt == 1 else Validators()
            answer = self.http.get_conditional(url, validators=held)
            requests += 1
            if isinstance(answer, NotModified):
                if prior is None or attempt > 1:
                    raise HttpError(url, "answered 304 Not Modified to a request that was not conditional", 304)
                log.info("kcdc: %s not modified since the last run (%d rows)", url, len(prior[1]))
                yield Page(
                    checkpoint=(state.resume or state.previous or {}) | {"validators": answer.validators.to_state()},
                    unchanged=prior[1],
                    listing_complete=True,
                    requests=requests,
                )
                return
            response = answer.response
            try:
                page = parse_page(response.content, url)
                break
            except KcdcPageError as error:
                if attempt == FETCH_ATTEMPTS or b"</html>" in response.content[-4096:].lower():
                    raise  # a whole page in a layout we cannot read: say so, do not retry
                log.info("kcdc: %s looks cut short (%s); fetching it again", url, error)
        assert page is not None
        names = [row.name for row in page.rows]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise KcdcPageError(url, "Data sets", f"the page lists {', '.join(duplicates)} more than once")
        rows = page.rows if state.limit is None else page.rows[: state.limit]
        records = [
            RawRecord(native_id=row.name, payload=row_document(page, row), media_type=MEDIA_TYPE, url=url)
            for row in rows
        ]
        checkpoint: dict[str, Any] = {"done": True, "rows": len(page.rows), "page_updated": page.updated}
        if answer.validators is not None and len(rows) == len(page.rows):
            checkpoint |= {
                "url": url,
                "validators": answer.validators.to_state(),
                "names": names,
                "mapping_version": MAPPING_VERSION,
            }
        yield Page(
            checkpoint=checkpoint,
            records=records,
            listing_complete=len(rows) == len(page.rows),
            requests=requests,
        )

    @classmethod
    def map_record(cls, raw: RawRecord, source: str) -> Record:
        return map_kcdc_html_record(raw, source, cls)


def _prior_listing(checkpoint: dict[str, Any] | None, url: str) -> tuple[Validators, list[str]] | None:
    """The validators and row names a committed listing of this page left, if they can vouch for it now."""
    if not checkpoint or checkpoint.get("url") != url or checkpoint.get("mapping_version") != MAPPING_VERSION:
        return None  # a page moved, or rows read by another mapping version, must be read again
    held, names = checkpoint.get("validators"), checkpoint.get("names")
    if not isinstance(held, dict) or not held or not isinstance(names, list):
        return None
    return Validators.from_state(held), [str(name) for name in names]
