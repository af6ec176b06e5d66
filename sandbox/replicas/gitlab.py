"""A replica of GitLab's REST API v4 serving a Dark Matter Data Center style group (source name `dmdc`).

Routes, as GitLab serves them (`lib/api/groups.rb`, `projects.rb`, `repositories.rb`, `repository_files.rb`,
`tags.rb`, `releases.rb`; docs `doc/api/*.md`); `:id` is a numeric id or the URL-encoded full path (`dmdc%2Fcosine`):

* `GET /api/v4/groups/:id`, `/groups/:id/subgroups`, `/groups/:id/descendant_groups`
* `GET /api/v4/groups/:id/projects` with `include_subgroups`, `with_shared`, `archived`, `order_by` (id, name, path,
  created_at, updated_at, last_activity_at), `sort`, `last_activity_after`/`_before`, `topic`, `simple`
* `GET /api/v4/projects/:id`; `/projects/:id/repository/tree` (`ref`, `path`, `recursive`; offset or keyset
  pagination with `pagination=keyset` and `page_token`); `GET|HEAD /projects/:id/repository/files/:path?ref=`
  (JSON with base64 content; HEAD gives the `X-Gitlab-*` headers only); `/files/:path/raw?ref=&lfs=`
* `GET /api/v4/projects/:id/repository/tags` (`order_by` name, updated, version; `sort`), `/releases`,
  `/releases/:tag_name`

Offset pages carry `X-Page`, `X-Per-Page`, `X-Next-Page`, `X-Prev-Page`, `X-Total`, `X-Total-Pages` and `Link`
(rel next, prev, first, last); above 10,000 results the totals and rel="last" are left out, as GitLab does.
`per_page` is capped at 100. Authentication: a `PRIVATE-TOKEN` header (or `Authorization: Bearer`); a wrong token
is `401 {"message":"401 Unauthorized"}` on every route; private groups and projects are invisible without the token
(`404 {"message":"404 Group Not Found"}`), as GitLab hides them. Unknown routes answer `404 {"error":"404 Not Found"}`.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from sandbox.replica import Replica
from sandbox.replicas.gitlab_projects import (
    ROOT,
    CorpusProjects,
    GeneratedBlob,
    GeneratedProjects,
    Group,
    broken_project,
    collaboration_groups,
    cosine_project,
    fixture_projects,
    git_blob_id,
    iso,
    revise,
    root_group,
    with_large_files,
)
from sandbox.store import Entry, ReplicaStore

SANDBOX_TOKEN = "glpat-dmlake-sandbox-0000"
"""The private token the replica accepts (tests put it in the environment variable named by `token_env`)."""
MAX_PER_PAGE = 100
TOTALS_LIMIT = 10_000
PROJECT_ORDERS = ("id", "name", "path", "created_at", "updated_at", "last_activity_at")


def _error(status: int, message: str, key: str = "message") -> JSONResponse:
    return JSONResponse({key: message}, status_code=status)


def _not_found(what: str) -> JSONResponse:
    return _error(404, f"404 {what} Not Found")


def _boolean(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() in ("true", "1", "yes")


def _stamp(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class GitLabReplica(Replica):
    kind = "gitlab"

    def __init__(
        self,
        store: ReplicaStore,
        groups: list[Group],
        *,
        host: str = "gitlab.dmdc.example.org",
    ) -> None:
        super().__init__(store)
        self.root = root_group()
        self.groups = [self.root, *groups]
        self.host = host
        self._generation = 0
        self._listings: dict[tuple[Any, ...], list[int]] = {}
        self._lock = threading.Lock()

    def source_options(self) -> dict[str, Any]:
        return {"group": ROOT}

    @classmethod
    def from_corpus(
        cls, corpus: Path, broken_descriptor: bool = False, large_files: Mapping[str, int] | None = None
    ) -> GitLabReplica | None:
        """The corpus group; `large_files` (path → bytes) adds generated Git LFS files to the COSINE-100 release,
        served streamed (replication tests move hundreds of MiB through them)."""
        cosine = cosine_project(corpus)
        if cosine is None:
            return None
        if large_files:
            cosine = with_large_files(cosine, large_files)
        projects = [cosine, *fixture_projects()]
        if broken_descriptor:
            projects.append(broken_project())
        base = CorpusProjects(projects)
        return cls(ReplicaStore(base, revise), collaboration_groups(private=("internal",)))

    @classmethod
    def generated(cls, count: int, seed: int = 0) -> GitLabReplica:
        return cls(ReplicaStore(GeneratedProjects(count, seed), revise), collaboration_groups())

    # -- overlay bookkeeping: cached listings are dropped when records change --------------------------------------
    async def _edit(self, request: Request) -> Response:
        response = await super()._edit(request)
        self._invalidate()
        return response

    async def _delete(self, request: Request) -> Response:
        response = await super()._delete(request)
        self._invalidate()
        return response

    def _invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._listings.clear()

    # -- routing ------------------------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [Route("/api/v4/{rest:path}", self._dispatch, methods=["GET", "HEAD"])]

    async def _dispatch(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        segments = [unquote(s) for s in raw_path.decode("latin-1").split("?")[0].split("/")[3:]]
        authenticated = self._authenticated(request)
        if authenticated is None:
            return _error(401, "401 Unauthorized")
        if len(segments) >= 2 and segments[0] == "groups":
            return self._groups(request, segments[1], segments[2:], authenticated)
        if len(segments) >= 2 and segments[0] == "projects":
            return self._projects(request, segments[1], segments[2:], authenticated)
        return _error(404, "404 Not Found", key="error")

    @staticmethod
    def _authenticated(request: Request) -> bool | None:
        """True with the right token, False without one, None with a wrong one."""
        token = request.headers.get("private-token")
        bearer = request.headers.get("authorization", "")
        if token is None and bearer.lower().startswith("bearer "):
            token = bearer[7:].strip()
        if token is None:
            return False
        return True if token == SANDBOX_TOKEN else None

    # -- groups -------------------------------------------------------------------------------------------------
    def _find_group(self, key: str, authenticated: bool) -> Group | None:
        group = next((g for g in self.groups if str(g.id) == key or g.full_path == key), None)
        if group is None or (group.visibility != "public" and not authenticated):
            return None
        return group

    def _visible_groups(self, authenticated: bool) -> list[Group]:
        return [g for g in self.groups if g.visibility == "public" or authenticated]

    def _group_json(self, group: Group) -> dict[str, Any]:
        return {
            "id": group.id,
            "web_url": f"{self.web}/groups/{group.full_path}",
            "name": group.name,
            "path": group.path,
            "description": group.description,
            "visibility": group.visibility,
            "share_with_group_lock": False,
            "require_two_factor_authentication": False,
            "two_factor_grace_period": 48,
            "project_creation_level": "developer",
            "auto_devops_enabled": None,
            "subgroup_creation_level": "maintainer",
            "emails_disabled": False,
            "emails_enabled": True,
            "mentions_disabled": None,
            "lfs_enabled": True,
            "default_branch_protection": 2,
            "avatar_url": None,
            "request_access_enabled": True,
            "full_name": group.name if group.parent_id is None else f"{self.root.name} / {group.name}",
            "full_path": group.full_path,
            "created_at": iso(group.created_at),
            "parent_id": group.parent_id,
            "organization_id": 1,
            "shared_runners_setting": "enabled",
            "ldap_cn": None,
            "ldap_access": None,
            "wiki_access_level": "enabled",
        }

    @property
    def web(self) -> str:
        return self.base_url

    def _groups(self, request: Request, key: str, rest: list[str], authenticated: bool) -> Response:
        group = self._find_group(key, authenticated)
        if group is None:
            return _not_found("Group")
        if not rest:
            return JSONResponse(self._group_json(group))
        if rest == ["subgroups"] or rest == ["descendant_groups"]:
            visible = self._visible_groups(authenticated)
            if rest == ["subgroups"]:
                chosen = [g for g in visible if g.parent_id == group.id]
            else:
                chosen = [g for g in visible if g.full_path.startswith(group.full_path + "/")]
            chosen.sort(key=lambda g: (g.name.lower(), g.id))
            return self._offset_page(request, len(chosen), lambda a, b: [self._group_json(g) for g in chosen[a:b]])
        if rest == ["projects"]:
            return self._group_projects(request, group, authenticated)
        return _error(404, "404 Not Found", key="error")

    def _group_projects(self, request: Request, group: Group, authenticated: bool) -> Response:
        query = request.query_params
        order_by = query.get("order_by", "created_at")
        sort = query.get("sort", "desc")
        if order_by not in PROJECT_ORDERS:
            return _error(400, "order_by does not have a valid value", key="error")
        if sort not in ("asc", "desc"):
            return _error(400, "sort does not have a valid value", key="error")
        after = _stamp(query.get("last_activity_after"))
        before = _stamp(query.get("last_activity_before"))
        key = (
            group.id,
            _boolean(query.get("include_subgroups")),
            _boolean(query.get("archived")),
            query.get("topic"),
            order_by,
            sort,
            after,
            before,
            authenticated,
        )
        with self._lock:
            indices = self._listings.get(key)
        if indices is None:
            indices = self._select(group, key[1] or False, key[2], key[3], order_by, sort, after, before, authenticated)
            with self._lock:
                if len(self._listings) > 64:
                    self._listings.clear()
                self._listings[key] = indices
        simple = _boolean(query.get("simple")) or False

        def render(start: int, stop: int) -> list[dict[str, Any]]:
            out = []
            for index in indices[start:stop]:
                entry = self.store.entry(index)
                if entry is not None:
                    out.append(self._project_json(entry, self.store.record(entry), simple))
            return out

        return self._offset_page(request, len(indices), render)

    def _select(
        self,
        group: Group,
        subgroups: bool,
        archived: bool | None,
        topic: str | None,
        order_by: str,
        sort: str,
        after: datetime | None,
        before: datetime | None,
        authenticated: bool,
    ) -> list[int]:
        base: Any = self.store.base
        visible = {g.full_path for g in self._visible_groups(authenticated)}
        chosen: list[tuple[Any, int]] = []
        for entry in self.store.entries():
            index = entry.index
            namespace = base.group(index)
            if namespace not in visible:
                continue
            if namespace != group.full_path and not (subgroups and namespace.startswith(group.full_path + "/")):
                continue
            if archived is not None and base.archived(index) != archived:
                continue
            if after is not None and entry.updated <= after:
                continue
            if before is not None and entry.updated >= before:
                continue
            if topic is not None and topic not in self.store.record(entry)["topics"]:
                continue
            if order_by == "id":
                value: Any = base.project_id(index)
            elif order_by in ("name", "path"):
                value = entry.native_id.rsplit("/", 1)[-1].lower()
            elif order_by == "created_at":
                value = base.created(index)
            else:
                value = entry.updated
            chosen.append(((value, base.project_id(index)), index))
        chosen.sort(reverse=sort == "desc")
        return [index for _, index in chosen]

    # -- projects -----------------------------------------------------------------------------------------------
    def _find_project(self, key: str, authenticated: bool) -> tuple[Entry, dict[str, Any]] | None:
        base: Any = self.store.base
        entry: Entry | None = None
        if key.isdigit():
            number = int(key)
            if isinstance(base, GeneratedProjects):
                index = number - 1000
                entry = self.store.entry(index) if 0 <= index < len(base) else None
            else:
                index = next((i for i in range(len(base)) if base.project_id(i) == number), -1)
                entry = self.store.entry(index) if index >= 0 else None
        else:
            entry = self.store.find(key)
        if entry is None:
            return None
        project = self.store.record(entry)
        if project["visibility"] != "public" and not authenticated:
            return None
        if project["group"] not in {g.full_path for g in self._visible_groups(authenticated)}:
            return None
        return entry, project

    def _namespace(self, full_path: str) -> Group:
        return next(g for g in self.groups if g.full_path == full_path)

    def _project_json(self, entry: Entry, project: dict[str, Any], simple: bool = False) -> dict[str, Any]:
        namespace = self._namespace(project["group"])
        path_with_namespace = f"{project['group']}/{project['path']}"
        web_url = f"{self.web}/{path_with_namespace}"
        empty = project["branch"] is None
        data: dict[str, Any] = {
            "id": project["id"],
            "description": project["description"],
            "name": project["name"],
            "name_with_namespace": f"{self.root.name} / {namespace.name} / {project['name']}",
            "path": project["path"],
            "path_with_namespace": path_with_namespace,
            "created_at": project["created_at"],
            "default_branch": None if empty else project["default_branch"],
            "tag_list": list(project["topics"]),
            "topics": list(project["topics"]),
            "ssh_url_to_repo": f"git@{self.host}:{path_with_namespace}.git",
            "http_url_to_repo": f"{web_url}.git",
            "web_url": web_url,
            "readme_url": None if empty else f"{web_url}/-/blob/{project['default_branch']}/README.md",
            "forks_count": 0,
            "avatar_url": None,
            "star_count": 0,
            "last_activity_at": iso(entry.updated),
            "namespace": {
                "id": namespace.id,
                "name": namespace.name,
                "path": namespace.path,
                "kind": "group",
                "full_path": namespace.full_path,
                "parent_id": namespace.parent_id,
                "avatar_url": None,
                "web_url": f"{self.web}/groups/{namespace.full_path}",
            },
        }
        if simple:
            return data
        data.update(
            {
                "container_registry_image_prefix": f"registry.{self.host}/{path_with_namespace}",
                "_links": {
                    "self": f"{self.base_url}/api/v4/projects/{project['id']}",
                    "repo_branches": f"{self.base_url}/api/v4/projects/{project['id']}/repository/branches",
                    "labels": f"{self.base_url}/api/v4/projects/{project['id']}/labels",
                    "events": f"{self.base_url}/api/v4/projects/{project['id']}/events",
                },
                "empty_repo": empty,
                "archived": project["archived"],
                "visibility": project["visibility"],
                "resolve_outdated_diff_discussions": False,
                "issues_enabled": True,
                "merge_requests_enabled": True,
                "wiki_enabled": False,
                "jobs_enabled": True,
                "snippets_enabled": False,
                "lfs_enabled": True,
                "creator_id": 1,
                "open_issues_count": 0,
                "public_jobs": True,
                "shared_with_groups": [],
                "request_access_enabled": True,
                "updated_at": iso(entry.updated),
            }
        )
        return data

    def _projects(self, request: Request, key: str, rest: list[str], authenticated: bool) -> Response:
        found = self._find_project(key, authenticated)
        if found is None:
            return _not_found("Project")
        entry, project = found
        if not rest:
            return JSONResponse(self._project_json(entry, project))
        if rest[:2] == ["repository", "tree"] and len(rest) == 2:
            return self._tree(request, project)
        if rest[:2] == ["repository", "files"] and len(rest) in (3, 4) and (len(rest) == 3 or rest[3] == "raw"):
            return self._file(request, project, rest[2], raw=len(rest) == 4)
        if rest == ["repository", "tags"]:
            return self._tags(request, project)
        if rest == ["releases"]:
            return self._releases(request, entry, project)
        if len(rest) == 2 and rest[0] == "releases":
            tag = next((t for t in project["tags"] if t["name"] == rest[1] and t["release"]), None)
            if tag is None:
                return _error(404, "404 Not Found")
            return JSONResponse(self._release_json(project, tag))
        return _error(404, "404 Not Found", key="error")

    def _commit_of(self, project: dict[str, Any], ref: str | None) -> str | None:
        if ref in (None, "", "HEAD", project["default_branch"]):
            return str(project["branch"]) if project["branch"] else None
        tag = next((t for t in project["tags"] if t["name"] == ref), None)
        if tag is not None:
            return str(tag["commit"])
        return ref if ref in project["commits"] else None

    def _tree(self, request: Request, project: dict[str, Any]) -> Response:
        query = request.query_params
        sha = self._commit_of(project, query.get("ref"))
        if sha is None:
            return _not_found("Tree")
        files: dict[str, bytes] = project["commits"][sha]["files"]
        prefix = query.get("path", "").strip("/")
        recursive = _boolean(query.get("recursive")) or False
        entries: dict[str, dict[str, Any]] = {}
        for path, data in files.items():
            if prefix and not path.startswith(prefix + "/"):
                continue
            relative = path[len(prefix) + 1 :] if prefix else path
            parts = relative.split("/")
            for depth in range(1, len(parts)):
                directory = "/".join(([prefix] if prefix else []) + parts[:depth])
                if recursive or depth == 1:
                    entries.setdefault(directory, self._tree_entry(directory, None))
            if recursive or len(parts) == 1:
                entries[path] = self._tree_entry(path, data)
        if prefix and not entries:
            return _not_found("Tree")
        # GitLab lists a level's trees before its blobs, each by name
        ordered = sorted(entries.values(), key=lambda e: (e["path"].count("/"), e["type"] != "tree", e["path"]))
        if query.get("pagination") == "keyset":
            return self._keyset_tree(request, ordered)
        return self._offset_page(request, len(ordered), lambda a, b: ordered[a:b])

    @staticmethod
    def _tree_entry(path: str, data: bytes | None) -> dict[str, Any]:
        if data is None:
            oid = hashlib.sha1(f"tree {path}".encode()).hexdigest()
            return {"id": oid, "name": path.rsplit("/", 1)[-1], "type": "tree", "path": path, "mode": "040000"}
        return {"id": git_blob_id(data), "name": path.rsplit("/", 1)[-1], "type": "blob", "path": path,
                "mode": "100644"}  # fmt: skip

    def _keyset_tree(self, request: Request, ordered: list[dict[str, Any]]) -> Response:
        query = request.query_params
        per_page = self._per_page(query.get("per_page"))
        token = query.get("page_token")
        start = 0
        if token:
            position = next((n for n, e in enumerate(ordered) if e["id"] == token), None)
            if position is None:
                return _error(400, "page_token is invalid")
            start = position + 1
        page = ordered[start : start + per_page]
        headers = {"x-per-page": str(per_page)}
        if start + per_page < len(ordered) and page:
            params = {k: v for k, v in query.multi_items() if k != "page_token"}
            params["page_token"] = page[-1]["id"]
            headers["link"] = f'<{self._url(request, params)}>; rel="next"'
        return JSONResponse(page, headers=headers)

    def _file(self, request: Request, project: dict[str, Any], path: str, raw: bool) -> Response:
        ref = request.query_params.get("ref")
        if not raw and not ref:
            return _error(400, "ref is missing", key="error")
        sha = self._commit_of(project, ref)
        if sha is None:
            return _not_found("Commit") if not raw else _not_found("File")
        data = project["commits"][sha]["files"].get(path)
        if data is None:
            return _not_found("File")
        last_commit = self._last_commit(project, sha, path)
        headers = {
            "x-gitlab-blob-id": git_blob_id(data),
            "x-gitlab-commit-id": sha,
            "x-gitlab-content-sha256": hashlib.sha256(data).hexdigest(),
            "x-gitlab-encoding": "base64",
            "x-gitlab-file-name": path.rsplit("/", 1)[-1],
            "x-gitlab-file-path": path,
            "x-gitlab-last-commit-id": last_commit,
            "x-gitlab-ref": ref or str(project["default_branch"]),
            "x-gitlab-size": str(len(data)),
            "x-gitlab-execute-filemode": "false",
        }
        if raw:
            if _boolean(request.query_params.get("lfs")) and data.startswith(b"version https://git-lfs"):
                oid = next(
                    (line.split(" ", 1)[1] for line in data.decode().splitlines() if line.startswith("oid ")), ""
                )
                obj = project["lfs"].get(oid)
                if isinstance(obj, GeneratedBlob):
                    headers["content-length"] = str(obj.size)
                    return StreamingResponse(obj.chunks(), media_type="text/plain; charset=utf-8", headers=headers)
                if obj is not None:
                    data = obj
            return Response(data, media_type="text/plain; charset=utf-8", headers=headers)
        if request.method == "HEAD":
            return Response(b"", headers=headers)
        body = {
            "file_name": headers["x-gitlab-file-name"],
            "file_path": path,
            "size": len(data),
            "encoding": "base64",
            "content": base64.b64encode(data).decode(),
            "content_sha256": headers["x-gitlab-content-sha256"],
            "ref": headers["x-gitlab-ref"],
            "blob_id": headers["x-gitlab-blob-id"],
            "commit_id": sha,
            "last_commit_id": last_commit,
            "execute_filemode": False,
        }
        return JSONResponse(body, headers=headers)

    @staticmethod
    def _last_commit(project: dict[str, Any], sha: str, path: str) -> str:
        """The most recent commit up to `sha` that changed `path` (commits are held oldest first)."""
        data = project["commits"][sha]["files"][path]
        last = sha
        for candidate, commit in project["commits"].items():
            if commit["files"].get(path) == data:
                last = candidate
                break
        return last

    def _commit_json(self, project: dict[str, Any], sha: str) -> dict[str, Any]:
        commit = project["commits"][sha]
        return {
            "id": sha,
            "short_id": sha[:8],
            "created_at": commit["date"],
            "parent_ids": [],
            "title": commit["title"],
            "message": commit["title"],
            "author_name": "DMDC Curator",
            "author_email": "curator@dmdc.example.org",
            "authored_date": commit["date"],
            "committer_name": "DMDC Curator",
            "committer_email": "curator@dmdc.example.org",
            "committed_date": commit["date"],
            "trailers": {},
            "extended_trailers": {},
            "web_url": f"{self.web}/{project['group']}/{project['path']}/-/commit/{sha}",
        }

    def _tags(self, request: Request, project: dict[str, Any]) -> Response:
        query = request.query_params
        order_by = query.get("order_by", "updated")
        sort = query.get("sort", "desc")
        if order_by not in ("name", "updated", "version"):
            return _error(400, "order_by does not have a valid value", key="error")
        tags = list(project["tags"])
        if order_by == "updated":
            tags.sort(key=lambda t: (project["commits"][t["commit"]]["date"], t["name"]))
        elif order_by == "version":
            tags.sort(
                key=lambda t: [int(p) if p.isdigit() else p for p in t["name"].lstrip("v").replace("-", ".").split(".")]
            )
        else:
            tags.sort(key=lambda t: t["name"])
        if sort == "desc":
            tags.reverse()

        def render(start: int, stop: int) -> list[dict[str, Any]]:
            return [
                {
                    "name": t["name"],
                    "message": t["message"],
                    "target": t["commit"],
                    "commit": self._commit_json(project, t["commit"]),
                    "release": {"tag_name": t["name"], "description": t["release"]["description"]}
                    if t["release"]
                    else None,
                    "protected": False,
                    "created_at": t["created_at"],
                }
                for t in tags[start:stop]
            ]

        return self._offset_page(request, len(tags), render)

    def _release_json(self, project: dict[str, Any], tag: dict[str, Any]) -> dict[str, Any]:
        release = tag["release"]
        web_url = f"{self.web}/{project['group']}/{project['path']}"
        name = tag["name"]
        archive = f"{web_url}/-/archive/{name}/{project['path']}-{name}"
        links = [
            {
                "id": 100 + number,
                "name": link["name"],
                "url": link["url"],
                "direct_asset_url": f"{web_url}/-/releases/{name}/downloads/{link['name']}",
                "link_type": link["link_type"],
            }
            for number, link in enumerate(release["links"])
        ]
        return {
            "name": release["name"],
            "tag_name": name,
            "description": release["description"],
            "created_at": release["released_at"],
            "released_at": release["released_at"],
            "upcoming_release": False,
            "author": {
                "id": 1,
                "username": "dmdc-curator",
                "name": "DMDC Curator",
                "state": "active",
                "locked": False,
                "avatar_url": None,
                "web_url": f"{self.web}/dmdc-curator",
            },
            "commit": self._commit_json(project, tag["commit"]),
            "commit_path": f"/{project['group']}/{project['path']}/-/commit/{tag['commit']}",
            "tag_path": f"/{project['group']}/{project['path']}/-/tags/{name}",
            "assets": {
                "count": 4 + len(links),
                "sources": [{"format": f, "url": f"{archive}.{f}"} for f in ("zip", "tar.gz", "tar.bz2", "tar")],
                "links": links,
            },
            "evidences": [],
            "_links": {
                "closed_issues_url": f"{web_url}/-/issues?release_tag={name}&scope=all&state=closed",
                "self": f"{web_url}/-/releases/{name}",
            },
        }

    def _releases(self, request: Request, entry: Entry, project: dict[str, Any]) -> Response:
        query = request.query_params
        order_by = query.get("order_by", "released_at")
        if order_by not in ("released_at", "created_at"):
            return _error(400, "order_by does not have a valid value", key="error")
        released = [t for t in project["tags"] if t["release"]]
        released.sort(
            key=lambda t: (t["release"]["released_at"], t["name"]), reverse=query.get("sort", "desc") == "desc"
        )
        return self._offset_page(
            request, len(released), lambda a, b: [self._release_json(project, t) for t in released[a:b]]
        )

    # -- pagination ---------------------------------------------------------------------------------------------
    @staticmethod
    def _per_page(value: str | None) -> int:
        try:
            number = int(value) if value else 20
        except ValueError:
            number = 20
        return max(1, min(MAX_PER_PAGE, number))

    def _url(self, request: Request, params: dict[str, str]) -> str:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        return f"{self.base_url}{raw_path.decode('latin-1')}?{urlencode(params)}"

    def _offset_page(self, request: Request, total: int, render: Callable[[int, int], list[Any]]) -> Response:
        query = request.query_params
        per_page = self._per_page(query.get("per_page"))
        try:
            page = max(1, int(query.get("page") or 1))
        except ValueError:
            page = 1
        pages = max(1, -(-total // per_page))
        start = (page - 1) * per_page
        body = render(start, start + per_page) if start < total else []
        params = {k: v for k, v in query.multi_items() if k not in ("page", "per_page")}

        def link(number: int) -> str:
            return self._url(request, {**params, "page": str(number), "per_page": str(per_page)})

        relations = []
        if page < pages:
            relations.append(f'<{link(page + 1)}>; rel="next"')
        if page > 1:
            relations.append(f'<{link(page - 1)}>; rel="prev"')
        relations.append(f'<{link(1)}>; rel="first"')
        headers = {
            "x-page": str(page),
            "x-per-page": str(per_page),
            "x-next-page": str(page + 1) if page < pages else "",
            "x-prev-page": str(page - 1) if page > 1 else "",
        }
        if total <= TOTALS_LIMIT:
            relations.append(f'<{link(pages)}>; rel="last"')
            headers["x-total"] = str(total)
            headers["x-total-pages"] = str(pages)
        headers["link"] = ", ".join(relations)
        return JSONResponse(body, headers=headers)
