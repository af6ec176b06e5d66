"""How to cite a record: the DataCite citation string and a BibTeX entry.

Both are built from the record's DataCite attributes (`ontology.datacite.attributes`), so the creators, publisher,
year and resource type a citation names are exactly those the record's DataCite view declares. The string follows
DataCite's recommended format, `Creator (PublicationYear). Title. Version. Publisher. ResourceType. Identifier`,
the identifier being the DOI as a resolver URL, else the landing page.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from ontology.datacite import UNAVAILABLE, DataCiteError, attributes
from ontology.model import Record

MAX_NAMED_CREATORS = 10
"""Beyond this many creators a citation names the first and says `et al.` (collaborations have thousands)."""


def _names(data: dict[str, Any]) -> list[str]:
    return [c["name"] for c in data["creators"] if c.get("name") and c["name"] != UNAVAILABLE]


def citation(record: Record) -> str:
    """The DataCite-style citation of a record, e.g. `CMS Collaboration (2017). Title. CERN Open Data Portal.
    Dataset. https://doi.org/10.7483/OPENDATA.CMS.A342.9982`."""
    data = _attributes(record)
    names = _names(data)
    creators = "; ".join(names[:MAX_NAMED_CREATORS]) + ("; et al." if len(names) > MAX_NAMED_CREATORS else "")
    parts = [f"{creators} ({data['publicationYear']})" if creators else f"({data['publicationYear']})"]
    parts.append(record.title.rstrip(". "))
    if record.version:
        parts.append(f"Version {record.version}" if not record.version.lower().startswith("v") else record.version)
    publisher = data["publisher"]["name"]
    if publisher != UNAVAILABLE:
        parts.append(publisher)
    parts.append(data["types"].get("resourceType") or data["types"]["resourceTypeGeneral"])
    parts.append(_locator(record))
    return ". ".join(p for p in parts if p)


def bibtex(record: Record) -> str:
    """A BibTeX `@misc` entry (biblatex reads it too), with the DOI field when the record has a DOI."""
    data = _attributes(record)
    names = _names(data) or [publisher for publisher in [data["publisher"]["name"]] if publisher != UNAVAILABLE]
    authors = " and ".join(_bibtex_name(n, c) for n, c in zip(names, data["creators"], strict=False))
    fields: list[tuple[str, str]] = [
        ("author", authors),
        ("title", "{" + _escape(record.title) + "}"),
        ("year", str(data["publicationYear"])),
        ("publisher", _escape(data["publisher"]["name"]) if data["publisher"]["name"] != UNAVAILABLE else ""),
        ("version", _escape(record.version or "")),
        ("howpublished", data["types"].get("resourceType") or data["types"]["resourceTypeGeneral"]),
        ("doi", record.doi or ""),
        ("url", _locator(record)),
    ]
    body = ",\n".join(f"  {key:<12} = {{{value}}}" for key, value in fields if value)
    return f"@misc{{{_key(record, names, str(data['publicationYear']))},\n{body}\n}}"


def _attributes(record: Record) -> dict[str, Any]:
    try:
        return attributes(record)
    except DataCiteError:
        # a record with no date at all (and never harvested): cited as "n.d." rather than not at all; the year
        # given to DataCite's writer only lets it build the other attributes and is replaced
        data = attributes(record.model_copy(update={"issued": "1000"}))
        data["publicationYear"] = "n.d."
        return data


def _locator(record: Record) -> str:
    return f"https://doi.org/{record.doi}" if record.doi else (record.landing_page or record.id)


def _bibtex_name(name: str, creator: dict[str, Any]) -> str:
    if creator.get("nameType") == "Organizational":
        return "{" + _escape(name) + "}"
    return _escape(name)


def _escape(text: str) -> str:
    """BibTeX's special characters escaped, except inside `$…$` (titles from HEPData and INSPIRE carry LaTeX)."""
    pieces = text.split("$")
    if len(pieces) % 2 == 0:  # an unpaired $ is a dollar sign
        return re.sub(r"([&%$#_{}])", r"\\\1", text)
    return "$".join(p if i % 2 else re.sub(r"([&%#_{}])", r"\\\1", p) for i, p in enumerate(pieces))


def _key(record: Record, names: list[str], year: str) -> str:
    first = names[0].split(",")[0] if names else record.source
    ascii_name = unicodedata.normalize("NFKD", first).encode("ascii", "ignore").decode()
    word = re.sub(r"[^A-Za-z0-9]", "", ascii_name.split()[0] if ascii_name.split() else "") or "dataset"
    native = re.sub(r"[^A-Za-z0-9]+", "-", re.split(r"[/:]", record.native_id)[-1]).strip("-")[:40]
    return f"{word}{year}_{native}"
