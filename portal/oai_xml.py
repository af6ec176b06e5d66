"""OAI-PMH 2.0 response documents: the envelope, errors, headers, records and resumption tokens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from lxml import etree

OAI_NAMESPACE = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_OAI = f"{{{OAI_NAMESPACE}}}"


def utc_seconds(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(response_date: datetime, base_url: str, arguments: Mapping[str, str] | None) -> etree._Element:
    """`<OAI-PMH>` with responseDate and request; `arguments` None for badVerb/badArgument answers, whose request
    element must carry the base URL only."""
    root = etree.Element(f"{_OAI}OAI-PMH", nsmap={None: OAI_NAMESPACE, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI_NAMESPACE} {OAI_SCHEMA}")
    etree.SubElement(root, f"{_OAI}responseDate").text = utc_seconds(response_date)
    request = etree.SubElement(root, f"{_OAI}request", dict(arguments or {}))
    request.text = base_url
    return root


def add(parent: etree._Element, name: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{_OAI}{name}", attributes)
    if text is not None:
        element.text = text
    return element


def add_errors(root: etree._Element, errors: Sequence[tuple[str, str]]) -> None:
    for code, message in errors:
        add(root, "error", message, code=code)


def add_header(parent: etree._Element, identifier: str, datestamp: str, specs: Sequence[str], deleted: bool) -> None:
    header = add(parent, "header", **({"status": "deleted"} if deleted else {}))
    add(header, "identifier", identifier)
    add(header, "datestamp", datestamp)
    for spec in specs:
        add(header, "setSpec", spec)


def add_resumption_token(
    parent: etree._Element, token: str, cursor: int, complete_list_size: int, expires: datetime | None
) -> None:
    """The resumptionToken element; an empty `token` ends an incomplete list."""
    attributes = {"cursor": str(cursor)}
    if complete_list_size > 0:
        attributes["completeListSize"] = str(complete_list_size)
    if expires is not None and token:
        attributes["expirationDate"] = utc_seconds(expires)
    add(parent, "resumptionToken", token, **attributes)


def serialize(root: etree._Element) -> bytes:
    result: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return result
