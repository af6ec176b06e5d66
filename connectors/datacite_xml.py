"""DataCite XML (kernel 2.x, 3 and 4, and the `oai_datacite` envelope) → a faithful `DataCiteResource`.

This module only *reads*: every property of the kernel becomes a typed value, as the source wrote it (whitespace
trimmed, nothing normalised), so that `connectors.datacite_xml_values` can decide how each lands in the model and
tests can see what a record said even where the model has no place for it (geo locations, funders).

Lenient where real records are: the element names of kernels 2.1 to 4.6 are read from whichever kernel namespace
the `<resource>` element declares (older records omit `nameType`, kernel 2 has a bare `<rights>`, KCDC's drafts
pad every text node with whitespace and write `descriptionType="Table of Contents"`). Strict where a person has to
look: a record without an identifier element, a title or a creator name, or with a date that is not ISO 8601, is a
`MappingError` naming the property (`resource.creators[2].creatorName`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from connectors.base import MappingError

KERNEL_PREFIX = "http://datacite.org/schema/kernel-"
OAI_DATACITE_NAMESPACES = frozenset(
    ("http://schema.datacite.org/oai/oai-1.0/", "http://schema.datacite.org/oai/oai-1.1/")
)
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def is_kernel_namespace(namespace: str | None) -> bool:
    """`http://datacite.org/schema/kernel-2.1`, `-3`, `-4` (and Invenio's placeholder `nonexistant`)."""
    if not namespace:
        return False
    return namespace.startswith(KERNEL_PREFIX) or namespace == "http://datacite.org/schema/nonexistant"


@dataclass(frozen=True)
class NameIdentifier:
    value: str
    scheme: str | None
    scheme_uri: str | None = None


@dataclass(frozen=True)
class AffiliationEntry:
    name: str
    identifier: str | None = None
    scheme: str | None = None


@dataclass(frozen=True)
class Name:
    """A creator or contributor (`contributor_type` only for contributors)."""

    name: str
    name_type: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    identifiers: tuple[NameIdentifier, ...] = ()
    affiliations: tuple[AffiliationEntry, ...] = ()
    contributor_type: str | None = None


@dataclass(frozen=True)
class Title:
    text: str
    title_type: str | None = None
    lang: str | None = None


@dataclass(frozen=True)
class Subject:
    text: str
    scheme: str | None = None
    scheme_uri: str | None = None
    value_uri: str | None = None
    classification_code: str | None = None
    lang: str | None = None


@dataclass(frozen=True)
class DateEntry:
    value: str
    date_type: str | None
    information: str | None = None


@dataclass(frozen=True)
class RelatedIdentifier:
    value: str
    identifier_type: str | None
    relation_type: str | None
    resource_type_general: str | None = None
    scheme: str | None = None


@dataclass(frozen=True)
class AlternateIdentifier:
    value: str
    identifier_type: str | None


@dataclass(frozen=True)
class Rights:
    text: str | None
    uri: str | None = None
    identifier: str | None = None
    identifier_scheme: str | None = None


@dataclass(frozen=True)
class Description:
    text: str
    description_type: str | None
    lang: str | None = None


@dataclass(frozen=True)
class GeoLocation:
    place: str | None = None
    point: tuple[float, float] | None = None
    """(latitude, longitude)"""
    box: tuple[float, float, float, float] | None = None
    """(west longitude, east longitude, south latitude, north latitude)"""
    polygon: tuple[tuple[float, float], ...] = ()
    """(latitude, longitude) points"""


@dataclass(frozen=True)
class Funding:
    funder_name: str
    funder_identifier: str | None = None
    funder_identifier_type: str | None = None
    award_number: str | None = None
    award_uri: str | None = None
    award_title: str | None = None


@dataclass
class DataCiteResource:
    """Everything a DataCite `<resource>` says, property by property."""

    kernel: str
    """The kernel version of the namespace: `4`, `3`, `2.1`, ..."""
    identifier: str | None
    identifier_type: str | None
    creators: list[Name] = field(default_factory=list)
    titles: list[Title] = field(default_factory=list)
    publisher: str | None = None
    publisher_identifier: str | None = None
    publisher_identifier_scheme: str | None = None
    publication_year: str | None = None
    resource_type_general: str | None = None
    resource_type: str | None = None
    subjects: list[Subject] = field(default_factory=list)
    contributors: list[Name] = field(default_factory=list)
    dates: list[DateEntry] = field(default_factory=list)
    language: str | None = None
    alternate_identifiers: list[AlternateIdentifier] = field(default_factory=list)
    related_identifiers: list[RelatedIdentifier] = field(default_factory=list)
    sizes: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    version: str | None = None
    rights: list[Rights] = field(default_factory=list)
    descriptions: list[Description] = field(default_factory=list)
    geo_locations: list[GeoLocation] = field(default_factory=list)
    funding: list[Funding] = field(default_factory=list)


@dataclass(frozen=True)
class OaiDataCiteEnvelope:
    """The `oai_datacite` wrapper: its own fields and the kernel resource in `payload`."""

    schema_version: str | None
    datacentre_symbol: str | None
    is_reference_quality: bool | None
    resource: etree._Element


def unwrap_oai_datacite(element: etree._Element) -> OaiDataCiteEnvelope:
    """Read the `<oai_datacite>` envelope; its `<payload>` must hold a kernel `<resource>`."""
    namespace = etree.QName(element).namespace
    prefix = f"{{{namespace}}}" if namespace else ""
    parts = _by_tag(element)  # one pass over the envelope instead of a `find` per part; the first of each counts

    def child(name: str) -> etree._Element | None:
        found = parts.get(prefix + name)
        return found[0] if found else None

    payload = child("payload")
    if payload is None:
        raise MappingError("oai_datacite.payload", "missing: the oai_datacite envelope carries no DataCite resource")
    resources = [c for c in payload if isinstance(c.tag, str)]
    if len(resources) != 1 or etree.QName(resources[0]).localname != "resource":
        raise MappingError("oai_datacite.payload", "expected exactly one DataCite <resource> inside <payload>")
    quality = _text(child("isReferenceQuality"))
    return OaiDataCiteEnvelope(
        schema_version=_text(child("schemaVersion")),
        datacentre_symbol=_text(child("datacentreSymbol")),
        is_reference_quality=None if quality is None else quality.lower() == "true",
        resource=resources[0],
    )


# --------------------------------------------------------------------------------------------------------------------
# reading


def _text(element: etree._Element | None) -> str | None:
    """The element's whole text (mixed content such as `<br/>` included), trimmed; None when empty."""
    if element is None:
        return None
    # most kernel elements are leaves: their text is all there is, without building an itertext iterator
    text = "".join(element.itertext()) if len(element) else element.text
    if not text:
        return None
    return text.strip() or None


def _attr(element: etree._Element, name: str) -> str | None:
    value = element.get(name)
    if value is None:
        # kernel attributes are unqualified, but hand-written records vary the case (`SchemeURI`)
        lowered = name.lower()
        for key, found in element.items():
            if key.lower() == lowered:
                value = found
                break
        else:
            return None
    value = value.strip()
    return value or None


def _attrs(element: etree._Element, *names: str) -> list[str | None]:
    """`[_attr(element, name) for name in names]`, reading the element's attributes once (most have none)."""
    items = element.items()
    if not items:
        return [None] * len(names)
    exact = dict(items)
    values: list[str | None] = []
    for name in names:
        value = exact.get(name)
        if value is None:
            lowered = name.lower()
            value = next((v for k, v in items if k.lower() == lowered), None)
        values.append((value.strip() or None) if value else None)
    return values


def _by_tag(parent: etree._Element) -> dict[str, list[etree._Element]]:
    """The element children of `parent` by tag, in document order: one pass instead of a `findall` per property."""
    groups: dict[str, list[etree._Element]] = {}
    for child in parent:
        tag = child.tag
        if isinstance(tag, str):  # comments and processing instructions have a factory function as their tag
            found = groups.get(tag)
            if found is None:
                groups[tag] = [child]
            else:
                found.append(child)
    return groups


class _Reader:
    def __init__(self, resource: etree._Element) -> None:
        self.namespace = etree.QName(resource).namespace or ""
        self.prefix = f"{{{self.namespace}}}" if self.namespace else ""
        self.root = resource
        self.top = _by_tag(resource)

    def tag(self, name: str) -> str:
        return self.prefix + name

    def children(self, parent: etree._Element, name: str) -> list[etree._Element]:
        return parent.findall(self.prefix + name)

    def child(self, parent: etree._Element, name: str) -> etree._Element | None:
        return parent.find(self.prefix + name)

    def text(self, parent: etree._Element, name: str) -> str | None:
        return _text(self.child(parent, name))

    def first(self, name: str) -> etree._Element | None:
        """The first `<name>` directly under the resource."""
        found = self.top.get(self.prefix + name)
        return found[0] if found else None

    def top_level(self, name: str) -> list[etree._Element]:
        """Every `<name>` directly under the resource."""
        return self.top.get(self.prefix + name, [])

    def items(self, container: str, item: str) -> list[etree._Element]:
        """`<container><item/>...</container>` directly under the resource (every such container, in order)."""
        wrappers = self.top.get(self.prefix + container)
        if not wrappers:
            return []
        tag = self.prefix + item
        return [element for wrapper in wrappers for element in wrapper if element.tag == tag]


def parse_resource(resource: etree._Element) -> DataCiteResource:
    """Read a kernel `<resource>` element. Raises `MappingError` naming the property that cannot be read."""
    qname = etree.QName(resource)
    if qname.localname != "resource" or not is_kernel_namespace(qname.namespace):
        raise MappingError(
            "resource", f"expected a DataCite kernel <resource>, got <{qname.localname}> in {qname.namespace}"
        )
    reader = _Reader(resource)
    kernel = (qname.namespace or "").removeprefix(KERNEL_PREFIX)
    identifier = reader.first("identifier")
    type_element = reader.first("resourceType")
    publisher = reader.first("publisher")
    parsed = DataCiteResource(
        kernel=kernel,
        identifier=_text(identifier),
        identifier_type=_attr(identifier, "identifierType") if identifier is not None else None,
        creators=[
            _name(reader, e, f"resource.creators[{n}]", "creator")
            for n, e in enumerate(reader.items("creators", "creator"))
        ],
        titles=_titles(reader),
        publisher=_text(publisher),
        publisher_identifier=_attr(publisher, "publisherIdentifier") if publisher is not None else None,
        publisher_identifier_scheme=_attr(publisher, "publisherIdentifierScheme") if publisher is not None else None,
        publication_year=_text(reader.first("publicationYear")),
        resource_type_general=_attr(type_element, "resourceTypeGeneral") if type_element is not None else None,
        resource_type=_text(type_element),
        subjects=[
            # scheme, scheme_uri, value_uri, classification_code, lang
            Subject(text, *_attrs(e, "subjectScheme", "schemeURI", "valueURI", "classificationCode", XML_LANG))
            for e in reader.items("subjects", "subject")
            if (text := _text(e))
        ],
        contributors=[
            _name(reader, e, f"resource.contributors[{n}]", "contributor")
            for n, e in enumerate(reader.items("contributors", "contributor"))
        ],
        dates=[
            DateEntry(value, *_attrs(e, "dateType", "dateInformation"))  # date_type, information
            for e in reader.items("dates", "date")
            if (value := _text(e))
        ],
        language=_text(reader.first("language")),
        alternate_identifiers=[
            AlternateIdentifier(value=value, identifier_type=_attr(e, "alternateIdentifierType"))
            for e in reader.items("alternateIdentifiers", "alternateIdentifier")
            if (value := _text(e))
        ],
        related_identifiers=[
            # identifier_type, relation_type, resource_type_general, scheme
            RelatedIdentifier(
                value,
                *_attrs(e, "relatedIdentifierType", "relationType", "resourceTypeGeneral", "relatedMetadataScheme"),
            )
            for e in reader.items("relatedIdentifiers", "relatedIdentifier")
            if (value := _text(e))
        ],
        sizes=[value for e in reader.items("sizes", "size") if (value := _text(e))],
        formats=[value for e in reader.items("formats", "format") if (value := _text(e))],
        version=_text(reader.first("version")),
        rights=_rights(reader),
        descriptions=[
            Description(text, *_attrs(e, "descriptionType", XML_LANG))  # description_type, lang
            for e in reader.items("descriptions", "description")
            if (text := _description_text(e))
        ],
        geo_locations=[
            _geo_location(reader, e, f"resource.geoLocations[{n}]")
            for n, e in enumerate(reader.items("geoLocations", "geoLocation"))
        ],
        funding=[
            _funding(reader, e, f"resource.fundingReferences[{n}]")
            for n, e in enumerate(reader.items("fundingReferences", "fundingReference"))
        ],
    )
    return parsed


def _titles(reader: _Reader) -> list[Title]:
    titles = []
    for element in reader.items("titles", "title"):
        text = _text(element)
        if text:
            titles.append(Title(text=text, title_type=_attr(element, "titleType"), lang=_attr(element, XML_LANG)))
    return titles


def _name(reader: _Reader, element: etree._Element, where: str, role: str) -> Name:
    # one pass over the children, each compared with the five tags a name reads (the first name, given and family
    # name count, every identifier and affiliation in order): cheaper than grouping them by tag for five look-ups
    prefix = reader.prefix
    name_tag, given_tag, family_tag = f"{prefix}{role}Name", f"{prefix}givenName", f"{prefix}familyName"
    identifier_tag, affiliation_tag = f"{prefix}nameIdentifier", f"{prefix}affiliation"
    name_element = given_element = family_element = None
    identifiers: list[NameIdentifier] = []
    affiliations: list[AffiliationEntry] = []
    for child in element:
        tag = child.tag
        if tag == name_tag:
            name_element = child if name_element is None else name_element
        elif tag == given_tag:
            given_element = child if given_element is None else given_element
        elif tag == family_tag:
            family_element = child if family_element is None else family_element
        elif tag == identifier_tag:
            if value := _text(child):
                # scheme, scheme_uri
                identifiers.append(NameIdentifier(value, *_attrs(child, "nameIdentifierScheme", "schemeURI")))
        elif tag == affiliation_tag and (text := _text(child)):
            # identifier, scheme
            affiliations.append(
                AffiliationEntry(text, *_attrs(child, "affiliationIdentifier", "affiliationIdentifierScheme"))
            )
    name = _text(name_element)
    given = _text(given_element)
    family = _text(family_element)
    if not name:
        # a name split into given and family names only is still a name
        name = ", ".join(part for part in (family, given) if part) or None
    if not name:
        raise MappingError(f"{where}.{role}Name", f"a {role} without a name")
    return Name(
        name=name,
        name_type=_attr(name_element, "nameType") if name_element is not None else None,
        given_name=given,
        family_name=family,
        identifiers=tuple(identifiers),
        affiliations=tuple(affiliations),
        contributor_type=_attr(element, "contributorType") if role == "contributor" else None,
    )


def _rights(reader: _Reader) -> list[Rights]:
    elements = reader.items("rightsList", "rights") + reader.top_level("rights")
    out = []
    for element in elements:
        # uri, identifier, identifier_scheme
        entry = Rights(_text(element), *_attrs(element, "rightsURI", "rightsIdentifier", "rightsIdentifierScheme"))
        if entry.text or entry.uri or entry.identifier:
            out.append(entry)
    return out


_BREAK = re.compile(r"[ \t]*\n[ \t]*")


def _description_text(element: etree._Element) -> str | None:
    """A description's text; `<br/>` (the kernel's only markup) becomes a line break."""
    parts: list[str] = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == "br":
            parts.append("\n")
        else:
            parts.append("".join(child.itertext()) if isinstance(child.tag, str) else "")
        parts.append(child.tail or "")
    text = "".join(parts)
    return text.strip("\n\r ").rstrip() or None


def _number(reader: _Reader, parent: etree._Element, name: str, where: str) -> float | None:
    text = reader.text(parent, name)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise MappingError(f"{where}.{name}", f"{text!r} is not a number") from None


def _geo_location(reader: _Reader, element: etree._Element, where: str) -> GeoLocation:
    point = None
    point_element = reader.child(element, "geoLocationPoint")
    if point_element is not None:
        latitude = _number(reader, point_element, "pointLatitude", f"{where}.geoLocationPoint")
        longitude = _number(reader, point_element, "pointLongitude", f"{where}.geoLocationPoint")
        if latitude is None or longitude is None:
            raise MappingError(f"{where}.geoLocationPoint", "a point needs pointLatitude and pointLongitude")
        point = (latitude, longitude)
    box = None
    box_element = reader.child(element, "geoLocationBox")
    if box_element is not None:
        sides = []
        for side in ("westBoundLongitude", "eastBoundLongitude", "southBoundLatitude", "northBoundLatitude"):
            value = _number(reader, box_element, side, f"{where}.geoLocationBox")
            if value is None:
                raise MappingError(f"{where}.geoLocationBox.{side}", "missing: a box needs all four bounds")
            sides.append(value)
        box = (sides[0], sides[1], sides[2], sides[3])
    polygon = []
    for polygon_element in reader.children(element, "geoLocationPolygon"):
        for point_number, vertex in enumerate(reader.children(polygon_element, "polygonPoint")):
            at = f"{where}.geoLocationPolygon.polygonPoint[{point_number}]"
            latitude = _number(reader, vertex, "pointLatitude", at)
            longitude = _number(reader, vertex, "pointLongitude", at)
            if latitude is None or longitude is None:
                raise MappingError(at, "a polygon point needs pointLatitude and pointLongitude")
            polygon.append((latitude, longitude))
    return GeoLocation(place=reader.text(element, "geoLocationPlace"), point=point, box=box, polygon=tuple(polygon))


def _funding(reader: _Reader, element: etree._Element, where: str) -> Funding:
    funder = reader.text(element, "funderName")
    if not funder:
        raise MappingError(f"{where}.funderName", "a funding reference without a funder name")
    identifier = reader.child(element, "funderIdentifier")
    award = reader.child(element, "awardNumber")
    return Funding(
        funder_name=funder,
        funder_identifier=_text(identifier),
        funder_identifier_type=_attr(identifier, "funderIdentifierType") if identifier is not None else None,
        award_number=_text(award),
        award_uri=_attr(award, "awardURI") if award is not None else None,
        award_title=reader.text(element, "awardTitle"),
    )
