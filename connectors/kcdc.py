"""KCDC (kcdc.iap.kit.edu), the KASCADE Cosmic-ray Data Centre: its preselections, read from the data-shop page.

KCDC's portal has no machine interface (no API, no OAI-PMH in production, no sitemap), so this connector reads
the page that lists the preselections (`/datashop/fulldata`, option `path`) through the shared HTTP client and turns
each row of its release table into one raw record (see `connectors.kcdc_html`). KCDC's OAI-PMH *prototype* is
harvested by the OAI-PMH connector with profile `kcdc` instead (`connectors.kcdc_oai`).

Every run lists the whole page, so every run's last page is `listing_complete`: a row that vanished from the page
becomes a tombstone (through the harvester's mass-deletion guard). There is no modification stamp per row; an
unchanged row maps to an unchanged record, which the catalogue does not write again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import ClassVar

from connectors.base import Connector, HarvestState, Page, RawRecord, register
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
        page, requests = None, 0
        for attempt in range(1, FETCH_ATTEMPTS + 1):
            response = self.http.get(url)
            requests += 1
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
        yield Page(
            checkpoint={"done": True, "rows": len(page.rows), "page_updated": page.updated},
            records=records,
            listing_complete=len(rows) == len(page.rows),
            requests=requests,
        )

    @classmethod
    def map_record(cls, raw: RawRecord, source: str) -> Record:
        return map_kcdc_html_record(raw, source, cls)
