"""GitLab groups holding datasets, Dark Matter Data Center style: a root group → a subgroup per collaboration → a
project per dataset, each project with a DMDC-style JSON descriptor (`connectors/schemas/dmdc-descriptor.schema.json`).

Listing. `GET /groups/:root/projects?include_subgroups=true&with_shared=false&order_by=id&sort=asc` over GitLab API v4,
following `Link: rel="next"` (or `X-Next-Page` when a proxy drops `Link`). GitLab offers keyset pagination for the
instance-wide `GET /projects` only, not for a group's projects, so the group listing is offset-paged; ordering by id
and remembering the last id seen keeps a resumed run from repeating or skipping projects when the offsets shift.
The repository tree, where GitLab does offer it, is read with keyset pagination (`pagination=keyset`, `page_token`).
The collaboration subgroups are read once per run (`GET /groups/:root/descendant_groups`).

Versions. Every tag of a project is a version, and each version is its own dmlake record (`group/sub/project@tag`),
as HEPData's versions are: a tag pins the repository at one commit, so each version has its own files, sizes and
descriptor, its own landing page (the release page, when the tag has a release) and can be cited on its own; a
record holding all versions could only describe the newest one's files. Each version record `is_version_of` the
project (`gitlab-path`) and `is_new_version_of` the tag before it (tags in commit-date order). A project without
any tag is published as its default branch, one record named by the bare project path.

What a version holds (the *project bundle*, see `connectors.gitlab_mapping`): the project, its subgroup and root
group, the tag and release (release asset links and source archives become distributions), the repository tree at
the tag with each file's size and sha256 (`HEAD /repository/files/:path`, whose `X-Gitlab-Size` and
`X-Gitlab-Content-Sha256` headers say it without the body; Git LFS files, those `.gitattributes` marks
`filter=lfs`, are read raw for their pointer, which gives the real object's size and sha256 oid), and the text of
the descriptor and of `CITATION.cff`, `codemeta.json` and `.zenodo.json` where present (raw file API).

Incremental. `last_activity_after` = the previous run's start minus `overlap_minutes` (default 90: GitLab updates a
project's `last_activity_at` at most once an hour). A version's stamp is a digest of what the listing says about it
(the project's descriptive fields, the tag's commit, its release, the tag before it): a version whose stamp the
catalogue holds is not fetched again. What a commit holds never changes, so this is enough, and better than
conditional GET: an unchanged version costs no request at all, where a 304 would cost one per file (GitLab's raw
file API sends no validator anyway: Workhorse streams the blob, and Rails answers it with `no-cache` and an empty
body; its JSON answers carry a weak body-digest ETag, but a 304 to a listing would still need the listing's body).

Deletions. An archived project's versions become `Deletion`s ("archived"). A full run lists every project
(archived included) and says `listing_complete` on its last page, so versions of projects (or tags) that vanished
are tombstoned by the harvester, unless a project could not be listed this run, which leaves the listing
incomplete rather than risking false tombstones.

Options (`[sources.<name>.options]`): `group` (the root group's full path, required), `token_env` (the name of an
environment variable holding a private token, sent as `PRIVATE-TOKEN`; needed for private groups; never logged),
`descriptor` (the descriptor's file name, default `dmdc.json`), `page_size` (projects per page, ≤ 100, default 20),
`overlap_minutes` (default 90).
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import orjson

from connectors.base import (
    Connector,
    Deletion,
    FetchFailure,
    HarvestState,
    Limits,
    Page,
    RawRecord,
    SourceSpec,
    provenance_for,
    register,
)
from connectors.dmdc_descriptor import DEFAULT_DESCRIPTOR
from connectors.gitlab_mapping import BUNDLE_FORMAT, BUNDLE_MEDIA_TYPE, MAPPING_VERSION, map_bundle, native_id
from connectors.gitlab_metadata_files import READERS
from connectors.http import HttpError
from connectors.paging import Listing, Request
from ontology import Record

log = logging.getLogger(__name__)

MAX_PER_PAGE = 100
"""GitLab caps `per_page` at 100 (larger values are silently cut)."""
LFS_POINTER_MAX = 1024
"""Git LFS pointer files are about 130 bytes; anything bigger is the file itself (committed without LFS)."""
_PROJECT_FIELDS = (
    "id", "name", "path_with_namespace", "description", "topics", "tag_list", "visibility", "archived",
    "default_branch", "web_url", "created_at", "namespace",
)  # fmt: skip


@dataclass(frozen=True)
class GitLabOptions:
    group: str
    token: str | None = field(default=None, repr=False)
    descriptor: str = DEFAULT_DESCRIPTOR
    page_size: int = 20
    overlap: timedelta = timedelta(minutes=90)

    @classmethod
    def from_spec(cls, spec: SourceSpec) -> GitLabOptions:
        options = dict(spec.options)
        where = f"source {spec.name!r} (kind gitlab)"
        known = {"group", "token_env", "descriptor", "page_size", "overlap_minutes"}
        if "token" in options or "private_token" in options:
            raise ValueError(
                f"{where}: do not put a GitLab token in the sources file; put it in an environment variable "
                f"and name that variable in options.token_env"
            )
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"{where}: unknown options {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        group = str(options.get("group") or "").strip().strip("/")
        if not group:
            raise ValueError(f"{where}: options.group (the root group's full path, e.g. 'dmdc') is required")
        token = None
        variable = options.get("token_env")
        if variable:
            token = os.environ.get(str(variable)) or None
            if token is None:
                # Harvesting a private group anonymously would see fewer projects and tombstone the rest.
                raise ValueError(
                    f"{where}: options.token_env names the environment variable {variable}, which is not set; "
                    f"set it to a GitLab token with read_api scope, or remove token_env for a public group"
                )
        page_size = int(options.get("page_size", 20))
        if not 1 <= page_size <= MAX_PER_PAGE:
            raise ValueError(f"{where}: options.page_size must be between 1 and {MAX_PER_PAGE}, not {page_size}")
        overlap = float(options.get("overlap_minutes", 90))
        if overlap < 0:
            raise ValueError(f"{where}: options.overlap_minutes must not be negative")
        descriptor = str(options.get("descriptor", DEFAULT_DESCRIPTOR)).strip() or DEFAULT_DESCRIPTOR
        return cls(group, token, descriptor, page_size, timedelta(minutes=overlap))


@dataclass(frozen=True)
class GitLabNext:
    """GitLab's next page: `Link: rel="next"`, or the `X-Next-Page` number when the `Link` header is missing."""

    def next_request(
        self, request: Request, response: httpx.Response, body: Any, items: Sequence[Any]
    ) -> Request | None:
        if not items:
            return None
        link = response.links.get("next", {}).get("url")
        if link:
            return Request.of(link)
        following = response.headers.get("x-next-page", "").strip()
        return request.with_params(page=following) if following.isdigit() else None


@dataclass
class _Version:
    """One version of a project to publish: a tag (with its release), or the default branch of an untagged project."""

    native_id: str
    ref: str | None
    kind: str
    stamp: str
    tag: dict[str, Any] | None = None
    release: dict[str, Any] | None = None


@dataclass
class _Project:
    """What the listing phase learnt about one project."""

    project: dict[str, Any]
    versions: list[_Version] = field(default_factory=list)
    tag_names: list[str] = field(default_factory=list)
    error: str | None = None
    gone: bool = False
    """Listed, then 404 when its tags were read: removed meanwhile (a full listing's disappearance deals with it)."""
    requests: int = 0


def lfs_patterns(gitattributes: str) -> list[str]:
    """The path patterns a `.gitattributes` file puts under Git LFS (`filter=lfs`)."""
    patterns = []
    for line in gitattributes.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not parts[0].startswith("#") and "filter=lfs" in parts[1:]:
            patterns.append(parts[0])
    return patterns


def lfs_tracked(path: str, patterns: Sequence[str]) -> bool:
    """Whether a repository path matches a `.gitattributes` pattern (a pattern without `/` matches any basename)."""
    name = path.rsplit("/", 1)[-1]
    for pattern in patterns:
        anchored = pattern.lstrip("/")
        if "/" in anchored.rstrip("/"):
            if fnmatch.fnmatchcase(path, anchored) or fnmatch.fnmatchcase(path, anchored.replace("**/", "")):
                return True
        elif fnmatch.fnmatchcase(name, anchored):
            return True
    return False


def parse_lfs_pointer(data: bytes) -> dict[str, Any] | None:
    """A Git LFS pointer file's `oid` (`sha256:<hex>`) and `size`, or None if the bytes are not a pointer."""
    if len(data) > LFS_POINTER_MAX or not data.startswith(b"version https://git-lfs.github.com/spec/"):
        return None
    fields = {}
    for line in data.decode("ascii", errors="replace").splitlines():
        key, _, value = line.partition(" ")
        fields[key] = value.strip()
    oid, size = fields.get("oid", ""), fields.get("size", "")
    if not oid.startswith("sha256:") or len(oid) != 7 + 64 or not size.isdigit():
        return None
    return {"oid": oid, "size": int(size)}


def _digest(value: Any) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


@register
class GitLabConnector(Connector):
    kind: ClassVar[str] = "gitlab"
    mapping_version: ClassVar[str] = MAPPING_VERSION
    default_url: ClassVar[str] = "https://gitlab.com"
    recommended_limits: ClassVar[Limits] = Limits(requests_per_minute=600, concurrency=4)
    """GitLab.com allows 600 group-project listings and 2,000 authenticated API calls a minute."""

    def __init__(self, spec: SourceSpec, http: Any) -> None:
        super().__init__(spec, http)
        self.options = GitLabOptions.from_spec(spec)
        base = spec.url.rstrip("/")
        self.api = base if base.endswith("/api/v4") else f"{base}/api/v4"
        self._headers = {"PRIVATE-TOKEN": self.options.token} if self.options.token else {}
        self._blob_cache: dict[tuple[int, str], tuple[int | None, str | None]] = {}

    @property
    def group_id(self) -> str:
        return quote(self.options.group, safe="")

    # -- HTTP ---------------------------------------------------------------------------------------------------
    def _get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.http.get_json(url, params=params, headers=self._headers or None)

    def _raw(self, url: str, params: Mapping[str, Any]) -> bytes:
        response: httpx.Response = self.http.get(url, params=params, headers=self._headers or None)
        return response.content

    def _all(self, url: str, params: Mapping[str, Any]) -> tuple[list[Any], int]:
        listing = Listing(Request.of(url, params), (), GitLabNext(), headers=tuple(self._headers.items()))
        items: list[Any] = []
        pages = 0
        for page in listing.pages(self.http):
            items += page.items
            pages += 1
        return items, pages

    def _explain(self, error: HttpError, what: str) -> HttpError:
        if error.status == 401:
            return HttpError(error.url, f"GitLab refused the token (401) while reading {what}: check options.token_env")
        if error.status == 404 and not self._headers:
            return HttpError(
                error.url,
                f"{what} was not found (404): it does not exist, or it is private and needs a token "
                f"(options.token_env)",
                404,
            )
        return error

    # -- listing ------------------------------------------------------------------------------------------------
    def pages(self, state: HarvestState) -> Iterator[Page]:
        if state.resume:
            mode = str(state.resume["mode"])
            since = state.resume.get("since")
            watermark = str(state.resume["watermark"])
            resume = Request.from_state(state.resume["next"]) if state.resume.get("next") else None
            after_id = int(state.resume.get("after_id") or 0)
            complete_so_far = bool(state.resume.get("complete", True))
        else:
            now = datetime.now(UTC)
            watermark = now.isoformat().replace("+00:00", "Z")
            previous = state.previous or {}
            if state.full or not previous.get("watermark"):
                mode, since = "full", None
            else:
                mode = "incremental"
                stamp = datetime.fromisoformat(str(previous["watermark"]).replace("Z", "+00:00"))
                since = (stamp - self.options.overlap).isoformat().replace("+00:00", "Z")
            resume, after_id, complete_so_far = None, 0, True

        try:
            root = self._get_json(f"{self.api}/groups/{self.group_id}")
            groups, group_pages = self._all(
                f"{self.api}/groups/{self.group_id}/descendant_groups", {"per_page": MAX_PER_PAGE}
            )
        except HttpError as error:
            raise self._explain(error, f"group {self.options.group!r}") from error
        by_id = {g["id"]: g for g in groups if isinstance(g, dict) and "id" in g}
        if isinstance(root, dict) and "id" in root:
            by_id[root["id"]] = root
        params: dict[str, Any] = {
            "include_subgroups": "true",
            "with_shared": "false",
            "order_by": "id",
            "sort": "asc",
            "per_page": self.options.page_size,
        }
        if since:
            params["last_activity_after"] = since
        listing = Listing(
            Request.of(f"{self.api}/groups/{self.group_id}/projects", params),
            (),
            GitLabNext(),
            headers=tuple(self._headers.items()),
        )
        setup_requests = 1 + group_pages
        emitted = 0
        complete = complete_so_far
        for listed in listing.pages(self.http, resume=resume):
            projects = [p for p in listed.items if isinstance(p, dict) and int(p.get("id", 0)) > after_id]
            page = self._page(projects, root, by_id, state)
            page.requests += 1 + setup_requests
            setup_requests = 0
            if any(f.native_id in {p.get("path_with_namespace") for p in projects} for f in page.failures):
                complete = False  # a project whose versions are unknown: its records must not look vanished
            if projects:
                after_id = max(int(p["id"]) for p in projects)
            final = listed.next is None
            page.checkpoint = {
                "mode": mode,
                "since": since,
                "watermark": watermark,
                "next": listed.next.to_state() if listed.next else None,
                "after_id": after_id,
                "complete": complete,
                "done": final,
            }
            page.listing_complete = final and mode == "full" and complete
            yield page
            emitted += len(page.records) + len(page.unchanged)
            if state.limit is not None and emitted >= state.limit:
                return

    def _page(self, projects: list[dict[str, Any]], root: Any, groups: Mapping[int, Any], state: HarvestState) -> Page:
        page = Page(checkpoint={})
        listed = self.http.map_concurrently(self._versions, projects)
        page.requests += sum(p.requests for p in listed)
        ids = [v.native_id for p in listed for v in p.versions]
        ids += [
            native_id(p.project["path_with_namespace"], t)
            for p in listed
            if p.project.get("archived")
            for t in p.tag_names
        ]
        ids += [p.project["path_with_namespace"] for p in listed if p.project.get("archived")]
        known = state.known(ids) if ids else {}
        for item in listed:
            path = str(item.project["path_with_namespace"])
            if item.gone:
                continue
            if item.error is not None:
                page.failures.append(FetchFailure(path, f"{self.api}/projects/{item.project.get('id')}", item.error))
                continue
            if item.project.get("archived"):
                gone = [native_id(path, t) for t in item.tag_names] + [path]
                page.deletions += [Deletion(i, "the GitLab project is archived") for i in gone if i in known]
                continue
            for version in item.versions:
                if version.native_id in known and known[version.native_id] == version.stamp:
                    page.unchanged.append(version.native_id)
                    continue
                try:
                    raw, requests = self._fetch(item, version, root, groups)
                except HttpError as error:
                    page.failures.append(FetchFailure(version.native_id, error.url, str(error)))
                    continue
                page.requests += requests
                page.records.append(raw)
        return page

    def _versions(self, project: dict[str, Any]) -> _Project:
        item = _Project(project)
        path = str(project.get("path_with_namespace") or "")
        base = f"{self.api}/projects/{project.get('id')}"
        try:
            tags, tag_pages = self._all(
                f"{base}/repository/tags", {"order_by": "updated", "sort": "asc", "per_page": MAX_PER_PAGE}
            )
            item.requests += tag_pages
            item.tag_names = [str(t["name"]) for t in tags if isinstance(t, dict) and t.get("name")]
            if project.get("archived"):
                return item
            releases, release_pages = self._all(f"{base}/releases", {"per_page": MAX_PER_PAGE}) if tags else ([], 0)
            item.requests += release_pages
        except HttpError as error:
            if error.status == 404:
                # gone between listing and reading: a full listing's disappearance deals with it
                log.info("gitlab: %s was listed but is gone (404)", path)
                item.gone = True
                return item
            item.error = str(error)
            return item
        described = {k: project.get(k) for k in _PROJECT_FIELDS}
        by_tag = {r.get("tag_name"): r for r in releases if isinstance(r, dict)}
        previous: str | None = None
        for tag in tags:
            if not isinstance(tag, dict) or not tag.get("name"):
                continue
            name = str(tag["name"])
            commit: dict[str, Any] = tag["commit"] if isinstance(tag.get("commit"), dict) else {}
            release = by_tag.get(name)
            stamp = _digest([described, name, commit.get("id") or tag.get("target"), release, previous])
            item.versions.append(_Version(native_id(path, name), name, "tag", stamp, tag, release))
            previous = name
        if not item.versions:
            stamp = _digest([described, project.get("last_activity_at")])
            item.versions.append(_Version(path, project.get("default_branch"), "branch", stamp))
        return item

    # -- one version --------------------------------------------------------------------------------------------
    def _fetch(self, item: _Project, version: _Version, root: Any, groups: Mapping[int, Any]) -> tuple[RawRecord, int]:
        project = item.project
        base = f"{self.api}/projects/{project['id']}"
        requests = 0
        tree: list[dict[str, Any]] = []
        documents: dict[str, str] = {}
        commit = None
        if version.tag is not None and isinstance(version.tag.get("commit"), dict):
            commit = version.tag["commit"].get("id")
        if version.ref:
            blobs, requests = self._tree(base, version.ref)
            wanted = {self.options.descriptor, *READERS}
            top = {b["path"] for b in blobs if "/" not in b["path"]}
            for name in sorted(wanted & top):
                documents[name] = self._raw(
                    f"{base}/repository/files/{quote(name, safe='')}/raw", {"ref": version.ref}
                ).decode("utf-8", errors="replace")
                requests += 1
            patterns: list[str] = []
            if ".gitattributes" in top:
                attributes = self._raw(f"{base}/repository/files/.gitattributes/raw", {"ref": version.ref})
                patterns = lfs_patterns(attributes.decode("utf-8", errors="replace"))
                requests += 1
            sizes = self.http.map_concurrently(lambda b: self._blob(base, project["id"], version.ref, b), blobs)
            requests += sum(1 for _, _, fetched in sizes if fetched)
            for blob, (size, sha256, _) in zip(blobs, sizes, strict=True):
                entry: dict[str, Any] = {"path": blob["path"], "id": blob.get("id"), "size": size, "sha256": sha256}
                entry["lfs"] = None
                if patterns and lfs_tracked(blob["path"], patterns) and (size or 0) <= LFS_POINTER_MAX:
                    pointer = self._raw(
                        f"{base}/repository/files/{quote(blob['path'], safe='')}/raw", {"ref": version.ref}
                    )
                    requests += 1
                    entry["lfs"] = parse_lfs_pointer(pointer)
                tree.append(entry)
        namespace: dict[str, Any] = project["namespace"] if isinstance(project.get("namespace"), dict) else {}
        bundle = {
            "format": BUNDLE_FORMAT,
            "api_url": self.api,
            "root_group": root,
            "group": groups.get(int(namespace.get("id") or 0)),
            "project": project,
            "ref": {"kind": version.kind, "name": version.ref, "commit": commit},
            "tag": version.tag,
            "release": version.release,
            "versions": item.tag_names,
            "tree": tree,
            "documents": documents,
            "descriptor_name": self.options.descriptor,
        }
        url = f"{base}/releases/{quote(version.ref or '', safe='')}" if version.release else base
        raw = RawRecord(
            native_id=version.native_id,
            payload=orjson.dumps(bundle, option=orjson.OPT_SORT_KEYS),
            media_type=BUNDLE_MEDIA_TYPE,
            url=url,
            source_updated=version.stamp,
        )
        return raw, requests

    def _tree(self, base: str, ref: str) -> tuple[list[dict[str, Any]], int]:
        params = {"ref": ref, "recursive": "true", "per_page": MAX_PER_PAGE, "pagination": "keyset"}
        try:
            entries, pages = self._all(f"{base}/repository/tree", params)
        except HttpError as error:
            if error.status == 404:  # an empty repository has no tree
                return [], 1
            raise
        blobs = [e for e in entries if isinstance(e, dict) and e.get("type") == "blob" and e.get("path")]
        return sorted(blobs, key=lambda e: str(e["path"])), pages

    def _blob(self, base: str, project_id: int, ref: str, blob: dict[str, Any]) -> tuple[int | None, str | None, bool]:
        """Size and sha256 of a file from the files API's headers, remembered by blob id for the run."""
        key = (project_id, str(blob.get("id")))
        if blob.get("id") and key in self._blob_cache:
            size, sha256 = self._blob_cache[key]
            return size, sha256, False
        response = self.http.request(
            "HEAD",
            f"{base}/repository/files/{quote(blob['path'], safe='')}",
            params={"ref": ref},
            headers=self._headers or None,
        )
        size_text = response.headers.get("x-gitlab-size", "")
        size = int(size_text) if size_text.isdigit() else None
        sha256 = response.headers.get("x-gitlab-content-sha256") or None
        if blob.get("id"):
            self._blob_cache[key] = (size, sha256)
        return size, sha256, True

    # -- mapping ------------------------------------------------------------------------------------------------
    @classmethod
    def map_record(cls, raw: RawRecord, source: str) -> Record:
        return map_bundle(raw, source, provenance_for(cls, raw, source))
