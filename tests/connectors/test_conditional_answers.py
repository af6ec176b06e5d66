"""How the CERN Open Data and KCDC connectors read answers to their conditional requests, against a server scripted
answer by answer: what each sends, what a 304 means, and a 304 that vouches for nothing."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import orjson
import pytest

from connectors.base import FetchFailure, HarvestState, Limits, RawRecord, SourceSpec
from connectors.cernopendata import CernOpenDataConnector
from connectors.http import HttpClient, HttpError
from connectors.kcdc import MAPPING_VERSION, KcdcConnector

BASE = "http://portal.test"


def client(answer: Callable[[httpx.Request], httpx.Response], seen: list[httpx.Request]) -> HttpClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    return HttpClient(Limits(max_retries=0), transport=httpx.MockTransport(handler), sleep=lambda s: None)


def cern(http: HttpClient) -> CernOpenDataConnector:
    return CernOpenDataConnector(SourceSpec("cod", "cernopendata", BASE), http)


def test_cern_sends_the_held_etag_and_reads_a_304_as_current() -> None:
    seen: list[httpx.Request] = []
    http = client(lambda r: httpx.Response(304, headers={"ETag": '"7"'}), seen)
    assert cern(http)._fetch("42", {"etag": '"7"', "last_modified": "Tue, 01 Oct 2024 10:00:00 GMT"}) == "42"
    assert seen[0].headers["if-none-match"] == '"7"' and "if-modified-since" not in seen[0].headers
    assert http.stats.not_modified == 1


def test_cern_falls_back_to_last_modified_when_no_etag_was_held() -> None:
    seen: list[httpx.Request] = []
    http = client(lambda r: httpx.Response(304), seen)
    assert cern(http)._fetch("42", {"last_modified": "Tue, 01 Oct 2024 10:00:00 GMT"}) == "42"
    assert seen[0].headers["if-modified-since"] == "Tue, 01 Oct 2024 10:00:00 GMT"


def test_cern_keeps_the_validators_of_a_full_answer_with_the_record() -> None:
    body = orjson.dumps({"id": 42, "updated": "2024-10-01T10:00:00+00:00", "metadata": {"recid": 42}})
    headers = {"ETag": '"8"', "Last-Modified": "Wed, 02 Oct 2024 10:00:00 GMT", "Content-Type": "application/json"}
    seen: list[httpx.Request] = []
    http = client(lambda r: httpx.Response(200, content=body, headers=headers), seen)
    raw = cern(http)._fetch("42", {"etag": '"7"'})
    assert isinstance(raw, RawRecord)
    assert raw.validators == {"etag": '"8"', "last_modified": "Wed, 02 Oct 2024 10:00:00 GMT"}
    assert raw.source_updated == "2024-10-01T10:00:00+00:00"


def test_cern_sends_nothing_conditional_without_held_validators_even_if_the_client_remembers_some() -> None:
    seen: list[httpx.Request] = []
    body = orjson.dumps({"id": 42, "metadata": {"recid": 42}})
    http = client(lambda r: httpx.Response(200, content=body, headers={"ETag": '"9"'}), seen)
    connector = cern(http)
    connector._fetch("42")
    assert http.validators.get(f"{BASE}/api/records/42") is not None  # the client now remembers "9"
    connector._fetch("42")
    assert ["if-none-match" in r.headers for r in seen] == [False, False]


def test_cern_takes_a_304_to_an_unconditional_request_for_a_failure() -> None:
    http = client(lambda r: httpx.Response(304), [])
    failure = cern(http)._fetch("42")
    assert isinstance(failure, FetchFailure) and "not conditional" in failure.message


def kcdc_state(names: list[str]) -> HarvestState:
    checkpoint = {
        "done": True,
        "url": f"{BASE}/datashop/fulldata",
        "validators": {"etag": '"page-1"'},
        "names": names,
        "mapping_version": MAPPING_VERSION,
    }
    return HarvestState(previous=checkpoint)


def test_kcdc_reads_a_304_as_every_row_of_the_last_listing_unchanged() -> None:
    seen: list[httpx.Request] = []
    http = client(lambda r: httpx.Response(304, headers={"ETag": '"page-1"'}), seen)
    connector = KcdcConnector(SourceSpec("kcdc", "kcdc", BASE), http)
    [page] = list(connector.pages(kcdc_state(["A_xxx", "B_xxx"])))
    assert seen[0].headers["if-none-match"] == '"page-1"'
    assert (page.unchanged, page.records, page.listing_complete) == (["A_xxx", "B_xxx"], [], True)
    assert page.checkpoint["validators"] == {"etag": '"page-1"'} and page.checkpoint["names"] == ["A_xxx", "B_xxx"]


@pytest.mark.parametrize(
    "changed", [{"mapping_version": "kcdc-html-0"}, {"url": f"{BASE}/elsewhere"}], ids=["mapping", "moved"]
)
def test_kcdc_does_not_trust_a_checkpoint_of_another_mapping_or_page(changed: dict[str, str]) -> None:
    seen: list[httpx.Request] = []
    http = client(lambda r: httpx.Response(304), seen)
    connector = KcdcConnector(SourceSpec("kcdc", "kcdc", BASE), http)
    state = kcdc_state(["A_xxx"])
    state = HarvestState(previous={**(state.previous or {}), **changed})
    with pytest.raises(HttpError, match="not conditional"):
        list(connector.pages(state))
    assert "if-none-match" not in seen[0].headers
