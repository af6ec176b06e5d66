"""What hepdata.net sends, built from a holding (see `hepdata_submission`) the way HEPData's own code builds it.

References (HEPData/hepdata, read through the public-code index):

* record page JSON: `records/api.py` `format_submission` + `format_tables`/`process_data_tables`, then
  `records/utils/data_processing_utils.py` `process_ctx` (drops the widget flags, drops `data_tables` in light
  mode, adds per-format download URLs); the `record` inside is the OpenSearch publication document
  (`ext/opensearch/document_enhancers.py` `enhance_publication_document`, `push_data_keywords`) without `authors`.
  Flask's JSON provider writes it with sorted keys, compactly, ASCII-escaped, and datetimes as HTTP dates.
* table descriptions in the record JSON are cut to 20 words (`truncate_string`) and HTML-sanitised
  (`sanitize_html`, bleach: tags stripped, `&`, `<`, `>` escaped); so is the data abstract.
* `hepdata_doi` is the base DOI `10.17182/hepdata.<recid>`, with `.v<version>` only when the record has more than
  one version (`format_submission`); table DOIs are `…/hepdata.<recid>.v<version>/t<n>` (`doi_minter`).
* search results: `ext/opensearch/process_results.py` (`map_result`, `get_basic_record_information`) and
  facets from `aggregations.py`.
* CSV: hepdata-converter `writers/csv_writer.py` + `array_writer.py` (metadata comment lines, one block per
  dependent variable, qualifier rows, `'`-quoted strings).
"""

from __future__ import annotations

import copy
import email.utils
import html
import io
import itertools
import json
import re
import tarfile
import uuid
import zipfile
from collections import Counter
from datetime import datetime
from typing import Any

import yaml

from sandbox.replicas.hepdata_submission import DOI_PREFIX, data_keywords, parse_iso

TABLE_FORMATS = ("json", "root", "csv", "yoda", "yoda1", "yoda.h5", "yaml")
"""Per-table download formats in the record JSON's `data` (FORMATS.md §2, from HEPData's HEAD)."""

SUBMISSION_FORMATS = ("json", "root", "yaml", "csv", "yoda", "yoda.h5")
"""`add_data_submission_urls` FORMATS; the keys replace '.' with '-'."""

_ALLOWED_TAGS = ("a", "b", "br", "code", "em", "i", "li", "ol", "p", "pre", "strong", "sub", "sup", "ul")
_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)(\s[^<>]*)?/?>")


def to_json(document: Any) -> bytes:
    """Flask's `jsonify`: sorted keys, compact separators, ASCII only."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def http_date(iso_text: str) -> str:
    """How Flask's JSON provider writes a `datetime`: an RFC 822 date in GMT."""
    return email.utils.format_datetime(parse_iso(iso_text), usegmt=True)


def sanitize(text: str, allowed: tuple[str, ...] = _ALLOWED_TAGS, strip: bool = False) -> str:
    """bleach as HEPData calls it: allowed tags kept, other tags stripped (`strip`) or escaped, text escaped."""
    out, position = [], 0
    for match in _TAG.finditer(text):
        out.append(html.escape(text[position : match.start()], quote=False))
        if match.group(1).lower() in allowed:
            out.append(match.group(0))
        elif not strip:
            out.append(html.escape(match.group(0), quote=False))
        position = match.end()
    out.append(html.escape(text[position:], quote=False))
    return "".join(out)


def truncate_words(text: str, words: int) -> str:
    """`records/utils/common.truncate_string`."""
    parts = text.split()
    cut = " ".join(parts[:words])
    return cut + "..." if len(parts) > words else cut


def cleaned_table_name(name: str) -> str:
    """The table name as HEPData writes it into download URLs (`process_ctx`)."""
    cleaned = name.replace("%", "%25").replace("\\", "%5C")
    if re.match(r"^Table \d+$", cleaned):
        cleaned = cleaned.replace("Table ", "Table")
    return cleaned


def file_identifier(holding: dict[str, Any]) -> str:
    return f"ins{holding['inspire_id']}" if holding.get("inspire_id") else str(holding["recid"])


def base_doi(holding: dict[str, Any]) -> str:
    return f"{DOI_PREFIX}/hepdata.{holding['recid']}"


def version_entry(holding: dict[str, Any], version: int) -> dict[str, Any] | None:
    for entry in holding["versions"]:
        if entry["version"] == version:
            return dict(entry)
    return None


def latest(holding: dict[str, Any]) -> dict[str, Any]:
    return dict(holding["versions"][-1])


def _resource_url(resource: dict[str, Any], site_url: str) -> str:
    """`utils/miscellaneous.generate_resource_url`."""
    if str(resource["location"]).startswith("http"):
        return str(resource["location"])
    return f"{site_url}/record/resource/{resource['id']}?landing_page=true"


def _resource_data(resources: list[dict[str, Any]], site_url: str) -> list[dict[str, Any]]:
    """`get_resource_data`: description, type and URL of each resource."""
    return [{"description": r["description"], "type": r["type"], "url": _resource_url(r, site_url)} for r in resources]


# -- the OpenSearch publication document -------------------------------------------------------------------------
def publication_document(holding: dict[str, Any], site_url: str) -> dict[str, Any]:
    """The publication as HEPData indexes it (latest finished version), INSPIRE defaults where metadata is absent."""
    publication = holding.get("publication") or {}
    newest = latest(holding)
    recid = int(holding["recid"])
    authors = list(publication.get("authors") or [])
    year = publication.get("year")
    doc: dict[str, Any] = {
        # inspire_api/parser.py parsed_content_defaults
        "title": publication.get("title"),
        "doi": publication.get("doi"),
        "type": list(publication.get("type") or []),
        "abstract": publication.get("abstract", "None"),
        "creation_date": publication.get("creation_date"),
        "arxiv_id": publication.get("arxiv_id"),
        "collaborations": list(publication.get("collaborations") or []),
        "keywords": list(publication.get("keywords") or []),
        "journal_info": publication.get("journal_info", "No Journal Information"),
        "year": year,
        "subject_area": list(publication.get("subject_area") or []),
        "authors": authors,
        # the record and its enhancers
        "recid": recid,
        "id": recid,
        "inspire_id": str(holding["inspire_id"]),
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"hepdata-replica:{recid}")),
        "doc_type": "publication",
        "access_urls": {
            "links": {
                fmt.replace(".", "-"): f"{site_url}/download/submission/ins{holding['inspire_id']}/"
                f"{newest['version']}/{fmt}"
                for fmt in SUBMISSION_FORMATS
            }
        },
        "data_abstract": newest["data_abstract"],
        "summary_authors": authors[:10],
        "last_updated": newest["last_updated"],
        "analyses": list(holding.get("analyses") or []),
        "parent_child_join": {"name": "parent_publication"},
        "resources": _resource_data(newest["resources"], site_url),
        "data_keywords": data_keywords(newest["tables"]),
        "hepdata_doi": base_doi(holding),
    }
    if authors:
        doc["first_author"] = authors[0]
    if year is not None:
        doc["publication_date"] = f"{int(str(year)[:4]):04d}-01-01T00:00:00"
    return doc


def table_document(holding: dict[str, Any], table: dict[str, Any], site_url: str) -> dict[str, Any]:
    """A data table as HEPData indexes it (`enhance_data_document`)."""
    cleaned = table["name"].replace("%", "%25").replace("\\", "%5C")
    keywords = [
        {"name": k["name"], "value": str(v), "synonyms": ""} for k in table.get("keywords") or [] for v in k["values"]
    ]
    return {
        "id": table["id"],
        "recid": table["id"],
        "doc_type": "datatable",
        "title": table["name"],
        "description": table["description"],
        "location": table.get("location"),
        "doi": table["doi"],
        "inspire_id": str(holding["inspire_id"]),
        "related_publication": int(holding["recid"]),
        "keywords": keywords,
        "data_keywords": data_keywords([table]),
        "resources": _resource_data(table.get("resources") or [], site_url),
        "access_urls": {
            "links": {
                fmt.replace(".", "-"): f"{site_url}/download/table/ins{holding['inspire_id']}/{cleaned}/{fmt}"
                for fmt in SUBMISSION_FORMATS
            }
        },
        "parent_child_join": {"name": "child_datatable", "parent": str(holding["recid"])},
    }


# -- the record page JSON ----------------------------------------------------------------------------------------
def record_context(
    holding: dict[str, Any], version: int, site_url: str, light: bool, access_count: int = 0
) -> dict[str, Any] | None:
    """`render_record(..., output_format='json')` for one version; None when the version does not exist."""
    entry = version_entry(holding, version)
    if entry is None:
        return None
    version_count = len(holding["versions"])
    recid = int(holding["recid"])
    record = publication_document(holding, site_url)
    authors = record.pop("authors", None)
    record["last_updated"] = http_date(entry["last_updated"])
    record["hepdata_doi"] = base_doi(holding) + (f".v{version}" if version_count > 1 else "")
    record["data_abstract"] = sanitize(entry["data_abstract"])
    ctx: dict[str, Any] = {
        "site_url": site_url,
        "record": record,
        "version_count": version_count,
        "version": version,
        "participant_count": 0,
        "reviewers_notified": True,
        "recid": recid,
        "status": entry["status"],
        "overall_status": entry["status"],
        "additional_resources": bool(entry["resources"]),
        "resources_with_doi": [
            {"filename": r["location"].rsplit("/", 1)[-1], "description": r["description"], "doi": r["doi"]}
            for r in entry["resources"]
            if r.get("doi")
        ],
        "access_count": access_count,
        "mode": "record",
        "coordinator": holding.get("coordinator", 1),
        "record_type": "publication",
        "related_recids": [],
        "related_to_this_recids": [],
        "watched": False,
    }
    if authors:
        ctx["breadcrumb_text"] = authors[0]["full_name"] + (" et al." if len(authors) > 1 else "")
    if entry.get("revision_message"):
        ctx["revision_message"] = {"version": version, "message": entry["revision_message"]}
    tables = entry["tables"]
    ctx["table_id_to_show"] = tables[0]["id"] if tables else -1
    ctx["table_name_to_show"] = tables[0]["name"] if tables else ""
    if not light:
        ident = f"ins{holding['inspire_id']}" if entry["status"] == "finished" else str(recid)
        ctx["data_tables"] = [
            {
                "id": table["id"],
                "processed_name": "".join(table["name"].split()),
                "name": table["name"],
                "location": table.get("location"),
                "doi": table["doi"],
                "description": sanitize(truncate_words(table["description"], 20), allowed=(), strip=True),
                "resources": _resource_data(table.get("resources") or [], site_url),
                "data": {
                    fmt: f"{site_url}/download/table/{ident}/{cleaned_table_name(table['name'])}/{version}/{fmt}"
                    for fmt in TABLE_FORMATS
                },
            }
            for table in tables
        ]
    return ctx


# -- search ------------------------------------------------------------------------------------------------------
def search_hit(holding: dict[str, Any], tables: list[dict[str, Any]], site_url: str) -> dict[str, Any]:
    """`get_basic_record_information` on the publication, with its matching tables under `data`."""
    doc = publication_document(holding, site_url)
    doc.pop("authors", None)  # the search excludes the full author list
    summary = doc.get("summary_authors") or []
    doc["authors"] = [a["full_name"] for a in summary] if summary else None
    doc["date"] = _format_date(doc.get("creation_date"))
    data = []
    for table in tables:
        item = table_document(holding, table, site_url)
        item.update({"collaborations": [], "authors": None, "date": None, "abstract": None})
        data.append(item)
    doc["data"] = data
    doc["total_tables"] = len(data)
    return doc


def _format_date(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text)[:10]).strftime("%d %b %Y")
    except ValueError:
        return None


def facets(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The facets HEPData computes over a result set (`add_default_aggregations` + `parse_aggregations`)."""

    def terms(values: list[str], name: str, printable: str, max_values: int) -> dict[str, Any]:
        counted = Counter(values).most_common(10)
        vals = [{"key": k, "doc_count": n, "url_params": {name: k}} for k, n in counted]
        return {"type": name, "printable_name": printable, "vals": vals, "max_values": max_values}

    authors = [a["full_name"] for d in docs for a in d.get("summary_authors") or []]
    collaborations = [c for d in docs for c in set(d.get("collaborations") or [])]
    subjects = [s for d in docs for s in set(d.get("subject_area") or [])]
    keyword = {name: [v for d in docs for v in set(d["data_keywords"].get(name) or [])] for name in
               ("reactions", "observables", "phrases")}  # fmt: skip
    years = Counter(str(d["year"])[:4] for d in docs if d.get("year"))
    out = [terms(authors, "author", "Authors", 10)]
    collab = terms(collaborations, "collaboration", "Collaboration", 5)
    for bucket in collab["vals"]:
        bucket["key"] = bucket["key"].upper()
    out += [collab, terms(subjects, "subject_areas", "Subject_areas", 5)]
    date_vals: list[dict[str, Any]] = [
        {"key": int(y), "doc_count": n, "url_params": {"date": int(y)}}
        for y, n in sorted(years.items(), key=lambda item: (-item[1], -int(item[0])))
    ]
    out.append({"type": "date", "printable_name": "Date", "vals": date_vals, "max_values": 5})
    for name in ("reactions", "observables", "phrases"):
        out.append(terms(keyword[name], name, name.capitalize(), 5))
    limits = [0, 1, 2, 5, 10, 100, 1000, 7000, 8000, 13000, 100000]
    cm_vals = []
    for low, high in itertools.pairwise(limits):
        key = f"√s ≥ {low:.1f}" if high == 100000 else f"{low:.1f} ≤ √s < {high:.1f}"
        cm_vals.append({"doc_count": None, "url_params": {"cmenergies": f"{low:.1f},{high:.1f}"}, "key": key})
    out.append({"type": "cmenergies", "printable_name": "CM Energies (GeV)", "vals": cm_vals, "max_values": 5})
    order = {"date": 1, "collaboration": 2, "subject_areas": 3, "phrases": 4, "reactions": 5, "observables": 6,
             "cmenergies": 7, "author": 8}  # fmt: skip
    return sorted((f for f in out if f["vals"]), key=lambda f: order[f["type"]])


# -- converter outputs -------------------------------------------------------------------------------------------
def table_yaml(table: dict[str, Any]) -> str:
    """The table's data file as stored (`download_datatable` sends it unchanged); generated tables are written."""
    if table.get("data_text") is not None:
        return str(table["data_text"])
    return yaml.safe_dump(table["data"], allow_unicode=True)


def table_csv(table: dict[str, Any], position: int, hepdata_doi: str | None) -> str:
    """hepdata-converter's CSV writer (unpacked: one block per dependent variable)."""
    out = io.StringIO()
    if hepdata_doi:
        out.write(f"#: table_doi: {hepdata_doi}/t{position}\n")
    out.write(f"#: name: {table['name']}\n")
    out.write(f"#: description: {table['description']}\n")
    out.write(f"#: data_file: {table['data_file']}\n")
    license_ = table.get("data_license")
    if license_:
        text = f"{license_.get('name') or ''} {license_.get('url') or ''} {license_.get('description') or ''}"
        out.write(f"#: data_license: {text}\n")
    for keyword in table.get("keywords") or []:
        out.write(f"#: keyword {keyword['name']}: {' | '.join(str(v) for v in keyword['values'])}\n")
    data = table["data"] or {}
    headers_x: list[str] = []
    columns_x: list[list[Any]] = []
    marks_x: list[bool] = []
    for variable in data.get("independent_variables") or []:
        name = str(variable["header"]["name"])
        if "units" in variable["header"]:
            name += f" [{variable['header']['units']}]"
        headers_x.append(name)
        central, lows, highs = [], [], []
        for value in variable.get("values") or []:
            if "high" in value and "low" in value:
                lows.append(value["low"])
                highs.append(value["high"])
                central.append(value["value"] if "value" in value else 0.5 * (value["low"] + value["high"]))
            else:
                lows.append(value.get("value"))
                highs.append(value.get("value"))
                central.append(value.get("value"))
        columns_x.append(central)
        if highs != lows:
            columns_x += [lows, highs]
            headers_x += [name + " LOW", name + " HIGH"]
            marks_x += [False, False]
    for variable in data.get("dependent_variables") or []:
        headers, columns, marks = list(headers_x), list(columns_x), list(marks_x)
        qualifiers: dict[str, list[Any]] = {}
        _dependent(variable, headers, columns, marks, qualifiers)
        _write_block(out, headers, columns, marks, qualifiers)
        out.write("\n")
    return out.getvalue()


def _dependent(
    variable: dict[str, Any],
    headers: list[str],
    columns: list[list[Any]],
    marks: list[bool],
    qualifiers: dict[str, list[Any]],
) -> None:
    units = f" [{variable['header']['units']}]" if "units" in variable["header"] else ""
    headers.append(str(variable["header"]["name"]) + units)
    marks.append(True)
    values = [dict(v, errors=[dict(e) for e in v.get("errors") or []]) for v in variable.get("values") or []]
    labels: list[str] = []
    for value in values:
        seen: Counter[str] = Counter()
        for error in value["errors"]:
            label = error.get("label", "error")
            seen[label] += 1
            if seen[label] > 1:
                error["label"] = f"{label}_{seen[label]}"
            if seen[label] == 2:
                first = next(e for e in value["errors"] if e.get("label", "error") == label)
                first["label"] = label + "_1"
        for error in value["errors"]:
            label = error.get("label", "error")
            if label not in labels:
                labels.append(label)
                headers += [label + " +", label + " -"]
                marks += [False, False]
    central = [v.get("value") for v in values]
    plus: dict[str, list[Any]] = {label: [] for label in labels}
    minus: dict[str, list[Any]] = {label: [] for label in labels}
    for value in values:
        found = {e.get("label", "error"): e for e in value["errors"]}
        for label in labels:
            error = found.get(label)
            if error is None:
                plus[label].append(0)
                minus[label].append(0)
            elif "symerror" in error:
                size = error["symerror"]
                plus[label].append(size)
                minus[label].append("-" + size if str(size).endswith("%") else -size)
            else:
                plus[label].append(error["asymerror"]["plus"])
                minus[label].append(error["asymerror"]["minus"])
    columns.append(central)
    for label in labels:
        columns += [plus[label], minus[label]]
    for qualifier in variable.get("qualifiers") or []:
        name = str(qualifier["name"]) + (f" [{qualifier['units']}]" if "units" in qualifier else "")
        qualifiers.setdefault(name, []).append(qualifier.get("value"))


def _csv_cell(value: Any) -> str:
    if value is None:
        return "''"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "'" + str(value).replace("'", "''") + "'"
    return repr(value) if isinstance(value, float) else str(value)


def _write_block(
    out: io.StringIO, headers: list[str], columns: list[list[Any]], marks: list[bool], qualifiers: dict[str, list[Any]]
) -> None:
    for key, values in qualifiers.items():
        row: list[Any] = []
        position = 0
        for value in values:
            for position in range(position, len(marks)):  # noqa: B020 - the converter walks the marks this way
                if marks[position]:
                    row.append(value)
                    position += 1
                    break
                row.append(None)
        out.write(",".join(["#: " + key] + ["" if v is None else str(v) for v in row]) + "\n")
    out.write(",".join(_csv_cell(h) for h in headers) + "\n")
    rows = max((len(c) for c in columns), default=0)
    for index in range(rows):
        out.write(",".join(_csv_cell(c[index]) if index < len(c) else "" for c in columns) + "\n")


def submission_yaml_archive(holding: dict[str, Any], entry: dict[str, Any]) -> bytes:
    """The converter's YAML export: `submission.yaml` with `hepdata_doi`/`table_doi` added, and the data files."""
    folder = f"HEPData-{file_identifier(holding)}-v{entry['version']}-yaml"
    header = {"comment": entry["data_abstract"], "hepdata_doi": f"{base_doi(holding)}.v{entry['version']}"}
    if entry["resources"]:
        header["additional_resources"] = [
            {"location": r["location"], "description": r["description"]} for r in entry["resources"]
        ]
    documents = [header]
    files: dict[str, str] = {}
    for table in entry["tables"]:
        document = {
            "name": table["name"],
            "table_doi": table["doi"],
            "location": table.get("location"),
            "description": table["description"],
            "keywords": copy.deepcopy(table.get("keywords") or []),
            "data_file": table["data_file"],
        }
        if table.get("data_license"):
            document["data_license"] = table["data_license"]
        documents.append({k: v for k, v in document.items() if v is not None})
        files[table["data_file"]] = yaml.safe_dump(table["data"], allow_unicode=True)
    files["submission.yaml"] = yaml.safe_dump_all(documents, allow_unicode=True)
    return _tar_gz({f"{folder}/{name}": text for name, text in files.items()})


def submission_csv_archive(holding: dict[str, Any], entry: dict[str, Any]) -> bytes:
    folder = f"HEPData-{file_identifier(holding)}-v{entry['version']}-csv"
    doi = f"{base_doi(holding)}.v{entry['version']}"
    return _tar_gz(
        {
            f"{folder}/{table['name']}.csv": table_csv(table, position, doi)
            for position, table in enumerate(entry["tables"], 1)
        }
    )


def original_archive(holding: dict[str, Any], entry: dict[str, Any]) -> tuple[str, bytes]:
    """The submission as uploaded: a single YAML file stays one, a folder is zipped."""
    original = holding.get("original") or {}
    files: dict[str, str] = dict(original.get("files") or {})
    if not files:
        documents: list[dict[str, Any]] = [{"comment": entry["data_abstract"]}]
        for table in entry["tables"]:
            documents.append(
                {
                    "name": table["name"],
                    "location": table.get("location"),
                    "description": table["description"],
                    "keywords": table.get("keywords") or [],
                    "data_file": table["data_file"],
                }
            )
            files[table["data_file"]] = table["data_text"] or ""
        files["submission.yaml"] = yaml.safe_dump_all(documents, allow_unicode=True)
    stem = f"HEPData-{file_identifier(holding)}-v{entry['version']}"
    if len(files) == 1 and "submission.yaml" not in files:
        return stem + ".yaml", next(iter(files.values())).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            archive.writestr(info, text)
    return stem + ".zip", buffer.getvalue()


def _tar_gz(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    # a fixed mtime keeps archives byte-identical between requests
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for name, text in sorted(files.items()):
            payload = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            info.mtime = 1577836800
            archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


# -- HTML pages --------------------------------------------------------------------------------------------------
def error_page(message: str, description: str) -> bytes:
    """`converter.views.display_error`: HEPData answers converter errors with an HTML page (status 200)."""
    return (
        "<!DOCTYPE html><html><head><title>HEPData</title></head><body>"
        "<h3>Converter error encountered</h3>"
        f"<p>{html.escape(message)}</p><ul><li>{html.escape(description)}</li></ul></body></html>"
    ).encode()


NOT_FOUND_PAGE = (
    b"<!DOCTYPE html><html><head><title>HEPData | 404</title></head><body>"
    b"<h1>404</h1><p>We can't find what you are looking for.</p></body></html>"
)
"""HEPData's theme 404 page (what `abort(404)` renders, whatever format was asked)."""


def record_page(ctx: dict[str, Any]) -> bytes:
    record = ctx["record"]
    title = html.escape(str(record.get("title") or f"HEPData record {ctx['recid']}"))
    rows = "".join(
        f"<li>{html.escape(t['name'])}: {html.escape(str(t['doi']))}</li>" for t in ctx.get("data_tables") or []
    )
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h4>{title}</h4>"
        f"<p>{html.escape(str(record.get('hepdata_doi')))} version {ctx['version']}</p><ul>{rows}</ul></body></html>"
    ).encode()
