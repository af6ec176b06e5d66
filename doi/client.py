"""DataCite's REST API (JSON:API `/dois`) through the shared `HttpClient`: its retries, its backoff on 429 and 5xx
(honouring `Retry-After`), and a request rate per host — DataCite's documented limit is 300 requests per 5 minutes.

Why not the `datacite` package's `DataCiteRESTClient`: it sends with `requests` on its own, so it would bypass the
rate limit, the 429/Retry-After handling and the request counts every other dmlake HTTP call has; and its calls
return only parts of an answer (`get_doi` gives the URL, `draft_doi` the DOI), while reconciliation needs the DOI's
state and full attributes. The API itself is small; the bodies below are the ones its documentation shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.base import Limits
from connectors.http import HttpClient, HttpError
from doi.policy import Credentials

JSONAPI = "application/vnd.api+json"


class DataCiteError(Exception):
    """DataCite refused a request: the DOI, the status and DataCite's own error titles (never the credentials)."""

    def __init__(self, doi: str, status: int | None, errors: list[str]) -> None:
        super().__init__(f"DataCite refused {doi} (HTTP {status}): {'; '.join(errors) or 'no reason given'}")
        self.doi = doi
        self.status = status
        self.errors = errors


@dataclass(frozen=True)
class RemoteDoi:
    doi: str
    state: str
    attributes: dict[str, Any]


class DataCiteClient:
    def __init__(
        self,
        endpoint: str,
        credentials: Credentials,
        http: HttpClient | None = None,
        requests_per_minute: float | None = 60.0,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._auth = (credentials.username, credentials.password)
        self.http = http or HttpClient(Limits(requests_per_minute=requests_per_minute, concurrency=1))
        self.http.set_host_limits(self.endpoint, Limits(requests_per_minute=requests_per_minute, concurrency=1))

    def get(self, doi: str) -> RemoteDoi | None:
        """The DOI as DataCite has it, or None when DataCite does not know it."""
        response = self._call("GET", f"/dois/{doi}", doi, ok=(404,))
        if response is None:
            return None
        return _remote(response)

    def create(self, doi: str, attributes: dict[str, Any], event: str | None) -> RemoteDoi:
        """A new DOI: a draft without `event`, registered or findable with `register` or `publish`."""
        body = _body({**attributes, "doi": doi}, event)
        answer = self._call("POST", "/dois", doi, json_body=body)
        assert answer is not None
        return _remote(answer)

    def update(self, doi: str, attributes: dict[str, Any] | None, event: str | None) -> RemoteDoi:
        body = _body({**(attributes or {}), "doi": doi}, event)
        answer = self._call("PUT", f"/dois/{doi}", doi, json_body=body)
        assert answer is not None
        return _remote(answer)

    def delete_draft(self, doi: str) -> None:
        self._call("DELETE", f"/dois/{doi}", doi, ok=(404,))

    def list(self, prefix: str, page_size: int = 1000) -> list[RemoteDoi]:
        found: list[RemoteDoi] = []
        number = 1
        while True:
            params = {"prefix": prefix, "page[size]": str(page_size), "page[number]": str(number)}
            response = self.http.request(
                "GET", f"{self.endpoint}/dois", params=params, auth=self._auth, headers={"Accept": JSONAPI}
            )
            body = response.json()
            found += [RemoteDoi(d["id"], d["attributes"]["state"], d["attributes"]) for d in body["data"]]
            if not body.get("links", {}).get("next"):
                return found
            number += 1

    def _call(
        self, method: str, path: str, doi: str, *, json_body: Any = None, ok: tuple[int, ...] = ()
    ) -> dict[str, Any] | None:
        try:
            response = self.http.request(
                method,
                self.endpoint + path,
                json_body=json_body,
                auth=self._auth,
                ok_statuses=ok,
                headers={"Content-Type": JSONAPI, "Accept": JSONAPI},
            )
        except HttpError as error:
            raise DataCiteError(doi, error.status, _titles(error.message)) from None
        if response.status_code in ok or response.status_code == 204:
            return None
        data: dict[str, Any] = response.json()
        return data


def _body(attributes: dict[str, Any], event: str | None) -> dict[str, Any]:
    if event is not None:
        attributes = {**attributes, "event": event}
    return {"data": {"type": "dois", "attributes": attributes}}


def _remote(answer: dict[str, Any]) -> RemoteDoi:
    attributes = answer["data"]["attributes"]
    return RemoteDoi(str(answer["data"]["id"]).lower(), str(attributes["state"]), attributes)


def _titles(message: str) -> list[str]:
    import json

    try:
        errors = json.loads(message)["errors"]
        return [f"{e.get('source', e.get('status', ''))}: {e.get('title', '')}".strip(": ") for e in errors]
    except (ValueError, KeyError, TypeError):
        return [message]
