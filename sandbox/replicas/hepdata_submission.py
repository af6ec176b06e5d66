"""HEPData submissions as the replica holds them: parsed from the submission format, versioned, revisable.

A *holding* is what hepdata.net keeps for one publication: its INSPIRE-derived metadata, its record id, and one
entry per finalised version (HEPSubmission) with the data abstract, the submission-level resources and the tables
(DataSubmissions) with their keywords, DOIs and data. It is a plain JSON-like dict so the replica store can copy it.

The submission format comes in two shapes, both read here as HEPData reads them:

* a folder with `submission.yaml` (a YAML stream: an optional header document with `comment`,
  `additional_resources`, `record_ids`, then one document per table naming its `data_file`) and the data files;
* a single YAML stream holding the header and every table with its data inline, which HEPData splits into
  `submission.yaml` plus one `<table name without spaces>.yaml` per table (`records/utils/yaml_utils.split_files`).
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

try:  # the C loader is several times faster on the large single-file submissions
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is present wherever PyYAML wheels are used
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

DOI_PREFIX = "10.17182"
"""HEPData's DataCite prefix: record DOIs are `10.17182/hepdata.<recid>[.v<version>]`."""

DATA_KEYWORD_NAMES = ("cmenergies", "observables", "phrases", "reactions")
"""The keyword names HEPData indexes as `data_keywords` (ext/opensearch/config/record_mapping.py)."""

LEGACY_KEYWORD_NAMES = {"energies": "cmenergies"}
"""Old-HepData conversions (hepdata-converter's oldhepdata parser) write √s as `energies`. The replica indexes it as
`cmenergies`; where hepdata.net renames it was not found in the code read, so this is the replica's assumption."""


class SubmissionError(ValueError):
    """A submission that cannot be read: names the file and what is wrong with it."""


@dataclass
class ParsedTable:
    name: str
    description: str
    location: str | None
    keywords: list[dict[str, Any]]
    data_file: str
    data_license: dict[str, Any] | None
    resources: list[dict[str, Any]]
    data: dict[str, Any] | None
    data_text: str | None
    """The data file exactly as submitted (None when the corpus copy lacks it)."""


@dataclass
class ParsedSubmission:
    source: Path
    header: dict[str, Any]
    tables: list[ParsedTable]
    original_files: dict[str, str] = field(default_factory=dict)
    """The submission's files as uploaded (relative name → text), for the `original` download."""

    @property
    def inspire_id(self) -> str | None:
        for record_id in self.header.get("record_ids") or []:
            if str(record_id.get("type", "")).lower() == "inspire" and record_id.get("id") is not None:
                return str(record_id["id"])
        return None

    @property
    def other_ids(self) -> list[dict[str, str]]:
        return [
            {"type": str(r.get("type")), "id": str(r.get("id"))}
            for r in self.header.get("record_ids") or []
            if str(r.get("type", "")).lower() != "inspire"
        ]


def _load_all(text: str, where: Path) -> list[dict[str, Any]]:
    try:
        documents = [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    except yaml.YAMLError as error:
        raise SubmissionError(f"{where}: not valid YAML ({error})") from error
    for number, document in enumerate(documents, 1):
        if not isinstance(document, dict):
            raise SubmissionError(f"{where}: YAML document {number} is a {type(document).__name__}, not a mapping")
    return documents


def _is_header(document: dict[str, Any]) -> bool:
    return "name" not in document and "data_file" not in document and "dependent_variables" not in document


def _table(document: dict[str, Any], where: Path, data: dict[str, Any] | None, data_text: str | None) -> ParsedTable:
    name = document.get("name")
    if not name:
        raise SubmissionError(f"{where}: a table document has no 'name'")
    return ParsedTable(
        name=str(name),
        description=str(document.get("description") or "No description provided."),
        location=document.get("location") or document.get("label"),
        keywords=[
            {"name": str(k.get("name")), "values": [v for v in (k.get("values") or []) if v is not None]}
            for k in document.get("keywords") or []
            if isinstance(k, dict) and k.get("name")
        ],
        data_file=str(document.get("data_file") or str(name).replace(" ", "") + ".yaml"),
        data_license=document.get("data_license") or None,
        resources=list(document.get("additional_resources") or []),
        data=data,
        data_text=data_text,
    )


def parse_folder(folder: Path) -> ParsedSubmission:
    """A submission folder: `submission.yaml` plus the data files it names (missing data files are allowed)."""
    submission_path = folder / "submission.yaml"
    text = submission_path.read_text(encoding="utf-8")
    documents = _load_all(text, submission_path)
    header = documents[0] if documents and _is_header(documents[0]) else {}
    originals = {"submission.yaml": text}
    tables = []
    for document in documents[1:] if header else documents:
        data_file = document.get("data_file")
        data, data_text = None, None
        if data_file and (folder / data_file).is_file():
            data_text = (folder / data_file).read_text(encoding="utf-8")
            loaded = _load_all(data_text, folder / data_file)
            data = loaded[0] if loaded else {}
            originals[str(data_file)] = data_text
        tables.append(_table(document, submission_path, data, data_text))
    return ParsedSubmission(folder, header, tables, originals)


def parse_single_file(path: Path) -> ParsedSubmission:
    """A single-file submission, split the way HEPData splits it on upload."""
    text = path.read_text(encoding="utf-8")
    documents = _load_all(text, path)
    header = documents[0] if documents and _is_header(documents[0]) else {}
    tables = []
    for document in documents[1:] if header else documents:
        data = {
            "independent_variables": _numbers(document.get("independent_variables")),
            "dependent_variables": _numbers(document.get("dependent_variables")),
        }
        data_text = yaml.safe_dump(data, allow_unicode=True)
        table = _table(document, path, data, data_text)
        table.data_file = table.name.replace(" ", "") + ".yaml"
        tables.append(table)
    return ParsedSubmission(path, header, tables, {path.name: text})


def _numbers(variables: Any) -> list[dict[str, Any]]:
    """`cleanup_data_yaml`: values, lows and highs written as numeric strings become floats."""
    if not variables:
        return []
    for variable in variables:
        if isinstance(variable, dict):
            for item in variable.get("values") or []:
                for key in ("value", "high", "low"):
                    if key in item:
                        with contextlib.suppress(TypeError, ValueError):
                            item[key] = float(item[key])
            variable["values"] = variable.get("values") or []
    return list(variables)


def corpus_submissions(corpus: Path) -> Iterator[tuple[ParsedSubmission, str]]:
    """Every submission under `corpus/hepdata/submission_format/`, with its INSPIRE id (from `record_ids`, else
    from the `ins<ID>` folder or file name)."""
    root = corpus / "hepdata" / "submission_format"
    if not root.is_dir():
        return
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and (entry / "submission.yaml").is_file():
            parsed = parse_folder(entry)
        elif entry.is_dir():
            streams = sorted(p for p in entry.iterdir() if p.suffix in (".yaml", ".yml"))
            if len(streams) != 1:
                raise SubmissionError(f"{entry}: expected submission.yaml or exactly one single-file YAML stream")
            parsed = parse_single_file(streams[0])
        elif entry.suffix in (".yaml", ".yml"):
            parsed = parse_single_file(entry)
        else:
            continue
        inspire_id = parsed.inspire_id or _inspire_from_name(entry.name)
        if inspire_id is None:
            raise SubmissionError(f"{entry}: no INSPIRE id in record_ids and none in the name (ins<ID>_...)")
        yield parsed, inspire_id


def _inspire_from_name(name: str) -> str | None:
    head = name.split("_", 1)[0].removeprefix("ins").split(".", 1)[0]
    return head if head.isdigit() else None


# -- holdings --------------------------------------------------------------------------------------------------
def table_id(recid: int, version: int, position: int) -> int:
    """A DataSubmission id: unique across records, versions and tables (HEPData's are a global sequence)."""
    return (recid * 100 + version) * 1000 + position


def resource_id(recid: int, version: int, position: int) -> int:
    return (recid * 100 + version) * 1000 + 900 + position


def infer_resource_type(location: str) -> str:
    """`records/utils/common.infer_file_type` with the URL handling of `parse_additional_resources`."""
    for pattern in ("github", "bitbucket", "rivet", "zenodo", "sourceforge"):
        if pattern in location:
            return pattern
    if location.startswith("http") and "hepdata" not in location:
        return "html"
    if "." not in location:
        return "resource"
    extension = location.rsplit(".", 1)[1]
    known = {
        "py": "Python", "c": "C", "cpp": "C++", "cxx": "C++", "cc": "C++", "C": "C++", "sh": "Bash Shell",
        "root": "ROOT", "json": "JSON", "yaml": "YAML", "txt": "Text", "slha": "SUSY Les Houches Accord",
    }  # fmt: skip
    return known.get(extension, extension)


def _resources(items: list[dict[str, Any]], recid: int, version: int) -> list[dict[str, Any]]:
    out = []
    for position, item in enumerate(items, 1):
        location = str(item.get("location") or "")
        if not location:
            continue
        if location.startswith("www."):
            location = "http://" + location
        is_file = not location.startswith("http")
        out.append(
            {
                "id": resource_id(recid, version, position),
                "location": location,
                "description": str(item.get("description") or ""),
                "type": infer_resource_type(location),
                # HEPData mints resource DOIs for uploaded files, not for links to other sites
                "doi": f"{DOI_PREFIX}/hepdata.{recid}.v{version}/r{position}" if is_file else None,
            }
        )
    return out


def version_entry(
    parsed: ParsedSubmission, recid: int, version: int, last_updated: datetime, message: str | None = None
) -> dict[str, Any]:
    tables = []
    for position, table in enumerate(parsed.tables, 1):
        tables.append(
            {
                "id": table_id(recid, version, position),
                "name": table.name,
                "description": table.description,
                "location": table.location,
                "keywords": copy.deepcopy(table.keywords),
                "data_file": table.data_file,
                "data_license": table.data_license,
                "resources": _resources(table.resources, recid, version),
                "doi": f"{DOI_PREFIX}/hepdata.{recid}.v{version}/t{position}",
                "data": copy.deepcopy(table.data),
                "data_text": table.data_text,
            }
        )
    return {
        "version": version,
        "status": "finished",
        "last_updated": iso(last_updated),
        "data_abstract": str(parsed.header.get("comment") or ""),
        "resources": _resources(list(parsed.header.get("additional_resources") or []), recid, version),
        "revision_message": message,
        "tables": tables,
    }


def holding(
    parsed: ParsedSubmission,
    inspire_id: str,
    recid: int,
    recid_verified: bool,
    publication: dict[str, Any],
    last_updated: datetime,
) -> dict[str, Any]:
    """What hepdata.net holds for one corpus submission: one finalised version."""
    return {
        "inspire_id": inspire_id,
        "recid": recid,
        "recid_verified": recid_verified,
        "publication": publication,
        "other_ids": parsed.other_ids,
        "coordinator": 1,
        "original": {"name": parsed.source.name, "files": parsed.original_files},
        "versions": [version_entry(parsed, recid, 1, last_updated)],
    }


def revise(data: dict[str, Any], revision: int, when: datetime) -> dict[str, Any]:
    """An edit in the sandbox is what a coordinator's revision is on hepdata.net: a new finalised version.

    Revision `r` adds `r` versions after the base ones, each a copy of the one before with new table DOIs and the
    edit's time as `last_updated` (the store keeps only the latest edit's time)."""
    versions = data["versions"]
    recid = int(data["recid"])
    for step in range(1, revision + 1):
        previous = versions[-1]
        number = previous["version"] + 1
        entry = copy.deepcopy(previous)
        entry["version"] = number
        entry["last_updated"] = iso(when)
        entry["revision_message"] = f"Sandbox revision {step}: tables re-uploaded by the coordinator."
        for position, table in enumerate(entry["tables"], 1):
            table["id"] = table_id(recid, number, position)
            table["doi"] = f"{DOI_PREFIX}/hepdata.{recid}.v{number}/t{position}"
        for position, resource in enumerate(entry["resources"], 1):
            resource["id"] = resource_id(recid, number, position)
            if resource["doi"]:
                resource["doi"] = f"{DOI_PREFIX}/hepdata.{recid}.v{number}/r{position}"
        versions.append(entry)
    return data


def iso(when: datetime) -> str:
    """HEPData's `last_updated` column is a naive UTC timestamp; kept here as ISO text without a zone."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.replace(microsecond=0).isoformat()


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def data_keywords(tables: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """`add_data_keywords` + `push_data_keywords`: the tables' keywords aggregated on the publication, with
    `cmenergies` turned into float ranges by `process_cmenergies` (unparseable values are dropped, as there)."""
    aggregated: dict[str, list[Any]] = {}
    for table in tables:
        for keyword in table.get("keywords") or []:
            name = LEGACY_KEYWORD_NAMES.get(keyword["name"], keyword["name"])
            if name not in DATA_KEYWORD_NAMES:
                continue
            bucket = aggregated.setdefault(name, [])
            for value in keyword.get("values") or []:
                items = cmenergy_ranges([value]) if name == "cmenergies" else [str(value)]
                for item in items:
                    if item not in bucket:
                        bucket.append(item)
    return aggregated


def cmenergy_ranges(values: list[Any]) -> list[dict[str, float]]:
    """`process_cmenergies`: '13000.0' → {gte: 13000, lte: 13000}; '7000-8000' or '7000 and 8000' → a range."""
    out = []
    for raw in values:
        text = str(raw).strip(" gevGEV")
        try:
            number = float(text)
            out.append({"gte": number, "lte": number})
            continue
        except ValueError:
            pass
        match = re.match(r"^(-?\d+(?:\.\d+)?)[ \-+andAND]+(-?\d+(?:\.\d+)?)$", text)
        if match:
            low, high = sorted((float(match.group(1)), float(match.group(2))))
            out.append({"gte": low, "lte": high})
    return out
