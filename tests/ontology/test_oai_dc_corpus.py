"""The `oai_dc` view of every corpus record of every portal kind is valid against oai_dc.xsd, and our own Dublin Core
reader reads back from it the record's title and DOI.

The records come the real way: the sandbox replicas serve the corpus (CERN Open Data over REST and OAI-PMH, Zenodo
over REST and OAI-PMH, HEPData, the DMDC GitLab group, KCDC's page and its OAI-PMH prototype), the sources file the
sandbox writes names each with its connector options, and the registered connectors list and map every record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lxml import etree

from connectors import registry
from connectors.base import HarvestState, Limits, MappingError
from connectors.http import HttpClient
from connectors.oai_dc import describe_dublin_core, parse_dublin_core
from harvester.config import parse
from ontology import Record, oai_dc
from ontology.model import IdentifierScheme
from sandbox import build_replicas, start
from sandbox.replicas import REPLICA_CLASSES

CERN_CORPUS_RECORDS = 7443

pytestmark = pytest.mark.slow


@dataclass
class Corpus:
    records: dict[str, list[Record]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def all(self) -> Iterator[Record]:
        for records in self.records.values():
            yield from records


@pytest.fixture(scope="module")
def corpus_records(corpus: Path) -> Corpus:
    found = Corpus()
    replicas = build_replicas(corpus=corpus)
    assert set(replicas) == set(REPLICA_CLASSES), f"a replica of every kind from the corpus, got {sorted(replicas)}"
    with start(replicas) as running, HttpClient(Limits(concurrency=4), sleep=lambda s: None, max_backoff=0.01) as http:
        for source in parse(running.sources_toml(), "<sandbox>", sorted(registry())).sources.values():
            connector_class = registry()[source.spec.kind]
            mapped = found.records.setdefault(source.name, [])
            for page in connector_class(source.spec, http).pages(HarvestState(full=True)):
                found.problems += [f"{source.name} {f.native_id}: {f.message}" for f in page.failures]
                for raw in page.records:
                    try:
                        mapped.append(connector_class.map_record(raw, source.name))
                    except MappingError as error:
                        found.problems.append(f"{source.name} {raw.native_id}: {error}")
            assert mapped, f"no record of {source.name} came through"
    return found


def test_every_corpus_record_has_a_valid_oai_dc_view_that_reads_back(corpus_records: Corpus) -> None:
    assert corpus_records.problems == []
    assert len(corpus_records.records["cernopendata"]) == CERN_CORPUS_RECORDS
    invalid: dict[str, list[str]] = {}
    misread: dict[str, str] = {}
    for record in corpus_records.all():
        element = oai_dc.element(record)
        errors = oai_dc.xml_errors(element)
        if errors:
            invalid[record.id] = errors[:3]
            continue
        read = describe_dublin_core(parse_dublin_core(element))
        dois = [i.value.lower() for i in read.identifiers if i.scheme == IdentifierScheme.DOI]
        if read.title != record.title.strip():
            misread[record.id] = f"title {read.title!r}"
        elif dois != [i.value.lower() for i in record.identifiers if i.scheme == IdentifierScheme.DOI]:
            misread[record.id] = f"DOIs {dois}"
    assert invalid == {}
    assert misread == {}


def test_the_elements_dc_harvesters_look_for_are_there(corpus_records: Corpus) -> None:
    """Every record has a title, a type and an identifier; a creator when it names people, organisations or a
    collaboration, and a date when it has one; a licence or an access right is in dc:rights, the access right
    first."""
    dc = f"{{{oai_dc.DC_NAMESPACE}}}"
    for records in corpus_records.records.values():
        for record in records:
            element = oai_dc.element(record)
            present = {etree.QName(child).localname for child in element}
            assert {"title", "type", "identifier"} <= present, record.id
            assert ("creator" in present) == bool(record.creators or record.collaboration), record.id
            assert ("date" in present) == bool(record.issued or record.created or record.modified), record.id
            rights = [child.text for child in element.iterfind(f"{dc}rights")]
            if record.access_rights:
                assert rights[0] == oai_dc.ACCESS_RIGHTS[record.access_rights], record.id
            if record.license:
                assert (record.license.uri or record.license.label) in rights, record.id
