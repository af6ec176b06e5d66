"""The DataCite and Dublin Core readers read exactly what the plain reference readers below read.

`connectors.datacite_xml.parse_resource` and `connectors.oai_dc.parse_dublin_core` run once per harvested record,
so they take shortcuts (children grouped by tag in one pass, attributes read once, a leaf's text without
`itertext`). The readers here are the straightforward ones they replaced (a `find`/`findall` per property, a
`QName` per child, `itertext` for every text, a case-insensitive attribute scan), kept as the specification: every
DataCite resource and `oai_dc` record of the corpus and the standards (Zenodo's recorded answers, KCDC's drafts
and prototype, DataCite's examples including kernel 2.1), and records rendered by the generated Zenodo OAI
replica, must read the same through both. The same holds for the OAI-PMH envelope (`parse_oai_record` in the
mapping workers, `header_of` in the harvester's listing), read once per record in one pass over the children.
Hand-made records cover what the corpus lacks: mixed case attribute names, comments and nested markup inside
values, empty values, repeated parts, elements of another namespace.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from connectors.base import MappingError
from connectors.datacite_xml import (
    KERNEL_PREFIX,
    OAI_DATACITE_NAMESPACES,
    XML_LANG,
    AffiliationEntry,
    AlternateIdentifier,
    DataCiteResource,
    DateEntry,
    Description,
    Name,
    NameIdentifier,
    RelatedIdentifier,
    Rights,
    Subject,
    Title,
    _description_text,
    _funding,
    _geo_location,
    is_kernel_namespace,
    parse_resource,
    unwrap_oai_datacite,
)
from connectors.oai_dc import DC_NAMESPACE, ELEMENTS, OAI_DC_NAMESPACE, DublinCore, parse_dublin_core
from connectors.oai_metadata import OaiRecord, parse_oai_record
from connectors.oaipmh_protocol import Header, header_of
from sandbox.replicas.oaipmh import wrap_oai_datacite
from sandbox.replicas.oaipmh_zenodo import GeneratedZenodoBase

GENERATED = 300


# --------------------------------------------------------------------------------------------------------------------
# the reference readers


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text or None


def _attr(element: etree._Element, name: str) -> str | None:
    value = element.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in element.attrib.items() if str(k).lower() == lowered), None)
    value = value.strip() if value else None
    return value or None


class _Reader:
    def __init__(self, resource: etree._Element) -> None:
        self.namespace = etree.QName(resource).namespace or ""
        self.root = resource

    def tag(self, name: str) -> str:
        return f"{{{self.namespace}}}{name}" if self.namespace else name

    def children(self, parent: etree._Element, name: str) -> list[etree._Element]:
        return parent.findall(self.tag(name))

    def child(self, parent: etree._Element, name: str) -> etree._Element | None:
        return parent.find(self.tag(name))

    def text(self, parent: etree._Element, name: str) -> str | None:
        return _text(self.child(parent, name))

    def items(self, container: str, item: str) -> list[etree._Element]:
        found = []
        for wrapper in self.children(self.root, container):
            found += self.children(wrapper, item)
        return found


def _name(reader: _Reader, element: etree._Element, where: str, role: str) -> Name:
    name_element = reader.child(element, f"{role}Name")
    name = _text(name_element)
    given = reader.text(element, "givenName")
    family = reader.text(element, "familyName")
    if not name:
        name = ", ".join(part for part in (family, given) if part) or None
    if not name:
        raise MappingError(f"{where}.{role}Name", f"a {role} without a name")
    return Name(
        name=name,
        name_type=_attr(name_element, "nameType") if name_element is not None else None,
        given_name=given,
        family_name=family,
        identifiers=tuple(
            NameIdentifier(value=value, scheme=_attr(e, "nameIdentifierScheme"), scheme_uri=_attr(e, "schemeURI"))
            for e in reader.children(element, "nameIdentifier")
            if (value := _text(e))
        ),
        affiliations=tuple(
            AffiliationEntry(
                name=text,
                identifier=_attr(e, "affiliationIdentifier"),
                scheme=_attr(e, "affiliationIdentifierScheme"),
            )
            for e in reader.children(element, "affiliation")
            if (text := _text(e))
        ),
        contributor_type=_attr(element, "contributorType") if role == "contributor" else None,
    )


def reference_resource(resource: etree._Element) -> DataCiteResource:
    qname = etree.QName(resource)
    if qname.localname != "resource" or not is_kernel_namespace(qname.namespace):
        raise MappingError("resource", "not a kernel resource")
    reader = _Reader(resource)
    identifier = reader.child(resource, "identifier")
    type_element = reader.child(resource, "resourceType")
    publisher = reader.child(resource, "publisher")
    rights = []
    for element in reader.items("rightsList", "rights") + reader.children(resource, "rights"):
        entry = Rights(
            text=_text(element),
            uri=_attr(element, "rightsURI"),
            identifier=_attr(element, "rightsIdentifier"),
            identifier_scheme=_attr(element, "rightsIdentifierScheme"),
        )
        if entry.text or entry.uri or entry.identifier:
            rights.append(entry)
    return DataCiteResource(
        kernel=(qname.namespace or "").removeprefix(KERNEL_PREFIX),
        identifier=_text(identifier),
        identifier_type=_attr(identifier, "identifierType") if identifier is not None else None,
        creators=[
            _name(reader, e, f"resource.creators[{n}]", "creator")
            for n, e in enumerate(reader.items("creators", "creator"))
        ],
        titles=[
            Title(text=text, title_type=_attr(e, "titleType"), lang=_attr(e, XML_LANG))
            for e in reader.items("titles", "title")
            if (text := _text(e))
        ],
        publisher=_text(publisher),
        publisher_identifier=_attr(publisher, "publisherIdentifier") if publisher is not None else None,
        publisher_identifier_scheme=_attr(publisher, "publisherIdentifierScheme") if publisher is not None else None,
        publication_year=reader.text(resource, "publicationYear"),
        resource_type_general=_attr(type_element, "resourceTypeGeneral") if type_element is not None else None,
        resource_type=_text(type_element),
        subjects=[
            Subject(
                text=text,
                scheme=_attr(e, "subjectScheme"),
                scheme_uri=_attr(e, "schemeURI"),
                value_uri=_attr(e, "valueURI"),
                classification_code=_attr(e, "classificationCode"),
                lang=_attr(e, XML_LANG),
            )
            for e in reader.items("subjects", "subject")
            if (text := _text(e))
        ],
        contributors=[
            _name(reader, e, f"resource.contributors[{n}]", "contributor")
            for n, e in enumerate(reader.items("contributors", "contributor"))
        ],
        dates=[
            DateEntry(value=value, date_type=_attr(e, "dateType"), information=_attr(e, "dateInformation"))
            for e in reader.items("dates", "date")
            if (value := _text(e))
        ],
        language=reader.text(resource, "language"),
        alternate_identifiers=[
            AlternateIdentifier(value=value, identifier_type=_attr(e, "alternateIdentifierType"))
            for e in reader.items("alternateIdentifiers", "alternateIdentifier")
            if (value := _text(e))
        ],
        related_identifiers=[
            RelatedIdentifier(
                value=value,
                identifier_type=_attr(e, "relatedIdentifierType"),
                relation_type=_attr(e, "relationType"),
                resource_type_general=_attr(e, "resourceTypeGeneral"),
                scheme=_attr(e, "relatedMetadataScheme"),
            )
            for e in reader.items("relatedIdentifiers", "relatedIdentifier")
            if (value := _text(e))
        ],
        sizes=[value for e in reader.items("sizes", "size") if (value := _text(e))],
        formats=[value for e in reader.items("formats", "format") if (value := _text(e))],
        version=reader.text(resource, "version"),
        rights=rights,
        descriptions=[
            Description(text=text, description_type=_attr(e, "descriptionType"), lang=_attr(e, XML_LANG))
            for e in reader.items("descriptions", "description")
            if (text := _description_text(e))
        ],
        geo_locations=[
            _geo_location(reader, e, f"resource.geoLocations[{n}]")  # type: ignore[arg-type]
            for n, e in enumerate(reader.items("geoLocations", "geoLocation"))
        ],
        funding=[
            _funding(reader, e, f"resource.fundingReferences[{n}]")  # type: ignore[arg-type]
            for n, e in enumerate(reader.items("fundingReferences", "fundingReference"))
        ],
    )


def reference_dublin_core(element: etree._Element) -> DublinCore:
    qname = etree.QName(element)
    if qname.localname != "dc" or qname.namespace != OAI_DC_NAMESPACE:
        raise MappingError("metadata", "not oai_dc")
    parsed = DublinCore()
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child)
        if name.namespace != DC_NAMESPACE or name.localname not in ELEMENTS:
            continue
        text = "".join(child.itertext()).strip()
        if text:
            parsed.values.setdefault(name.localname, []).append(text)
            parsed.languages.setdefault(name.localname, []).append(child.get(XML_LANG))
    return parsed


OAI = "{http://www.openarchives.org/OAI/2.0/}"


def reference_oai_record(root: etree._Element) -> OaiRecord:
    """`parse_oai_record` after the XML parse (the bytes are parsed the same way by both)."""
    if root.tag != f"{OAI}record":
        raise MappingError("record", "not a record")
    header = root.find(f"{OAI}header")
    if header is None:
        raise MappingError("header", "missing: an OAI-PMH record starts with a <header>")
    identifier = (header.findtext(f"{OAI}identifier") or "").strip()
    if not identifier:
        raise MappingError("header.identifier", "missing: every OAI-PMH record has an identifier")
    datestamp = (header.findtext(f"{OAI}datestamp") or "").strip() or None
    sets = tuple(s.strip() for s in (e.text or "" for e in header.findall(f"{OAI}setSpec")) if s.strip())
    metadata_wrapper = root.find(f"{OAI}metadata")
    metadata = None
    if metadata_wrapper is not None:
        children = [c for c in metadata_wrapper if isinstance(c.tag, str)]
        if len(children) > 1:
            raise MappingError("metadata", f"expected one metadata element, found {len(children)}")
        metadata = children[0] if children else None
    about = tuple(c for a in root.findall(f"{OAI}about") for c in a if isinstance(c.tag, str))
    return OaiRecord(identifier, datestamp, sets, header.get("status") == "deleted", metadata, about)


def reference_header(element: etree._Element) -> Header:
    header = element if element.tag == f"{OAI}header" else element.find(f"{OAI}header")
    if header is None:
        raise ValueError("a record without <header>")
    identifier = (header.findtext(f"{OAI}identifier") or "").strip()
    datestamp = (header.findtext(f"{OAI}datestamp") or "").strip()
    if not identifier or not datestamp:
        raise ValueError(f"a header without identifier or datestamp: {etree.tostring(header)[:200]!r}")
    specs = tuple((s.text or "").strip() for s in header.iterfind(f"{OAI}setSpec") if (s.text or "").strip())
    return Header(identifier, datestamp, specs, header.get("status") == "deleted")


# --------------------------------------------------------------------------------------------------------------------
# the records


def _documents(corpus: Path, standards: Path) -> Iterator[tuple[str, etree._Element]]:
    for path in [*sorted(corpus.rglob("*.xml")), *sorted((standards / "datacite").rglob("*.xml"))]:
        try:
            yield str(path), etree.parse(str(path)).getroot()
        except etree.XMLSyntaxError:
            continue  # a recorded error body or a cut-off response
    generated = GeneratedZenodoBase(GENERATED, seed=7)
    for index in range(GENERATED):
        bodies = generated.record(index)["bodies"]
        for prefix in ("oai_dc", "datacite"):
            # a body is served inside the OAI-PMH envelope, which declares its `xsi` prefix
            yield f"generated {index} {prefix}", _in_envelope(bodies[prefix])


def _in_envelope(body: str) -> etree._Element:
    """A metadata body as served inside the OAI-PMH envelope, which declares the `xsi` prefix it uses."""
    wrapped = f'<metadata xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{body}</metadata>'
    return etree.fromstring(wrapped.encode())[0]


@pytest.fixture(scope="module")
def metadata(corpus: Path, standards: Path) -> dict[str, list[tuple[str, etree._Element]]]:
    found: dict[str, list[tuple[str, etree._Element]]] = {"datacite": [], "oai_dc": []}
    for where, root in _documents(corpus, standards):
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            qname = etree.QName(element)
            if qname.localname == "resource" and is_kernel_namespace(qname.namespace):
                found["datacite"].append((where, element))
            elif qname.localname == "dc" and qname.namespace == OAI_DC_NAMESPACE:
                found["oai_dc"].append((where, element))
    return found


def _outcome(read, element: etree._Element) -> object:  # type: ignore[no-untyped-def]
    try:
        return read(element)
    except MappingError as error:
        return ("MappingError", error.field, str(error))


def test_every_datacite_resource_reads_as_the_reference_reads_it(metadata: dict) -> None:
    resources = metadata["datacite"]
    assert sum(not where.startswith("generated") for where, _ in resources) >= 90
    kernels = {etree.QName(element).namespace for _, element in resources}
    assert {"http://datacite.org/schema/kernel-4", "http://datacite.org/schema/kernel-2.1"} <= kernels
    for where, element in resources:
        assert _outcome(parse_resource, element) == _outcome(reference_resource, element), where


def test_every_dublin_core_record_reads_as_the_reference_reads_it(metadata: dict) -> None:
    records = metadata["oai_dc"]
    assert sum(not where.startswith("generated") for where, _ in records) >= 250
    for where, element in records:
        assert parse_dublin_core(element) == reference_dublin_core(element), where


KERNEL = "http://datacite.org/schema/kernel-4"
AWKWARD_RESOURCE = f"""<resource xmlns="{KERNEL}" xmlns:x="urn:other">
  <identifier IdentifierType="DOI"> 10.1234/ABC </identifier>
  <!-- a comment between properties -->
  <creators>
    <creator><creatorName NameType="Organizational">KASCADE <!-- c -->Collaboration</creatorName>
      <x:creatorName>not DataCite</x:creatorName>
      <nameIdentifier nameIdentifierScheme="ROR" SCHEMEURI=" https://ror.org/ "> https://ror.org/04 </nameIdentifier>
      <nameIdentifier nameIdentifierScheme="ORCID"></nameIdentifier>
      <affiliation AffiliationIdentifier="https://ror.org/04t3en479" affiliationIdentifierScheme=" ">KIT</affiliation>
      <affiliation>  </affiliation>
    </creator>
    <creator><givenName>Ada</givenName><familyName> Lovelace </familyName></creator>
    <x:creator><creatorName>ignored</creatorName></x:creator>
  </creators>
  <creators><creator><creatorName>Second list</creatorName></creator></creators>
  <titles><title xml:lang="en" TitleType="Subtitle">A <b>bold</b> subtitle</title><title>Main</title><title/></titles>
  <publisher publisherIdentifier=" https://ror.org/x " PublisherIdentifierScheme="ROR">KIT</publisher>
  <publicationYear> 2024 </publicationYear>
  <resourceType ResourceTypeGeneral="Dataset"><?pi inside?>Events</resourceType>
  <subjects><subject SchemeURI="s" subjectScheme="k" subjectscheme="lower">muons</subject><subject/>
    <subject valueURI="">energy</subject></subjects>
  <dates><date dateType="Collected" DateInformation="runs">2001/2002</date><date dateType="Issued"> </date></dates>
  <language>en</language>
  <relatedIdentifiers><relatedIdentifier relatedIdentifierType="DOI" RelationType="IsPartOf">10.1/x</relatedIdentifier>
  </relatedIdentifiers>
  <sizes><size>1 MB</size><size/></sizes><formats><format>HDF5</format></formats>
  <version>1</version>
  <rightsList><rights rightsURI="info:eu-repo/semantics/openAccess"/><rights/></rightsList>
  <rights>Kernel 2 style</rights>
  <descriptions><description descriptionType="Abstract">One<br/>two <i>three</i></description></descriptions>
</resource>"""
AWKWARD_DC = f"""<oai_dc:dc xmlns:oai_dc="{OAI_DC_NAMESPACE}" xmlns:dc="{DC_NAMESPACE}" xmlns:x="urn:other">
  <dc:title xml:lang="en"> A <x:i>nested</x:i> title </dc:title><!-- comment --><dc:title>   </dc:title>
  <dc:creator>Doe, J.<!-- c --></dc:creator><x:creator>other namespace</x:creator><dc:unknown>not DC</dc:unknown>
  <dc:description><![CDATA[<p>cdata</p>]]></dc:description><dc:subject/><?pi x?><dc:subject>s</dc:subject>
</oai_dc:dc>"""


def test_awkward_records_read_as_the_reference_reads_them() -> None:
    resource = etree.fromstring(AWKWARD_RESOURCE.encode())
    parsed = parse_resource(resource)
    assert parsed == reference_resource(resource)
    assert parsed.identifier_type == "DOI" and parsed.creators[0].name == "KASCADE Collaboration"
    assert [c.name for c in parsed.creators] == ["KASCADE Collaboration", "Lovelace, Ada", "Second list"]
    assert parsed.subjects[0].scheme == "k" and parsed.subjects[0].scheme_uri == "s"
    dc = etree.fromstring(AWKWARD_DC.encode())
    assert parse_dublin_core(dc) == reference_dublin_core(dc)
    assert parse_dublin_core(dc).values == {"title": ["A nested title"], "creator": ["Doe, J."], "description":
                                            ["<p>cdata</p>"], "subject": ["s"]}  # fmt: skip


def test_a_creator_without_a_name_is_named_as_the_reference_names_it() -> None:
    bad = AWKWARD_RESOURCE.replace(
        "<creator><givenName>Ada</givenName><familyName> Lovelace </familyName>", "<creator>"
    )
    resource = etree.fromstring(bad.encode())
    with pytest.raises(MappingError) as raised:
        parse_resource(resource)
    assert raised.value.field == "resource.creators[1].creatorName"
    assert _outcome(parse_resource, resource) == _outcome(reference_resource, resource)


def _envelope(read, element: etree._Element) -> object:  # type: ignore[no-untyped-def]
    try:
        found = read(element)
    except (MappingError, ValueError) as error:
        return (type(error).__name__, getattr(error, "field", None), str(error))
    if isinstance(found, OaiRecord):  # the metadata element is the same node of the same tree, or none
        return (found.identifier, found.datestamp, found.set_specs, found.deleted, found.metadata, found.about)
    return found


AWKWARD_RECORDS = [
    f"""<record xmlns="{OAI[1:-1]}"><!-- c --><header status="deleted"><identifier> oai:x:1 </identifier>
    <identifier>oai:x:2</identifier><datestamp/><datestamp>2024-01-01</datestamp><setSpec> </setSpec>
    <setSpec>a:b<!-- c --></setSpec><x:setSpec xmlns:x="urn:x">other</x:setSpec></header>
    <metadata><!-- only a comment --></metadata><metadata><r/></metadata>
    <about><a/><?pi?><b/></about><about/></record>""",
    f"""<record xmlns="{OAI[1:-1]}"><header><identifier/><datestamp>2024</datestamp></header></record>""",
    f"""<record xmlns="{OAI[1:-1]}"><metadata><a/></metadata><header><identifier>i</identifier></header>
    </record>""",
    f"""<record xmlns="{OAI[1:-1]}"><header><identifier>i</identifier><datestamp>d</datestamp></header>
    <metadata><a/><b/></metadata></record>""",
    f"""<record xmlns="{OAI[1:-1]}"><x:header xmlns:x="urn:x"/></record>""",
]


def test_every_oai_record_envelope_reads_as_the_reference_reads_it(corpus: Path) -> None:
    records = []
    for path in sorted(corpus.rglob("*.xml")):
        try:
            root = etree.parse(str(path)).getroot()
        except etree.XMLSyntaxError:
            continue
        records += [*root.iter(f"{OAI}record"), *root.iter(f"{OAI}header")]
    records += [etree.fromstring(text.encode()) for text in AWKWARD_RECORDS]
    assert len(records) > 800
    for element in records:
        assert _envelope(header_of, element) == _envelope(reference_header, element)
        if element.tag == f"{OAI}record":
            payload = etree.tostring(element)
            parsed = etree.fromstring(payload)  # what parse_oai_record parses, read by the reference
            mine = _envelope(parse_oai_record, payload)
            reference = _envelope(reference_oai_record, parsed)
            if isinstance(mine, tuple) and isinstance(reference, tuple) and len(mine) == 6:
                # separate parses: compare the metadata and about elements by their serialisation
                mine = (*mine[:4], _xml(mine[4]), tuple(map(_xml, mine[5])))
                reference = (*reference[:4], _xml(reference[4]), tuple(map(_xml, reference[5])))
            assert mine == reference


def _xml(element: etree._Element | None) -> bytes | None:
    return None if element is None else etree.tostring(element)


def reference_envelope(element: etree._Element) -> tuple[str | None, str | None, bool | None, etree._Element]:
    namespace = etree.QName(element).namespace or ""

    def child(name: str) -> etree._Element | None:
        return element.find(f"{{{namespace}}}{name}")

    payload = child("payload")
    if payload is None:
        raise MappingError("oai_datacite.payload", "missing")
    resources = [c for c in payload if isinstance(c.tag, str)]
    if len(resources) != 1 or etree.QName(resources[0]).localname != "resource":
        raise MappingError("oai_datacite.payload", "expected exactly one DataCite <resource> inside <payload>")
    quality = _text(child("isReferenceQuality"))
    reference = None if quality is None else quality.lower() == "true"
    return _text(child("schemaVersion")), _text(child("datacentreSymbol")), reference, resources[0]


def test_every_oai_datacite_envelope_reads_as_the_reference_reads_it(metadata: dict, standards: Path) -> None:
    """DataCite's own oai_datacite sample, the generated replica's envelopes around every resource, odd ones."""
    _, wrap = wrap_oai_datacite("CERN.ZENODO")
    envelopes = [
        *etree.parse(str(standards / "datacite" / "oai-1.1" / "oai-sample-1.1.xml")).getroot().iter(),
        *(_in_envelope(wrap(etree.tostring(element).decode())) for _, element in metadata["datacite"]),
    ]
    envelopes = [e for e in envelopes if isinstance(e.tag, str) and etree.QName(e).namespace in OAI_DATACITE_NAMESPACES]
    envelopes = [e for e in envelopes if etree.QName(e).localname == "oai_datacite"]
    odd = [
        "<oai_datacite xmlns='{ns}'><isReferenceQuality> TRUE </isReferenceQuality><!-- c --><payload><?pi?>"
        "<resource xmlns='http://datacite.org/schema/kernel-4'/></payload><payload/></oai_datacite>",
        "<oai_datacite xmlns='{ns}'><schemaVersion>4</schemaVersion><schemaVersion>3</schemaVersion></oai_datacite>",
        "<oai_datacite xmlns='{ns}'><payload><resource/><resource/></payload></oai_datacite>",
        "<oai_datacite xmlns='{ns}'><payload><other/></payload><x:payload xmlns:x='urn:x'/></oai_datacite>",
    ]
    for namespace in sorted(OAI_DATACITE_NAMESPACES):
        envelopes += [etree.fromstring(text.replace("{ns}", namespace)) for text in odd]
    assert len(envelopes) > len(metadata["datacite"])
    for element in envelopes:
        try:
            found = unwrap_oai_datacite(element)
            mine: object = (found.schema_version, found.datacentre_symbol, found.is_reference_quality, found.resource)
        except MappingError as error:
            mine = error.field
        try:
            reference: object = reference_envelope(element)
        except MappingError as error:
            reference = error.field
        assert mine == reference
