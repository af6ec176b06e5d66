"""The two JSON shapes Zenodo serves a record in, and the conversions between them, for the replica.

The replica keeps every record in InvenioRDM's native shape (`application/vnd.inveniordm.v1+json`) and serves
Zenodo's legacy shape (`application/json`, `ZenodoJSONSerializer`) from it the way zenodo-rdm does
(`site/zenodo_rdm/legacy/serializers/schemas/{common,zenodojson}.py`): first affiliation's name only, ORCID and
GND from the person's identifiers, camel-case relations, `license.id` from the first right, `keywords` from the
free subjects, `relations.version` from `versions`, files as `{id, filename, filesize, checksum (hex), links}`.

Records captured only in the legacy shape (corpus 3c/3d) are served in the legacy shape exactly as captured, and
in the RDM shape through the inverse mapping Zenodo used when it migrated legacy records to InvenioRDM
(`site/zenodo_rdm/legacy/deserializers/schemas.py`); what the legacy shape never had (ROR ids, given/family names
beyond "Family, Given", media types beyond the file extension) stays absent.
"""

from __future__ import annotations

import functools
import mimetypes
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

ZENODO = "https://zenodo.org"

LICENSES: dict[str, tuple[str, str]] = {
    "cc-by-4.0": (
        "Creative Commons Attribution 4.0 International",
        "https://creativecommons.org/licenses/by/4.0/legalcode",
    ),
    "cc-by-sa-4.0": (
        "Creative Commons Attribution Share Alike 4.0 International",
        "https://creativecommons.org/licenses/by-sa/4.0/legalcode",
    ),
    "cc-by-nc-4.0": (
        "Creative Commons Attribution Non Commercial 4.0 International",
        "https://creativecommons.org/licenses/by-nc/4.0/legalcode",
    ),
    "cc0-1.0": ("Creative Commons Zero v1.0 Universal", "https://creativecommons.org/publicdomain/zero/1.0/legalcode"),
    "mit": ("MIT License", "https://opensource.org/licenses/MIT"),
    "bsd-3-clause": ('BSD 3-Clause "New" or "Revised" License', "https://opensource.org/licenses/BSD-3-Clause"),
    "gpl-3.0-or-later": (
        "GNU General Public License v3.0 or later",
        "https://www.gnu.org/licenses/gpl-3.0-standalone.html",
    ),
    "apache-2.0": ("Apache License 2.0", "https://www.apache.org/licenses/LICENSE-2.0"),
    "other-open": ("Other (Open)", ""),
}

RESOURCE_TYPES: dict[str, str] = {
    "dataset": "Dataset",
    "software": "Software",
    "publication": "Publication",
    "publication-article": "Journal article",
    "publication-preprint": "Preprint",
    "publication-technicalnote": "Technical note",
    "publication-report": "Report",
    "publication-thesis": "Thesis",
    "publication-conferencepaper": "Conference paper",
    "poster": "Poster",
    "presentation": "Presentation",
    "image": "Image",
    "image-figure": "Figure",
    "image-plot": "Plot",
    "video": "Video/Audio",
    "lesson": "Lesson",
    "other": "Other",
}

_LEGACY_RELATIONS = (
    "isCitedBy", "cites", "isSupplementTo", "isSupplementedBy", "isContinuedBy", "continues", "isDescribedBy",
    "describes", "hasMetadata", "isMetadataFor", "hasVersion", "isVersionOf", "isNewVersionOf",
    "isPreviousVersionOf", "isPartOf", "hasPart", "isPublishedIn", "isReferencedBy", "references", "isDocumentedBy",
    "documents", "isCompiledBy", "compiles", "isVariantFormOf", "isOriginalFormOf", "isIdenticalTo", "isReviewedBy",
    "reviews", "isDerivedFrom", "isSourceOf", "isRequiredBy", "requires", "isObsoletedBy", "obsoletes",
    "isAlternateIdentifier",
)  # fmt: skip
LEGACY_RELATION = {name.lower(): name for name in _LEGACY_RELATIONS}
"""RDM relation ids (lower case) to the legacy camel-case relation names (zenodo-rdm `RELATION_TYPE_MAPPING`)."""

_MEDIA_TYPES = mimetypes.MimeTypes()


def relation_title(rdm_id: str) -> str:
    name = LEGACY_RELATION.get(rdm_id, rdm_id)
    words = re.sub(r"([A-Z])", r" \1", name).strip().lower()
    return words[:1].upper() + words[1:]


@functools.lru_cache(maxsize=4096)
def community_uuid(slug: str) -> str:
    """A stable id for a community the corpus names only by its slug (cached: every search hit's facts ask)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://zenodo.org/communities/{slug}"))


def community_record(
    slug: str, title: str, base: str, created: str = "2019-01-01T00:00:00.000000+00:00"
) -> dict[str, Any]:
    """A community as `GET /api/communities/<id>` answers (the shape of corpus 3c `communities.json`)."""
    ident = community_uuid(slug)
    api = f"{base}/api/communities/{ident}"
    return {
        "id": ident,
        "created": created,
        "updated": created,
        "links": {
            "self": api,
            "self_html": f"{base}/communities/{slug}",
            "settings_html": f"{base}/communities/{slug}/settings",
            "logo": f"{api}/logo",
            "rename": f"{api}/rename",
            "members": f"{api}/members",
            "public_members": f"{api}/members/public",
            "invitations": f"{api}/invitations",
            "requests": f"{api}/requests",
            "records": f"{api}/records",
        },
        "revision_id": 0,
        "slug": slug,
        "metadata": {"title": title, "description": title},
        "access": {"visibility": "public", "member_policy": "open", "record_policy": "open", "review_policy": "open"},
        "custom_fields": {},
        "deletion_status": {"is_deleted": False, "status": "P"},
    }


def rewrite_links(value: Any, base: str) -> Any:
    """Links captured from zenodo.org, pointing at the replica instead."""
    if isinstance(value, str):
        return base + value[len(ZENODO) :] if value.startswith(ZENODO) else value
    if isinstance(value, dict):
        return {k: rewrite_links(v, base) for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite_links(v, base) for v in value]
    return value


# -- RDM shape -------------------------------------------------------------------------------------------------------


def rdm_links(rdm: Mapping[str, Any], base: str, landing: str | None = None) -> dict[str, str]:
    """The `links` InvenioRDM writes for a published record."""
    ident = rdm["id"]
    parent = (rdm.get("parent") or {}).get("id")
    doi = ((rdm.get("pids") or {}).get("doi") or {}).get("identifier")
    concept_doi = (((rdm.get("parent") or {}).get("pids") or {}).get("doi") or {}).get("identifier")
    api = f"{base}/api/records/{ident}"
    links = {"self": api, "self_html": landing or f"{base}/records/{ident}"}
    if doi:
        links["self_doi"] = f"{base}/doi/{doi}"
        links["doi"] = f"https://doi.org/{doi}"
    if parent:
        links["parent"] = f"{base}/api/records/{parent}"
        links["parent_html"] = f"{base}/records/{parent}"
        if concept_doi:
            links["parent_doi"] = f"{base}/doi/{concept_doi}"
    links.update(
        {
            "files": f"{api}/files",
            "media_files": f"{api}/media-files",
            "archive": f"{api}/files-archive",
            "latest": f"{api}/versions/latest",
            "latest_html": f"{base}/records/{ident}/latest",
            "versions": f"{api}/versions",
            "access_links": f"{api}/access/links",
            "communities": f"{api}/communities",
            "requests": f"{api}/requests",
        }
    )
    return links


def serve_rdm(rdm: Mapping[str, Any], base: str, is_latest: bool, landing: str | None = None) -> dict[str, Any]:
    """The RDM JSON of a record as the API answers it: stored content plus links and the current version flag."""
    # copies of what changes only: `rdm` is left as it was, and a deep copy of every hit costs more than the hit
    out = dict(rdm)
    links = rdm_links(out, base, landing)
    out["links"] = links
    out["versions"] = {**(out.get("versions") or {}), "is_latest": is_latest}
    files = out.get("files") or {}
    entries = files.get("entries") or {}
    if entries:
        out["files"] = {
            **files,
            "entries": {
                key: {
                    **entry,
                    "links": rewrite_links(entry.get("links") or {}, base)
                    or {"self": f"{links['files']}/{key}", "content": f"{links['files']}/{key}/content"},
                }
                for key, entry in entries.items()
            },
        }
    return out


def first_en(value: Any) -> str | None:
    if isinstance(value, dict):
        text = value.get("en") or next(iter(value.values()), None)
        return text if isinstance(text, str) else None
    return value if isinstance(value, str) else None


def _camel(title: str | None) -> str | None:
    return "".join(word.title() for word in title.split(" ")) if title else None


def rdm_to_legacy(rdm: Mapping[str, Any], links: Mapping[str, str], slugs: Sequence[str]) -> dict[str, Any]:
    """Zenodo's legacy JSON of an RDM record (what `ZenodoJSONSerializer` writes)."""
    md = rdm.get("metadata") or {}
    access = rdm.get("access") or {}
    pids = rdm.get("pids") or {}
    parent = rdm.get("parent") or {}
    versions = rdm.get("versions") or {}
    doi = (pids.get("doi") or {}).get("identifier")
    concept_doi = ((parent.get("pids") or {}).get("doi") or {}).get("identifier")

    def person(entry: Mapping[str, Any], contributor: bool = False) -> dict[str, Any]:
        who = entry.get("person_or_org") or {}
        affiliations = entry.get("affiliations") or []
        out: dict[str, Any] = {
            "name": who.get("name"),
            "affiliation": affiliations[0].get("name") if affiliations else None,
        }
        if contributor:
            out["type"] = _camel(first_en((entry.get("role") or {}).get("title")))
        for identifier in who.get("identifiers") or []:
            if identifier.get("scheme") in ("orcid", "gnd"):
                out[identifier["scheme"]] = str(identifier["identifier"]).replace(f"{identifier['scheme']}:", "")
        return out

    legacy_md: dict[str, Any] = {"title": md.get("title")}
    if doi:
        legacy_md["doi"] = doi
    legacy_md["publication_date"] = md.get("publication_date")
    if md.get("description"):
        legacy_md["description"] = md["description"]
    files_access = access.get("files")
    embargoed = bool((access.get("embargo") or {}).get("active"))
    if files_access == "public":
        legacy_md["access_right"] = "open"
    elif embargoed:
        legacy_md["access_right"] = "embargoed"
    elif files_access == "restricted":
        legacy_md["access_right"] = "restricted"
    if (access.get("embargo") or {}).get("until"):
        legacy_md["embargo_date"] = access["embargo"]["until"]
    legacy_md["creators"] = [person(c) for c in md.get("creators") or []]
    if md.get("contributors"):
        legacy_md["contributors"] = [person(c, contributor=True) for c in md["contributors"]]
    keywords = [s["subject"] for s in md.get("subjects") or [] if not s.get("id") and s.get("subject")]
    if keywords:
        legacy_md["keywords"] = keywords
    legacy_subjects = (rdm.get("custom_fields") or {}).get("legacy:subjects")
    if legacy_subjects:
        legacy_md["subjects"] = legacy_subjects
    related = []
    for item in md.get("related_identifiers") or []:
        entry: dict[str, Any] = {"identifier": item.get("identifier")}
        relation = LEGACY_RELATION.get(((item.get("relation_type") or {}).get("id") or "").lower())
        if relation:
            entry["relation"] = relation
        if item.get("resource_type"):
            entry["resource_type"] = item["resource_type"].get("id")
        entry["scheme"] = item.get("scheme")
        related.append(entry)
    if related:
        legacy_md["related_identifiers"] = related
    if md.get("identifiers"):
        legacy_md["alternate_identifiers"] = [
            {"identifier": i.get("identifier"), "scheme": i.get("scheme")} for i in md["identifiers"]
        ]
    dates = []
    for item in md.get("dates") or []:
        start, sep, end = str(item.get("date", "")).partition("/")
        entry = {"type": (item.get("type") or {}).get("id")}
        if sep:
            entry.update({"start": start, "end": end})
        if item.get("description"):
            entry["description"] = item["description"]
        dates.append(entry)
    if dates:
        legacy_md["dates"] = dates
    if md.get("version"):
        legacy_md["version"] = md["version"]
    if md.get("references"):
        legacy_md["references"] = [r["reference"] for r in md["references"]]
    if md.get("languages"):
        legacy_md["language"] = md["languages"][0]["id"]
    type_id = (md.get("resource_type") or {}).get("id")
    if type_id:
        resource_type = {"title": first_en((md.get("resource_type") or {}).get("title")), "type": type_id.split("-")[0]}
        if "-" in type_id:
            resource_type["subtype"] = type_id.split("-")[-1]
        legacy_md["resource_type"] = resource_type
    rights = md.get("rights") or []
    if rights and rights[0].get("id"):
        legacy_md["license"] = {"id": rights[0]["id"]}
    if slugs:
        legacy_md["communities"] = [{"id": slug} for slug in slugs]
    for description in md.get("additional_descriptions") or []:
        kind = (description.get("type") or {}).get("id")
        if kind == "other":
            legacy_md["notes"] = description.get("description", "")
        elif kind == "methods":
            legacy_md["method"] = description.get("description", "")
    if versions:
        legacy_md["relations"] = {
            "version": [
                {
                    "index": int(versions.get("index", 1)) - 1,
                    "is_last": bool(versions.get("is_latest")),
                    "parent": {"pid_type": "recid", "pid_value": str(parent.get("id"))},
                }
            ]
        }

    files = []
    files_url = links.get("files")
    for key, entry in ((rdm.get("files") or {}).get("entries") or {}).items():
        self_link = f"{files_url}/{key}"
        files.append(
            {
                "id": entry.get("id"),
                "filename": entry.get("key", key),
                "filesize": entry.get("size"),
                "checksum": str(entry.get("checksum", "")).split(":", 1)[-1],
                "links": {"self": self_link, "download": f"{self_link}/content"},
            }
        )
    stats = rdm.get("stats") or {}
    every, this = stats.get("all_versions") or {}, stats.get("this_version") or {}
    legacy: dict[str, Any] = {
        "created": rdm.get("created"),
        "modified": rdm.get("updated"),
        "id": int(rdm["id"]) if str(rdm["id"]).isdigit() else rdm["id"],
        "conceptrecid": str(parent.get("id")) if parent.get("id") else None,
    }
    if doi:
        legacy["doi"] = doi
    if concept_doi:
        legacy["conceptdoi"] = concept_doi
    if links.get("doi"):
        legacy["doi_url"] = links["doi"]
    legacy.update(
        {
            "metadata": legacy_md,
            "title": md.get("title", ""),
            "links": dict(links),
            "updated": rdm.get("updated"),
            "recid": str(rdm["id"]),
            "revision": rdm.get("revision_id"),
            "files": files,
            "owners": [{"id": ((parent.get("access") or {}).get("owned_by") or {}).get("user")}],
            "status": "published",
            "stats": {
                "downloads": every.get("downloads"),
                "unique_downloads": every.get("unique_downloads"),
                "views": every.get("views"),
                "unique_views": every.get("unique_views"),
                "version_downloads": this.get("downloads"),
                "version_unique_downloads": this.get("unique_downloads"),
                "version_unique_views": this.get("unique_views"),
                "version_views": this.get("views"),
            },
            "state": "done",
            "submitted": True,
        }
    )
    return legacy


# -- legacy → RDM ----------------------------------------------------------------------------------------------------


def _person(entry: Mapping[str, Any], contributor: bool = False) -> dict[str, Any]:
    name = str(entry.get("name") or "")
    who: dict[str, Any] = {"type": "personal", "name": name}
    family, sep, given = name.partition(",")
    if sep and family.strip() and given.strip():
        who["given_name"], who["family_name"] = given.strip(), family.strip()
    identifiers = [{"scheme": s, "identifier": entry[s]} for s in ("orcid", "gnd") if entry.get(s)]
    if identifiers:
        who["identifiers"] = identifiers
    out: dict[str, Any] = {"person_or_org": who}
    if entry.get("affiliation"):
        out["affiliations"] = [{"name": entry["affiliation"]}]
    if contributor and entry.get("type"):
        role = str(entry["type"])
        out["role"] = {"id": role.lower(), "title": {"en": re.sub(r"(?<!^)([A-Z])", r" \1", role)}}
    return out


def _scheme(value: str, given: str | None) -> str:
    if given:
        return given
    lowered = value.lower()
    if re.match(r"^(doi:|https?://(dx\.)?doi\.org/)?10\.\d{4,9}/", lowered):
        return "doi"
    if lowered.startswith("arxiv:"):
        return "arxiv"
    if lowered.startswith("urn:lsid:"):
        return "lsid"
    if lowered.startswith(("http://", "https://")):
        return "url"
    return "other"


def legacy_to_rdm(legacy: Mapping[str, Any], communities: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The RDM JSON of a record captured in Zenodo's legacy shape (Zenodo's own migration mapping)."""
    md = legacy.get("metadata") or {}
    recid = str(legacy.get("id", legacy.get("recid")))
    version = ((md.get("relations") or {}).get("version") or [{}])[0]
    parent_id = str(legacy.get("conceptrecid") or (version.get("parent") or {}).get("pid_value") or recid)
    doi = legacy.get("doi") or md.get("doi")
    concept_doi = legacy.get("conceptdoi")
    rtype = md.get("resource_type") or {}
    type_id = rtype.get("type")
    if type_id and rtype.get("subtype"):
        subtype = str(rtype["subtype"])
        type_id = subtype if subtype.startswith(f"{type_id}-") else f"{type_id}-{subtype}"

    metadata: dict[str, Any] = {}
    if type_id:
        metadata["resource_type"] = {
            "id": type_id,
            "title": {"en": rtype.get("title") or RESOURCE_TYPES.get(type_id, type_id)},
        }
    metadata["creators"] = [_person(c) for c in md.get("creators") or []]
    metadata["title"] = md.get("title") or legacy.get("title")
    metadata["publisher"] = (md.get("imprint") or {}).get("publisher") or "Zenodo"
    metadata["publication_date"] = md.get("publication_date")
    if md.get("keywords"):
        metadata["subjects"] = [{"subject": k} for k in md["keywords"]]
    contributors = list(md.get("contributors") or []) + [
        {**s, "type": "Supervisor"} for s in (md.get("thesis") or {}).get("supervisors") or []
    ]
    if contributors:
        metadata["contributors"] = [_person(c, contributor=True) for c in contributors]
    dates = []
    for entry in md.get("dates") or []:
        if entry.get("start") and entry.get("end"):
            kind = str(entry.get("type", "other"))
            date = {
                "date": f"{entry['start']}/{entry['end']}",
                "type": {"id": kind.lower(), "title": {"en": kind.title()}},
            }
            if entry.get("description"):
                date["description"] = entry["description"]
            dates.append(date)
    if dates:
        metadata["dates"] = dates
    if md.get("language"):
        metadata["languages"] = [{"id": md["language"], "title": {"en": md["language"]}}]
    alternates, related = [], []
    for entry in md.get("related_identifiers") or []:
        relation = str(entry.get("relation", ""))
        if relation == "isOrignialFormOf":  # a legacy typo zenodo-rdm patches on migration
            relation = "isOriginalFormOf"
        identifier = str(entry.get("identifier", ""))
        if relation == "isAlternateIdentifier":
            alternates.append({"identifier": identifier, "scheme": _scheme(identifier, entry.get("scheme"))})
            continue
        item: dict[str, Any] = {
            "identifier": identifier,
            "scheme": _scheme(identifier, entry.get("scheme")),
            "relation_type": {"id": relation.lower(), "title": {"en": relation_title(relation.lower())}},
        }
        if entry.get("resource_type"):
            item["resource_type"] = {
                "id": entry["resource_type"],
                "title": {"en": RESOURCE_TYPES.get(entry["resource_type"], entry["resource_type"])},
            }
        related.append(item)
    for entry in md.get("alternate_identifiers") or []:
        identifier = str(entry.get("identifier", ""))
        alternates.append({"identifier": identifier, "scheme": _scheme(identifier, entry.get("scheme"))})
    if related:
        metadata["related_identifiers"] = related
    if alternates:
        metadata["identifiers"] = alternates
    if md.get("version"):
        metadata["version"] = md["version"]
    license_value = md.get("license")
    license_id = license_value.get("id") if isinstance(license_value, dict) else license_value
    if license_id:
        lowered = str(license_id).lower()
        title, url = LICENSES.get(lowered, (str(license_id), ""))
        right: dict[str, Any] = {"id": lowered, "title": {"en": title}, "description": {"en": ""}}
        if url:
            right["props"] = {"url": url, "scheme": "spdx"}
        metadata["rights"] = [right]
    if md.get("description"):
        metadata["description"] = md["description"]
    extra = [{"description": md["notes"], "type": {"id": "other", "title": {"en": "Other"}}}] if md.get("notes") else []
    if md.get("method"):
        extra.append({"description": md["method"], "type": {"id": "methods", "title": {"en": "Methods"}}})
    if extra:
        metadata["additional_descriptions"] = extra
    if md.get("references"):
        metadata["references"] = [{"reference": r} for r in md["references"]]

    access_right = md.get("access_right", "open")
    access = {
        "record": "public",
        "files": "public" if access_right == "open" else "restricted",
        "embargo": {"active": access_right == "embargoed", "reason": None},
        "status": {"closed": "metadata-only"}.get(access_right, access_right),
    }
    if md.get("embargo_date"):
        access["embargo"]["until"] = md["embargo_date"]

    entries: dict[str, dict[str, Any]] = {}
    for item in legacy.get("files") or []:
        key = str(item.get("filename", item.get("key")) or "")
        checksum = str(item.get("checksum", ""))
        file_links = item.get("links") or {}
        content = file_links.get("download") or file_links.get("self")
        entries[key] = {
            "id": item.get("id") or item.get("file_id") or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{recid}/{key}")),
            "checksum": checksum if ":" in checksum else f"md5:{checksum}",
            "ext": item.get("type") or (key.rsplit(".", 1)[1].lower() if "." in key else None),
            "key": key,
            "mimetype": _MEDIA_TYPES.guess_type(key, strict=False)[0] or "application/octet-stream",
            "size": item.get("filesize", item.get("size")),
            "links": {"content": content} if content else {},
        }
    files: dict[str, Any] = {"enabled": True, "order": []}
    if entries and access["files"] == "public":
        files.update(
            count=len(entries), total_bytes=sum(int(e["size"] or 0) for e in entries.values()), entries=entries
        )

    stats = legacy.get("stats") or {}
    pids: dict[str, Any] = {"oai": {"identifier": f"oai:zenodo.org:{recid}", "provider": "oai"}}
    if doi:
        provider = "datacite" if str(doi).lower().startswith("10.5281/zenodo.") else "external"
        pids = {
            "doi": {"identifier": doi, "provider": provider, "client": "datacite"}
            if provider == "datacite"
            else {"identifier": doi, "provider": provider},
            **pids,
        }
    parent: dict[str, Any] = {"id": parent_id}
    if concept_doi:
        parent["pids"] = {"doi": {"identifier": concept_doi, "provider": "datacite", "client": "datacite"}}
    parent["communities"] = community_field(communities)
    owners = legacy.get("owners") or []
    owner = owners[0].get("id") if owners and isinstance(owners[0], dict) else (owners[0] if owners else None)
    parent["access"] = {"owned_by": {"user": owner}}
    return {
        "created": legacy.get("created"),
        "updated": legacy.get("updated") or legacy.get("modified"),
        "id": recid,
        "pids": pids,
        "metadata": metadata,
        "custom_fields": {},
        "access": access,
        "files": files,
        "media_files": {"enabled": False, "order": []},
        "status": "published",
        "is_published": True,
        "is_draft": False,
        "versions": {"is_latest": bool(version.get("is_last", True)), "index": int(version.get("index", 0)) + 1},
        "parent": parent,
        "revision_id": legacy.get("revision", 1),
        "stats": {
            "this_version": {
                "views": stats.get("version_views"),
                "unique_views": stats.get("version_unique_views"),
                "downloads": stats.get("version_downloads"),
                "unique_downloads": stats.get("version_unique_downloads"),
            },
            "all_versions": {
                "views": stats.get("views"),
                "unique_views": stats.get("unique_views"),
                "downloads": stats.get("downloads"),
                "unique_downloads": stats.get("unique_downloads"),
            },
        },
        "deletion_status": {"is_deleted": False, "status": "P"},
    }


def community_field(communities: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """`parent.communities` of a record in these communities: ids, the default one and the expanded entries."""
    if not communities:
        return {}
    return {
        "ids": [c["id"] for c in communities],
        "default": communities[0]["id"],
        "entries": [
            {"id": c["id"], "slug": c.get("slug"), "metadata": {"title": (c.get("metadata") or {}).get("title")}}
            for c in communities
        ],
    }


def community_slugs(rdm: Mapping[str, Any]) -> list[str]:
    entries = (((rdm.get("parent") or {}).get("communities") or {}).get("entries")) or []
    return [str(e.get("slug") or e.get("id")) for e in entries]


# -- deleted records -------------------------------------------------------------------------------------------------


def citation(rdm: Mapping[str, Any]) -> str:
    md = rdm.get("metadata") or {}
    names = [(c.get("person_or_org") or {}).get("name", "") for c in md.get("creators") or []]
    year = str(md.get("publication_date") or "")[:4]
    doi = ((rdm.get("pids") or {}).get("doi") or {}).get("identifier")
    authors = "; ".join(n for n in names[:3] if n) + ("; et al." if len(names) > 3 else "")
    text = f"{authors} ({year}). {md.get('title', '')}. Zenodo."
    return f"{text} https://doi.org/{doi}" if doi else text


def tombstone(rdm: Mapping[str, Any], deleted_at: datetime, reason: str = "retracted") -> dict[str, Any]:
    """The body of Zenodo's HTTP 410 for a deleted record (shape of corpus 3e `tombstone-22705918.json`)."""
    return {
        "status": 410,
        "message": "Record deleted",
        "tombstone": {
            "note": "",
            "removed_by": {"user": "system"},
            "removal_date": deleted_at.isoformat(),
            "citation_text": citation(rdm),
            "is_visible": True,
            "removal_reason": {"id": reason},
        },
    }
