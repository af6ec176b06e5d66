"""Probing the portal APIs for `dmlake source add`: CERN Open Data, Zenodo, HEPData, GitLab (DMDC) and KCDC.

Each probe reads what the URL names (a Zenodo community page, a GitLab group page), checks it exists, says how many
records a harvest would list and proposes the options with the portal's limits (Zenodo's 25-hit anonymous pages and
30 searches a minute, GitLab's 100 projects a page, the CERN search's 10,000-hit window). The first page itself is
fetched and mapped by `harvester.onboarding.sample_first_page`, through the connector.

`detect_kind` guesses the kind when none is given: from well-known hosts first, else by asking the URL the question
only one kind answers (OAI-PMH Identify, GitLab's group API, an Invenio record search, HEPData's id list, KCDC's
data-shop page), and says what it tried when nothing answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from connectors.http import HttpClient, HttpError
from harvester.onboarding import ProbeError, ProbeReport, Proposal, host_label, propose_limits

RDM_JSON = {"Accept": "application/vnd.inveniordm.v1+json"}
KNOWN_HOSTS = {
    "zenodo.org": "zenodo",
    "sandbox.zenodo.org": "zenodo",
    "opendata.cern.ch": "cernopendata",
    "www.hepdata.net": "hepdata",
    "hepdata.net": "hepdata",
    "gitlab.com": "gitlab",
    "kcdc.iap.kit.edu": "kcdc",
}
ZENODO_PAGE_ANONYMOUS, ZENODO_PAGE_TOKEN = 25, 100
GITLAB_MAX_PAGE = 100
CERN_WINDOW = 10_000


def _root(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def _segments(url: str) -> list[str]:
    return [unquote(s) for s in urlsplit(url).path.split("/") if s]


def _short(error: Exception) -> str:
    text = str(error)
    return text if len(text) < 200 else text[:200] + "…"


# -- detection ---------------------------------------------------------------------------------------------------
def detect_kind(url: str, http: HttpClient) -> str:
    """The connector kind of the endpoint at `url`; raises `ProbeError` with what was tried."""
    host = (urlsplit(url).hostname or "").lower()
    segments = _segments(url)
    looks_oai = any("oai" in s.lower() for s in segments) or "verb=" in urlsplit(url).query
    if host in KNOWN_HOSTS and not looks_oai:
        return KNOWN_HOSTS[host]
    if host.startswith("gitlab.") and not looks_oai:
        return "gitlab"
    tried: list[str] = []
    for kind, question in _QUESTIONS:
        try:
            if question(url, http):
                return kind
            tried.append(f"{kind}: answered, but not as {kind} does")
        except (HttpError, ValueError, KeyError, TypeError) as error:
            tried.append(f"{kind}: {_short(error)}")
            if isinstance(error, HttpError) and error.status is None and not tried[:-1]:
                break  # nothing answers at this host: asking the other questions would only repeat that
    raise ProbeError(
        f"could not tell which kind of source {url} is. Give --kind (one of oai, cernopendata, zenodo, hepdata, "
        "gitlab, kcdc), and check the URL and that the host is reachable from here.",
        tried,
    )


def _is_oai(url: str, http: HttpClient) -> bool:
    from harvester.probe_oai import split_request_url

    base, _ = split_request_url(url)
    for candidate in dict.fromkeys((base, base + "/oai2d", base + "/oai")):
        response = http.request("GET", candidate, params={"verb": "Identify"}, ok_statuses=(400, 404, 422))
        if b"http://www.openarchives.org/OAI/2.0/" in response.content[:2000]:
            return True
    return False


def _is_gitlab(url: str, http: HttpClient) -> bool:
    segments = [s for s in _segments(url) if s not in ("groups", "-")]
    if not segments:
        response = http.request("GET", _root(url) + "/api/v4/version", ok_statuses=(401, 404))
        return response.status_code == 401 or "version" in response.text[:200]
    group = "/".join(segments)
    data = http.get_json(_root(url) + "/api/v4/groups/" + group.replace("/", "%2F"))
    return isinstance(data, dict) and "full_path" in data


def _invenio_hit(url: str, http: HttpClient) -> dict[str, Any] | None:
    data = http.get_json(_root(url) + "/api/records", params={"size": 1}, headers={"Accept": "application/json"})
    hits = data.get("hits", {}).get("hits") if isinstance(data, dict) else None
    return hits[0] if hits else None


def _is_cernopendata(url: str, http: HttpClient) -> bool:
    hit = _invenio_hit(url, http)
    return bool(hit and "recid" in (hit.get("metadata") or {}) and "conceptrecid" not in hit)


def _is_zenodo(url: str, http: HttpClient) -> bool:
    hit = _invenio_hit(url, http)
    return bool(hit and ("conceptrecid" in hit or "conceptdoi" in hit or "parent" in hit))


def _is_hepdata(url: str, http: HttpClient) -> bool:
    data = http.get_json(_root(url) + "/search/ids", params={"inspire_ids": "true"})
    return isinstance(data, list) and all(isinstance(item, int) for item in data[:10])


def _is_kcdc(url: str, http: HttpClient) -> bool:
    from connectors.kcdc import PAGE_PATH
    from connectors.kcdc_html import parse_page

    page_url = _root(url) + PAGE_PATH
    parse_page(http.get(page_url).content, page_url)
    return True


_QUESTIONS: tuple[tuple[str, Callable[[str, HttpClient], bool]], ...] = (
    ("oaipmh", _is_oai),
    ("gitlab", _is_gitlab),
    ("cernopendata", _is_cernopendata),
    ("zenodo", _is_zenodo),
    ("hepdata", _is_hepdata),
    ("kcdc", _is_kcdc),
)


# -- the probes --------------------------------------------------------------------------------------------------
def probe_portal(url: str, kind: str, options: dict[str, Any], http: HttpClient) -> ProbeReport:
    probes: dict[str, Callable[[str, dict[str, Any], HttpClient, ProbeReport], None]] = {
        "zenodo": _zenodo,
        "gitlab": _gitlab,
        "cernopendata": _cernopendata,
        "hepdata": _hepdata,
        "kcdc": _kcdc,
    }
    proposal = Proposal(name=host_label(url), kind=kind, url=_root(url))
    report = ProbeReport(url=url, kind=kind, proposal=proposal)
    if kind not in probes:
        proposal.options.update(options)
        propose_limits(kind, proposal.url, proposal, concurrency=2)
        return report
    probes[kind](url, options, http, report)
    for key, value in options.items():
        if key not in proposal.options:
            proposal.options[key] = value
            proposal.why[f"options.{key}"] = "as you asked"
    return report


def _unreachable(report: ProbeReport, what: str, error: HttpError, check: str) -> ProbeError:
    report.tried.append(f"{what}: {_short(error)}")
    return ProbeError(f"{report.url} did not answer as a {report.kind} portal ({what}). {check}", report.tried)


def _zenodo(url: str, options: dict[str, Any], http: HttpClient, report: ProbeReport) -> None:
    proposal = report.proposal
    segments = _segments(url)
    query = parse_qs(urlsplit(url).query)
    communities = list(options.get("communities") or [])
    if isinstance(options.get("communities"), str):
        communities = [options["communities"]]
    if len(segments) >= 2 and segments[0] == "communities" and segments[1] not in communities:
        communities.append(segments[1])
        proposal.why["options.communities"] = "the community page you gave"
    if len(segments) >= 2 and segments[0] in ("records", "record") and "records" not in options:
        proposal.options["records"] = [segments[1]]
        proposal.why["options.records"] = "the record page you gave (fetched by id every run)"
    if query.get("q") and "query" not in options:
        proposal.options["query"] = query["q"][0]
        proposal.why["options.query"] = "the search you gave"
    for slug in communities:
        try:
            found = http.get_json(f"{proposal.url}/api/communities/{slug}", headers=RDM_JSON)
        except HttpError as error:
            if error.status == 404:
                report.failed.append(f"Zenodo has no community {slug!r} (404): check the slug in its page's address")
                continue
            raise _unreachable(report, f"GET /api/communities/{slug}", error, "Check the URL.") from None
        title = (found.get("metadata") or {}).get("title") or found.get("title") or slug
        report.note(f"community {slug}", title)
    if communities:
        proposal.options["communities"] = communities
        proposal.why.setdefault("options.communities", "as you asked")
    params: dict[str, Any] = {"size": 1, "all_versions": "true"}
    if communities:
        params["communities"] = communities[0]
    try:
        data = http.get_json(f"{proposal.url}/api/records", params=params, headers=RDM_JSON)
        report.tried.append(f"GET {proposal.url}/api/records: a Zenodo search")
    except HttpError as error:
        raise _unreachable(
            report, "GET /api/records", error, "Check the URL (Zenodo's address, e.g. https://zenodo.org)."
        ) from None
    total = (data.get("hits") or {}).get("total")
    scope = f" in community {communities[0]}" if communities else ""
    report.note(f"records{scope} (every version)", total if total is not None else "(not said)")
    if not communities and not options.get("query") and "records" not in proposal.options:
        report.failed.append(
            "no community, query or record chosen: this source would harvest all of Zenodo. Give a community page "
            "(https://zenodo.org/communities/SLUG) or --option communities=SLUG, or --option 'query=...'"
        )
    if "type" not in options:
        proposal.hints.append('type = "dataset"                # only data sets (also "software", "publication", …)')
    token = bool(options.get("access_token_env"))
    page = ZENODO_PAGE_TOKEN if token else ZENODO_PAGE_ANONYMOUS
    report.note(
        "page size",
        f"{page} hits a page {'with' if token else 'without'} a token (Zenodo refuses more); a token in an "
        "environment variable named by access_token_env gives 100",
    )
    proposal.hints.append('access_token_env = "ZENODO_TOKEN"   # a token\'s variable: 100-hit pages, higher limits')
    propose_limits("zenodo", proposal.url, proposal, concurrency=1)
    if proposal.limits["requests_per_minute"] != "unlimited":
        proposal.limits["requests_per_minute"] = 30
        proposal.why["limits.requests_per_minute"] = "Zenodo allows guests 30 searches a minute"
    proposal.why["limits.concurrency"] = "Zenodo's keyset listing reads one page after another"


def _gitlab(url: str, options: dict[str, Any], http: HttpClient, report: ProbeReport) -> None:
    proposal = report.proposal
    segments = [s for s in _segments(url) if s not in ("groups", "-")]
    if segments[:2] == ["api", "v4"]:
        segments = segments[3:] if len(segments) > 2 and segments[2] == "groups" else []
    group = str(options.get("group") or "/".join(segments)).strip("/")
    if not group:
        raise ProbeError(
            f"{url} names no GitLab group: give the root group's page (e.g. https://gitlab.com/dmdc) or "
            "--option group=PATH",
            report.tried,
        )
    proposal.options["group"] = group
    proposal.why["options.group"] = "the root group; a subgroup per collaboration, a project per data set"
    api = f"{proposal.url}/api/v4"
    headers = _gitlab_token(options, report)
    try:
        found = http.get_json(f"{api}/groups/{group.replace('/', '%2F')}", headers=headers)
        report.tried.append(f"GET {api}/groups/{group}: a GitLab group")
    except HttpError as error:
        if error.status == 404:
            raise ProbeError(
                f"GitLab at {proposal.url} has no group {group!r} visible {'with' if headers else 'without'} a "
                "token (404). Check the group's path; a private group needs --option token_env=VARIABLE naming a "
                "variable that holds a token with read_api scope.",
                [*report.tried, f"GET {api}/groups/{group}: HTTP 404"],
            ) from None
        raise _unreachable(report, f"GET {api}/groups/{group}", error, "Check the URL (the GitLab instance).") from None
    report.note("group", f"{found.get('full_path')} ({found.get('name')}, {found.get('visibility')})")
    try:
        response = http.get(
            f"{api}/groups/{group.replace('/', '%2F')}/descendant_groups", params={"per_page": 100}, headers=headers
        )
        subgroups = response.json()
        report.note("subgroups", ", ".join(g.get("full_path", "?") for g in subgroups[:15]) or "(none)")
        response = http.get(
            f"{api}/groups/{group.replace('/', '%2F')}/projects",
            params={"include_subgroups": "true", "per_page": 1},
            headers=headers,
        )
        total = response.headers.get("x-total")
        report.note("projects (subgroups included)", total or "(GitLab did not say)")
    except (HttpError, ValueError) as error:
        report.failed.append(f"listing the group's subgroups and projects: {_short(error)}")
    proposal.hints.append(f"page_size = 20                      # projects a page, at most {GITLAB_MAX_PAGE}")
    proposal.hints.append('descriptor = "dmdc.json"            # the data-set descriptor file in each project')
    if not headers:
        proposal.hints.append('token_env = "GITLAB_TOKEN"          # for a private group: a read_api token\'s variable')
    propose_limits("gitlab", proposal.url, proposal, concurrency=4)
    proposal.why["limits.concurrency"] = "a version's files are read concurrently"


def _gitlab_token(options: dict[str, Any], report: ProbeReport) -> dict[str, str]:
    import os

    variable = options.get("token_env")
    if not variable:
        return {}
    token = os.environ.get(str(variable))
    if not token:
        report.failed.append(f"options.token_env names {variable}, which is not set here")
        return {}
    return {"PRIVATE-TOKEN": token}


def _cernopendata(url: str, options: dict[str, Any], http: HttpClient, report: ProbeReport) -> None:
    proposal = report.proposal
    try:
        data = http.get_json(
            f"{proposal.url}/api/records/",
            params={"size": 1, "ondemand": "true"},
            headers={"Accept": "application/json"},
        )
        report.tried.append(f"GET {proposal.url}/api/records/: a CERN Open Data search")
    except HttpError as error:
        raise _unreachable(
            report, "GET /api/records/", error, "Check the URL (e.g. https://opendata.cern.ch)."
        ) from None
    total = (data.get("hits") or {}).get("total")
    report.note("records", total if total is not None else "(not said)")
    report.note(
        "listing",
        f"the search answers at most {CERN_WINDOW:,} hits a query, so the connector lists by recid windows; every "
        "run lists the whole portal and fetches only new and changed records",
    )
    proposal.hints.append("page_size = 200                     # hits a search page (below 10,000)")
    propose_limits("cernopendata", proposal.url, proposal, concurrency=4)
    proposal.why["limits.concurrency"] = "changed records are fetched concurrently"


def _hepdata(url: str, options: dict[str, Any], http: HttpClient, report: ProbeReport) -> None:
    proposal = report.proposal
    try:
        ids = http.get_json(f"{proposal.url}/search/ids", params={"inspire_ids": "true"})
        report.tried.append(f"GET {proposal.url}/search/ids: HEPData's id list")
    except HttpError as error:
        raise _unreachable(report, "GET /search/ids", error, "Check the URL (e.g. https://www.hepdata.net).") from None
    report.note("records (INSPIRE ids)", len(ids) if isinstance(ids, list) else "(not a list)")
    proposal.hints.append("page_size = 50                      # records a page (each fetched on its own)")
    propose_limits("hepdata", proposal.url, proposal, concurrency=2)
    proposal.why["limits.concurrency"] = "a page's records are fetched concurrently"


def _kcdc(url: str, options: dict[str, Any], http: HttpClient, report: ProbeReport) -> None:
    from connectors.kcdc import PAGE_PATH
    from connectors.kcdc_html import KcdcPageError, parse_page

    proposal = report.proposal
    path = str(options.get("path") or (urlsplit(url).path if len(urlsplit(url).path) > 1 else PAGE_PATH))
    page_url = proposal.url + "/" + path.lstrip("/")
    try:
        page = parse_page(http.get(page_url).content, page_url)
        report.tried.append(f"GET {page_url}: KCDC's data-shop page")
    except HttpError as error:
        raise _unreachable(report, f"GET {page_url}", error, "Check the URL (e.g. https://kcdc.iap.kit.edu).") from None
    except KcdcPageError as error:
        raise ProbeError(f"{page_url} is not a KCDC data-shop page dmlake can read: {error}", report.tried) from None
    if path.rstrip("/") != PAGE_PATH:
        proposal.options["path"] = path
        proposal.why["options.path"] = "the page you gave"
    report.note("preselections", len(page.rows))
    if page.updated:
        report.note("page updated", page.updated)
    report.note("listing", "one page holds every release: every run is a full listing (deletions by absence)")
    propose_limits("kcdc", proposal.url, proposal, concurrency=1)
    proposal.why["limits.concurrency"] = "one page per run"
