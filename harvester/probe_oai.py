"""Probing an OAI-PMH repository for `dmlake source add --kind oai`: where it answers, what it offers, what to ask.

* The base URL: the one given, else the usual paths below it (`/oai2d` of Invenio, `/oai`, `/oai/request` of
  DSpace, ...), each tried with Identify. A pasted request URL (`…/oai2d?verb=ListRecords&set=…&metadataPrefix=…`)
  is split into the base URL and the set and format it asked for.
* Identify: repository name, protocol version, granularity, earliest datestamp and the deletedRecord policy, with
  what that policy means for detecting deletions.
* ListMetadataFormats: the formats dmlake's mappers read are recognised by namespace, and the richest is proposed:
  DataCite (`oai_datacite`, then a bare kernel such as `datacite`) over `oai_dc`, because DataCite types what Dublin
  Core leaves as free text (identifiers, creators with ORCID and affiliation, related identifiers, rights URIs, typed
  dates). Unless the richer format covers fewer records: each candidate's listing size is asked for
  (ListIdentifiers, one page), and a DataCite format that lists fewer records than `oai_dc` is not proposed.
* ListSets: the sets are listed (a few pages at most: Zenodo has tens of thousands); none is proposed unless the
  pasted URL named one, since a set restricts the harvest and only the data manager knows to what.
* The mapping profile (`zenodo`, `cernopendata`, `kcdc`, else `generic`) from the record identifiers and the
  repository's name and host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from connectors.datacite_xml import OAI_DATACITE_NAMESPACES, is_kernel_namespace
from connectors.http import HttpClient, HttpError
from connectors.oai_dc import OAI_DC_NAMESPACE
from connectors.oaipmh_protocol import Identify, MetadataFormat, OaiClient, OaiError, header_of
from harvester.onboarding import ProbeError, ProbeReport, Proposal, host_label, propose_limits

COMMON_PATHS = ("/oai2d", "/oai", "/oai/request", "/oai2", "/cgi/oai2", "/oai-pmh", "/api/oai", "/oai/provider")
"""Where OAI-PMH endpoints usually live below a site's root (Invenio, KCDC's prototype, DSpace, EPrints, ...)."""
SET_PAGES = 3
"""ListSets pages read at most (each of Zenodo's holds a few hundred of its communities)."""
SETS_SHOWN = 15
RANK = {"oai_datacite": 3, "datacite": 2, "oai_dc": 1}
"""How much a format carries that the mappers read: DataCite in OAI's envelope, a bare DataCite kernel, Dublin Core."""
WHY_DATACITE = (
    "DataCite types what Dublin Core leaves as free text: identifiers by scheme, creators with ORCID and "
    "affiliation, related identifiers (versions, papers), rights URIs, typed dates"
)
DELETED_RECORD = {
    "persistent": "the repository keeps deletion markers: incremental runs learn of deletions",
    "transient": "deletion markers may be dropped: run `dmlake harvest --full` now and then to catch the rest",
    "no": "the repository keeps no deletion markers: only a full listing (`dmlake harvest --full`) finds deleted "
    "records, by their absence",
}
PROFILE_BY_IDENTIFIER = (
    ("oai:zenodo.org:", "zenodo"),
    ("oai:cernopendata.cern:", "cernopendata"),
    ("oai:opendata.cern.ch:", "cernopendata"),
)


@dataclass(frozen=True)
class Located:
    base_url: str
    identify: Identify
    asked: dict[str, str]
    """What a pasted request URL asked for (`set`, `metadataPrefix`)."""


def split_request_url(url: str) -> tuple[str, dict[str, str]]:
    """`…/oai2d?verb=ListRecords&set=s&metadataPrefix=p` → (`…/oai2d`, {set, metadataPrefix}); other query
    arguments stay in the base URL (some repositories need them)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query, keep_blank_values=True)
    protocol = {"verb", "set", "metadataPrefix", "from", "until", "identifier", "resumptionToken"}
    asked = {k: v[0] for k, v in query.items() if k in ("set", "metadataPrefix") and v and v[0]}
    kept = [(k, v) for k, values in query.items() if k not in protocol for v in values]
    base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") or "", urlencode(kept), ""))
    return base, asked


def locate(url: str, http: HttpClient) -> tuple[Located, list[str]]:
    """The OAI-PMH base URL at or below `url`, found with Identify; raises `ProbeError` listing every attempt."""
    base, asked = split_request_url(url)
    candidates = [base]
    root = urlunsplit((*urlsplit(base)[:2], "", "", ""))
    if not any(base.endswith(path) for path in COMMON_PATHS):
        candidates += [base + path for path in COMMON_PATHS]
        if root != base:
            candidates += [root + path for path in COMMON_PATHS]
    tried: list[str] = []
    for candidate in dict.fromkeys(candidates):
        client = OaiClient(http, candidate, "probe")
        try:
            identify = client.identify()
        except OaiError as error:
            tried.append(f"Identify at {candidate}: OAI-PMH error {error.code}: {error.message}")
            continue
        except HttpError as error:
            tried.append(f"Identify at {candidate}: {_short(error)}")
            if error.status is None and candidate == base:
                break  # the host does not answer at all: the other paths will not either
            continue
        tried.append(f"Identify at {candidate}: OAI-PMH {identify.protocol_version or '?'} repository")
        return Located(candidate, identify, asked), tried
    raise ProbeError(
        f"no OAI-PMH repository answers at {base} or the usual paths below it. Check the URL (the repository's "
        "base URL, e.g. https://zenodo.org/oai2d: open it with ?verb=Identify in a browser), that the host is "
        "reachable from here (proxy, firewall, VPN), or give another --kind.",
        tried,
    )


def _short(error: HttpError) -> str:
    text = str(error)
    return text if len(text) < 200 else text[:200] + "…"


def format_rank(fmt: MetadataFormat) -> tuple[int, str] | None:
    """Which of dmlake's readers takes a format (by namespace), and its rank; None when none does."""
    namespace = fmt.namespace.strip()
    if namespace in OAI_DATACITE_NAMESPACES:
        return RANK["oai_datacite"], "oai_datacite"
    if is_kernel_namespace(namespace):
        return RANK["datacite"], "datacite"
    if namespace.rstrip("/") == OAI_DC_NAMESPACE.rstrip("/"):
        return RANK["oai_dc"], "oai_dc"
    return None


def listing_size(client: OaiClient, prefix: str, set_spec: str | None) -> tuple[int | None, str | None]:
    """How many records a format lists (completeListSize, or the items of a one-page answer), and the first
    identifier; None when the repository does not say."""
    params = {"metadataPrefix": prefix, **({"set": set_spec} if set_spec else {})}
    page = client.list_page("ListIdentifiers", params)
    if page.no_records_match:
        return 0, None
    first = header_of(page.items[0]).identifier if page.items else None
    if page.token is not None and page.token.complete_list_size is not None:
        return page.token.complete_list_size, first
    if page.next_token is None:
        return len(page.items), first
    return None, first


def choose_format(
    client: OaiClient, formats: list[MetadataFormat], set_spec: str | None, report: ProbeReport
) -> tuple[str | None, str, str | None]:
    """(prefix, why, first identifier): the richest format the mappers read that lists as many records as the
    poorest; reports each candidate's coverage."""
    readable: list[tuple[int, str, MetadataFormat]] = []
    for fmt in formats:
        found = format_rank(fmt)
        if found is not None:
            readable.append((found[0], found[1], fmt))
    if not readable:
        return None, "", None
    readable.sort(key=lambda item: (-item[0], item[2].prefix != item[1], item[2].prefix))
    sizes: dict[str, int | None] = {}
    first: str | None = None
    for _rank, _reader, fmt in readable:
        try:
            sizes[fmt.prefix], identifier = listing_size(client, fmt.prefix, set_spec)
        except (OaiError, HttpError) as error:
            report.failed.append(f"ListIdentifiers with metadataPrefix={fmt.prefix}: {error}")
            sizes[fmt.prefix] = 0
            continue
        first = first or identifier
    coverage = ", ".join(f"{p}: {'?' if n is None else n}" for p, n in sizes.items())
    report.note("records listed per format", coverage + (f" (set {set_spec})" if set_spec else ""))
    known = [n for n in sizes.values() if n is not None]
    most = max(known) if known else None
    for rank, reader, fmt in readable:
        size = sizes.get(fmt.prefix)
        if size == 0:
            continue
        if most is not None and size is not None and size < most:
            report.note(
                f"{fmt.prefix} not proposed",
                f"it lists {size} records where another format lists {most}: harvesting it would leave records out",
            )
            continue
        if rank == RANK["oai_dc"]:
            richer = [f.prefix for r, _, f in readable if r > rank]
            why = "Dublin Core: " + (
                f"the richer {', '.join(richer)} lists fewer records" if richer else "the only format dmlake reads here"
            )
        else:
            why = f"{reader} ({fmt.namespace}): {WHY_DATACITE}"
        return fmt.prefix, why, first
    return None, "", first


def guess_profile(identify: Identify, base_url: str, identifier: str | None) -> tuple[str, str]:
    """The mapping profile, and why."""
    if identifier:
        for prefix, profile in PROFILE_BY_IDENTIFIER:
            if identifier.startswith(prefix):
                return profile, f"identifiers {prefix}…"
    name = identify.repository_name.lower()
    host = (urlsplit(base_url).hostname or "").lower()
    if "kcdc" in name or host.startswith("kcdc."):
        return "kcdc", f"repository {identify.repository_name!r}"
    if "zenodo" in name or host == "zenodo.org":
        return "zenodo", f"repository {identify.repository_name!r}"
    if "cern open data" in name or host == "opendata.cern.ch":
        return "cernopendata", f"repository {identify.repository_name!r}"
    return "generic", "no repository-specific conventions recognised: the record as its metadata says"


def probe_oai(url: str, kind: str, options: dict[str, Any], http: HttpClient) -> ProbeReport:
    located, tried = locate(url, http)
    identify = located.identify
    base = located.base_url
    proposal = Proposal(name=identify.repository_name or host_label(base), kind=kind, url=base)
    report = ProbeReport(url=url, kind=kind, proposal=proposal, tried=tried)
    if base != url:
        proposal.why["url"] = "the OAI-PMH base URL (Identify answers here)"
    report.note("repository", identify.repository_name or "(no name)")
    if identify.base_url and identify.base_url.rstrip("/") != base.rstrip("/"):
        # the address that answered is kept: a declared one behind a proxy or an old host name may not answer here
        report.note("declared baseURL", identify.base_url)
    report.note("protocol version", identify.protocol_version or "(not given)")
    report.note("granularity", identify.granularity)
    report.note("earliest datestamp", identify.earliest_datestamp or "(not given)")
    policy = identify.deleted_record or "no"
    report.note("deletedRecord", f"{policy}: {DELETED_RECORD.get(policy, 'not a value the protocol defines')}")
    if identify.protocol_version and identify.protocol_version != "2.0":
        report.failed.append(f"protocol version {identify.protocol_version}: dmlake speaks OAI-PMH 2.0")
    client = OaiClient(http, base, "probe")

    sets_asked = options.get("sets") or ([located.asked["set"]] if "set" in located.asked else [])
    if isinstance(sets_asked, str):
        sets_asked = [sets_asked]
    try:
        sets, complete = client.list_named_sets(max_pages=SET_PAGES)
    except (OaiError, HttpError) as error:
        sets, complete = [], True
        report.failed.append(f"ListSets: {error}")
    if sets:
        shown = ", ".join(f"{s.spec} ({s.name})" if s.name else s.spec for s in sets[:SETS_SHOWN])
        more = len(sets) - SETS_SHOWN
        count = f"{len(sets)}{'' if complete else '+'}"
        report.note(f"sets ({count})", shown + (f", … {more} more" if more > 0 else ""))
    else:
        report.note("sets", "none (the repository has no set hierarchy)")
    if sets_asked:
        unknown = [s for s in sets_asked if complete and s not in {listed.spec for listed in sets}]
        if unknown:
            report.failed.append(f"no set {', '.join(map(repr, unknown))} in ListSets")
        proposal.options["sets"] = list(sets_asked)
        proposal.why["options.sets"] = "the set you asked for" if len(sets_asked) == 1 else "the sets you asked for"
    elif sets:
        example = sets[0].spec
        proposal.hints.append(f'sets = ["{example}"]   # to harvest only some sets (none: the whole repository)')

    try:
        formats = client.list_metadata_formats()
    except (OaiError, HttpError) as error:
        raise ProbeError(f"{base} answered Identify but not ListMetadataFormats: {error}", tried) from None
    report.note("metadata formats", ", ".join(f.prefix for f in formats) or "(none)")
    first_set = sets_asked[0] if sets_asked else None
    asked_prefix = options.get("metadata_prefix") or located.asked.get("metadataPrefix")
    if asked_prefix:
        offered = {f.prefix: f for f in formats}
        if asked_prefix not in offered:
            report.failed.append(f"metadataPrefix {asked_prefix!r} is not offered (offered: {', '.join(offered)})")
        elif format_rank(offered[asked_prefix]) is None:
            report.failed.append(f"dmlake has no reader for {asked_prefix!r} ({offered[asked_prefix].namespace})")
        prefix, why = asked_prefix, "the format you asked for"
        first = _first_identifier(client, asked_prefix, first_set)
    else:
        chosen, why, first = choose_format(client, formats, first_set, report)
        if chosen is None:
            readable = "oai_dc, oai_datacite or a DataCite kernel"
            raise ProbeError(
                f"{base} offers no metadata format dmlake reads ({readable}); it offers "
                f"{', '.join(f'{f.prefix} ({f.namespace})' for f in formats) or 'none'}",
                tried,
            )
        prefix = chosen
    proposal.options["metadata_prefix"] = prefix
    proposal.why["options.metadata_prefix"] = why

    profile = options.get("profile")
    if profile:
        proposal.options["profile"] = profile
        proposal.why["options.profile"] = "the profile you asked for"
    else:
        profile, reason = guess_profile(identify, base, first)
        proposal.options["profile"] = profile
        proposal.why["options.profile"] = reason
    for key, value in options.items():
        if key not in ("sets", "metadata_prefix", "profile"):
            proposal.options[key] = value
            proposal.why[f"options.{key}"] = "as you asked"
    propose_limits(kind, base, proposal, concurrency=1)
    proposal.why["limits.concurrency"] = "OAI-PMH lists one page after another (resumption tokens)"
    return report


def _first_identifier(client: OaiClient, prefix: str, set_spec: str | None) -> str | None:
    try:
        return listing_size(client, prefix, set_spec)[1]
    except (OaiError, HttpError):
        return None
