"""Offline SHACL gates: DCAT-AP 3.0.1 (required, recommended) and dmlake's `dml:` shapes over the RDF view, and
Science-on-Schema.org, Google's Dataset properties and the schema.org 30.0 shapes over the schema.org view.

The DCAT-AP shapes are read in place from the shared standards folder (`$DMLAKE_STANDARDS`, by default
`../shared/standards` beside the repository), never fetched: no `owl:imports` are followed, and the two import
files and the EU controlled-vocabulary shapes (which need the EU authority tables in the data) are not loaded. The
hand-written modular set (`html-shacl/shapes.ttl` + `range.ttl`) is used rather than the generated single file,
whose dangling property-shape references abort pyshacl on some inputs.

Many records go into one pyshacl call (one big graph per batch): a call per record is far too slow. Each result is
traced back to the record(s) whose triples contain its focus node, so the report is per record. Two deviations from
the upstream files, both result-preserving or documented: property shapes take their node shape's targets (same
results, much faster in pyshacl), and SOSO's `version`/`keywords` requirements are Warnings (Google recommends them).

Two more speed-ups give the same results as the shapes they start from (tests compare the findings): constraints
that cannot fail are dropped once (an `sh:or` one of whose members every node conforms to, such as schema.org's
patched `Text`; an `sh:node` to such a shape), and before each call the shapes that cannot apply to that batch's
data are set aside (property shapes whose predicate the data never uses and which only constrain values, targets
of classes with no instance). On the schema.org shapes, whose 2,300 targeted property shapes mostly name
properties no dataset uses, this makes a call three times faster.

A JSON-LD document is read by rdflib's own JSON-LD parser, with the schema.org context loaded once per call (rdflib
would read the 200 KB context again for every document), and schema.org's subclass axioms are added to the data
graph of the batch rather than given to pyshacl as an ontology graph (which copies the whole data graph first).
Relative IRIs resolve against a base no real IRI has (`RELATIVE_BASE`): a text where schema.org expects a URL (a
licence name given as `license`) is a Violation of the `jsonld-iri` gate, where a parser would otherwise turn it
silently into the address of the page or directory it was read from.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pyshacl
from pyshacl.graph_abstraction import DataGraph
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.plugins.parsers.jsonld import Parser as JsonLdParser
from rdflib.plugins.shared.jsonld.context import Context
from rdflib.term import Node

from ontology import rdf
from ontology.model import Record
from ontology.standards import StandardsNotFound, standard, standards_dir

SH = "http://www.w3.org/ns/shacl#"
RDF_TYPE = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")
RDFS_COMMENT = URIRef("http://www.w3.org/2000/01/rdf-schema#comment")
RDFS_SUBCLASS = URIRef("http://www.w3.org/2000/01/rdf-schema#subClassOf")
DCAT_AP_SHAPES = Path("dcat-ap/3.0.1/html-shacl")
__all__ = [
    "GATES",
    "Finding",
    "Report",
    "StandardsNotFound",
    "schemaorg_graph",
    "standards_dir",
    "validate",
    "validate_graph",
    "validate_schemaorg",
]


@dataclass(frozen=True)
class Gate:
    name: str
    description: str
    blocking: bool
    """Whether a Violation in this gate means the record fails (recommended properties only advise)."""


GATES = {
    "dcat-ap": Gate("dcat-ap", "DCAT-AP 3.0.1 mandatory constraints and class ranges", blocking=True),
    "dcat-ap-recommended": Gate("dcat-ap-recommended", "DCAT-AP 3.0.1 recommended properties", blocking=False),
    "dml": Gate("dml", "dmlake shapes for dml: terms, vocabularies, units, checksums and provenance", blocking=True),
}
DEFAULT_GATES = ("dcat-ap", "dcat-ap-recommended", "dml")
SCHEMAORG_GATES = ("soso", "google-recommended", "schemaorg")
GATES |= {
    "soso": Gate(
        "soso",
        "Science-on-Schema.org common shapes and Google's required properties (version, keywords: advice)",
        blocking=True,
    ),
    "google-recommended": Gate(
        "google-recommended", "Google's recommended Dataset properties (SOSO marks them Violations)", blocking=False
    ),
    "schemaorg": Gate("schemaorg", "schema.org release 30.0 range shapes (datatype shapes patched)", blocking=True),
    "schemaorg-vocabulary": Gate("schemaorg-vocabulary", "every schema.org term exists in release 30.0", blocking=True),
    "jsonld-iri": Gate(
        "jsonld-iri", "every IRI of the JSON-LD is absolute (no text where schema.org expects a URL)", blocking=True
    ),
}
RELATIVE_BASE = "http://relative-iri.invalid/"
"""The base a relative IRI of a JSON-LD document resolves against (`.invalid` is reserved, RFC 2606): whatever
starts with it was no absolute IRI in the document."""
SCHEMAORG_DATATYPES = (
    "Text", "URL", "Date", "DateTime", "Time", "Number", "Integer", "Float", "Boolean", "CssSelectorType",
    "XPathType", "PronounceableText",
)  # fmt: skip


def _gate_files(name: str) -> list[Path]:
    if name == "dcat-ap":
        return [standard(DCAT_AP_SHAPES / "shapes.ttl"), standard(DCAT_AP_SHAPES / "range.ttl")]
    if name == "dcat-ap-recommended":
        return [standard(DCAT_AP_SHAPES / "shapes_recommended.ttl")]
    if name == "dml":
        return [Path(str(resources.files("ontology.shapes").joinpath("dml.ttl")))]
    if name == "soso":
        return [standard("soso/soso_common_v1.2.3.ttl"), standard("soso/googleRequired.ttl")]
    if name == "google-recommended":
        return [standard("soso/googleRecommended.ttl")]
    if name == "schemaorg":
        return [standard("schemaorg/schemaorg-shapes.shacl")]
    raise KeyError(f"no SHACL gate {name!r}; known: {', '.join(GATES)}")


@dataclass(frozen=True)
class _Shapes:
    graph: Graph
    gate_of: dict[Node, str]


@cache
def _shapes(gates: tuple[str, ...], simplify: bool = True) -> _Shapes:
    """The gates' shapes in one graph (patched as the module says); `simplify=False` keeps the constraints that
    cannot fail (for tests comparing the findings with and without them)."""
    combined = Graph()
    gate_of: dict[Node, str] = {}
    for name in gates:
        for path in _gate_files(name):
            part = Graph().parse(path, format="turtle")
            if name == "schemaorg":
                _patch_datatype_shapes(part)
            if name == "soso":
                _recommended_as_advice(part)
            for subject in set(part.subjects()):
                gate_of.setdefault(subject, name)
            combined += part
    _hoist_property_shapes(combined)
    if simplify:
        _drop_constraints_that_cannot_fail(combined)
    return _Shapes(combined, gate_of)


_TARGETS = tuple(URIRef(SH + t) for t in ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf"))


def _hoist_property_shapes(shapes: Graph) -> None:
    """Give each property shape of a targeted node shape the node shape's targets, and drop the sh:property link.

    Equivalent under SHACL (every target node must conform to every property shape; the results, their focus nodes,
    source shapes and severities are the same), but pyshacl validates a `sh:property` one focus node at a time,
    rebuilding its constraints for each, whereas a targeted property shape is validated once over all its focus
    nodes: on a batch of CERN records this is more than ten times faster.
    """
    prop = URIRef(SH + "property")
    for node_shape in {s for target in _TARGETS for s in shapes.subjects(target, None)}:
        targets = [(t, o) for t in _TARGETS for o in shapes.objects(node_shape, t)]
        if (node_shape, URIRef(SH + "deactivated"), None) in shapes:
            continue
        for property_shape in list(shapes.objects(node_shape, prop)):
            for target, value in targets:
                shapes.add((property_shape, target, value))
            shapes.remove((node_shape, prop, property_shape))


_NOT_CONSTRAINTS = frozenset(
    URIRef(SH + name)
    for name in (
        "name", "description", "message", "severity", "order", "group", "targetClass", "targetNode",
        "targetSubjectsOf", "targetObjectsOf",
    )
) | {RDF_TYPE, RDFS_LABEL, RDFS_COMMENT}  # fmt: skip
"""Predicates of a shape that constrain nothing."""


def _always_conforms(shapes: Graph, shape: Node, seen: frozenset[Node] = frozenset()) -> bool:
    """Whether every node conforms to `shape`: it has no constraint but `sh:node`s to shapes that have none."""
    predicates = set(shapes.predicates(shape, None)) - _NOT_CONSTRAINTS
    if not predicates:
        return True
    if predicates != {_Sh.node}:
        return False
    return all(
        other not in seen and _always_conforms(shapes, other, seen | {shape})
        for other in shapes.objects(shape, _Sh.node)
    )


def _drop_constraints_that_cannot_fail(shapes: Graph) -> None:
    """Drop every `sh:or` with a member all nodes conform to, and every `sh:node` to such a shape.

    Neither can produce a result (an `sh:or` does not report its members' results), so the findings are the same;
    but pyshacl evaluates each member for each value node, and building the discarded results of the other members
    dominated the schema.org gate, where `Text` and `URL` (datatype shapes left without constraints, see
    `_patch_datatype_shapes`) are members of most `sh:or`s.
    """
    for owner, members in list(shapes.subject_objects(_Sh.or_)):
        if any(_always_conforms(shapes, member) for member in shapes.items(members)):
            shapes.remove((owner, _Sh.or_, members))
    for owner, other in list(shapes.subject_objects(_Sh.node)):
        if _always_conforms(shapes, other):
            shapes.remove((owner, _Sh.node, other))


_VALUE_CONSTRAINTS = frozenset(
    URIRef(SH + name)
    for name in (
        "path", "class", "datatype", "nodeKind", "node", "or", "and", "not", "xone", "in", "pattern", "flags",
        "minLength", "maxLength", "minInclusive", "minExclusive", "maxInclusive", "maxExclusive", "languageIn",
        "maxCount", "uniqueLang", "disjoint", "lessThan", "lessThanOrEquals", "property", "deactivated",
        "defaultValue",
    )
) | _NOT_CONSTRAINTS  # fmt: skip
"""What a property shape may hold and still produce no result for a focus node without values (SHACL checks these
per value node, or count at most); `sh:minCount`, `sh:hasValue`, `sh:equals`, `sh:qualifiedMinCount` and SPARQL
constraints can fail on no values, so shapes with them are always kept."""


def _applicable(shapes: Graph, data: Graph, ont_graph: Graph | None = None) -> Graph:
    """The shapes without what cannot produce a result on `data` (the results on `data` are the same).

    Set aside: property shapes whose path is a predicate `data` never uses and that only constrain values; class
    targets whose class (and every subclass `data` knows) has no instance; subjects-of and objects-of targets of
    unused predicates. pyshacl otherwise looks for every property of every targeted shape on every focus node.
    """
    predicates = set(data.predicates())
    subclasses: dict[Node, set[Node]] = defaultdict(set)
    for graph in (data, ont_graph) if ont_graph is not None else (data,):
        for sub, sup in graph.subject_objects(RDFS_SUBCLASS):
            subclasses[sup].add(sub)
    present = set(data.objects(None, RDF_TYPE))

    def has_instances(cls: Node, seen: set[Node]) -> bool:
        if cls in present:
            return True
        seen.add(cls)
        return any(sub not in seen and has_instances(sub, seen) for sub in subclasses.get(cls, ()))

    unused: list[tuple[Node, Node, Node]] = []
    for shape, path in shapes.subject_objects(_Sh.path):
        if not isinstance(path, URIRef) or path in predicates:
            continue
        if any(p not in _VALUE_CONSTRAINTS for p in shapes.predicates(shape, None)):
            continue
        unused += [(owner, _Sh.property, shape) for owner in shapes.subjects(_Sh.property, shape)]
        unused += [(shape, target, value) for target in _TARGETS for value in shapes.objects(shape, target)]
    for shape, cls in shapes.subject_objects(_Sh.targetClass):
        if not has_instances(cls, set()):
            unused.append((shape, _Sh.targetClass, cls))
    for target in (_Sh.targetSubjectsOf, _Sh.targetObjectsOf):
        unused += [(shape, target, p) for shape, p in shapes.subject_objects(target) if p not in predicates]
    if not unused:
        return shapes
    left = set(unused)
    applicable = Graph()
    applicable.addN((s, p, o, applicable) for s, p, o in shapes if (s, p, o) not in left)
    return applicable


def _patch_datatype_shapes(shapes: Graph) -> None:
    """schema.org's generated shapes give datatypes (Text, URL, Date…) `sh:nodeKind sh:BlankNodeOrIRI`, which every
    literal fails; drop that constraint from the datatype shapes only (VALIDATORS.md §5)."""
    node_kind = URIRef(SH + "nodeKind")
    target_class = URIRef(SH + "targetClass")
    for datatype in SCHEMAORG_DATATYPES:
        for shape in list(shapes.subjects(target_class, URIRef("http://schema.org/" + datatype))):
            shapes.remove((shape, node_kind, None))


def _recommended_as_advice(shapes: Graph) -> None:
    """SOSO's common shapes make `version` and `keywords` mandatory, where Google and the SOSO guide only recommend
    them. Many source records have neither (none of CERN Open Data's 7,443 has a version), and dmlake does not
    invent them: report them as Warnings, and keep every other SOSO constraint a Violation."""
    for name in ("Dataset-version", "Dataset-keywords"):
        shapes.set((URIRef("http://schema.org/" + name), URIRef(SH + "severity"), URIRef(SH + "Warning")))


@dataclass(frozen=True)
class Finding:
    """One SHACL result, traced to the record whose RDF holds its focus node."""

    record_id: str
    gate: str
    severity: str
    """Violation, Warning or Info."""
    focus: str
    path: str | None
    value: str | None
    message: str
    shape: str
    constraint: str = ""
    """The SHACL constraint component that failed (MinCountConstraintComponent, ClassConstraintComponent…)."""

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        value = f" (value {self.value})" if self.value else ""
        return f"[{self.gate} {self.severity}] {self.record_id}: {self.focus}{where}{value}: {self.message}"


@dataclass
class Report:
    records: int = 0
    findings: list[Finding] = field(default_factory=list)
    unattributed: list[Finding] = field(default_factory=list)
    """Results whose focus node no record owns (should not happen; kept so nothing is silently dropped)."""

    def count(self, gate: str | None = None, severity: str | None = None) -> int:
        return sum(
            1
            for f in self.findings
            if (gate is None or f.gate == gate) and (severity is None or f.severity == severity)
        )

    def violations(self, gate: str | None = None) -> list[Finding]:
        return [f for f in self.findings if f.severity == "Violation" and (gate is None or f.gate == gate)]

    def conforms(self, gate: str | None = None) -> bool:
        """No Violation in the blocking gates (or in `gate`), and nothing unattributed."""
        if gate is not None:
            return not self.violations(gate)
        return not self.unattributed and not any(GATES[f.gate].blocking for f in self.violations())

    def by_record(self) -> dict[str, list[Finding]]:
        grouped: dict[str, list[Finding]] = defaultdict(list)
        for finding in self.findings:
            grouped[finding.record_id].append(finding)
        return dict(grouped)

    def failing_records(self) -> set[str]:
        return {f.record_id for f in self.findings if f.severity == "Violation" and GATES[f.gate].blocking}

    def counts(self) -> Counter[tuple[str, str]]:
        return Counter((f.gate, f.severity) for f in self.findings)

    def summary(self, examples: int = 5) -> str:
        """Counts per gate and severity, then the most frequent kinds of finding with an example each."""
        lines = [f"{self.records} records validated"]
        for (gate, severity), number in sorted(self.counts().items()):
            lines.append(f"  {gate:<22} {severity:<9} {number}")
        kinds = Counter((f.gate, f.severity, f.path or "", f.constraint or "") for f in self.findings)
        # most frequent first; ties in a fixed order (pyshacl reports results in no stable order)
        for kind, number in sorted(kinds.items(), key=lambda item: (-item[1], item[0]))[:examples]:
            example = min(
                (f for f in self.findings if (f.gate, f.severity, f.path or "", f.constraint or "") == kind), key=str
            )
            lines.append(f"  {number:>7} × {example}")
        if self.unattributed:
            lines.append(f"  {len(self.unattributed)} results not traced to a record, e.g. {self.unattributed[0]}")
        return "\n".join(lines)

    def extend(self, other: Report) -> None:
        self.records += other.records
        self.findings.extend(other.findings)
        self.unattributed.extend(other.unattributed)


def _batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def validate(records: Iterable[Record], gates: Sequence[str] = DEFAULT_GATES, batch_size: int = 1000) -> Report:
    """Validate the RDF view of every record against the gates, `batch_size` records per pyshacl call."""
    report = Report()
    for batch in _batches(records, batch_size):
        data = Graph()
        owners: dict[Node, set[str]] = defaultdict(set)
        for record in batch:
            for triple in rdf.triples(record):
                data.add(triple)
                owners[triple[0]].add(record.id)
        part = validate_graph(data, owners, gates)
        part.records = len(batch)
        report.extend(part)
    return report


class _RawResults(pyshacl.Validator):
    """pyshacl's validator, handing back its result tuples instead of building a report graph and text.

    pyshacl assembles the text report by repeated string concatenation, quadratic in the number of results; the
    recommended-property gate yields some ten results per record, so on a corpus that step alone took minutes.
    """

    @classmethod
    def create_validation_report(cls, sg: Any, conforms: bool, results: list[Any]) -> tuple[Any, str]:
        return results, ""


def _run_pyshacl(data: Graph, shapes: Graph, ont_graph: Graph | None) -> list[dict[URIRef, Node]]:
    """One pyshacl run; each result as {sh:property → value} (values from the data or shapes graph unwrapped)."""
    validator = _RawResults(
        DataGraph.from_rdflib(data),
        shacl_graph=shapes,
        ont_graph=ont_graph,
        options={"inference": "none", "allow_warnings": True, "allow_infos": True, "inplace": ont_graph is None},
    )
    _conforms, raw, _text = validator.run()
    results = []
    for _description, _node, result_triples in raw:
        result: dict[URIRef, Node] = {}
        for _s, predicate, value in result_triples:
            if isinstance(value, tuple):
                value = value[1]  # (graph it lives in, node)
            if predicate not in result:
                result[predicate] = value
        results.append(result)
    return results


def validate_graph(
    data: Graph, owners: dict[Node, set[str]], gates: Sequence[str] = DEFAULT_GATES, ont_graph: Graph | None = None
) -> Report:
    """Validate a graph; `owners` names the record(s) each subject belongs to."""
    shapes = _shapes(tuple(gates))
    report = Report()
    for result in _run_pyshacl(data, _applicable(shapes.graph, data, ont_graph), ont_graph):
        focus = result.get(_Sh.focusNode)
        shape = result.get(_Sh.sourceShape)
        value = result.get(_Sh.value)
        message = result.get(_Sh.resultMessage) or _local(result.get(_Sh.sourceConstraintComponent))
        finding = Finding(
            record_id="",
            gate=shapes.gate_of.get(shape, "?") if shape is not None else "?",
            severity=_local(result.get(_Sh.resultSeverity)),
            focus=_show(focus),
            path=_show_path(shapes.graph, result.get(_Sh.resultPath)),
            value=_show(value) if value is not None else None,
            message=str(message),
            shape=_show(shape),
            constraint=_local(result.get(_Sh.sourceConstraintComponent)),
        )
        record_ids = owners.get(focus) if focus is not None else None
        if not record_ids:
            report.unattributed.append(finding)
            continue
        for record_id in sorted(record_ids):
            report.findings.append(replace(finding, record_id=record_id))
    return report


class _Sh:
    type = RDF_TYPE
    node = URIRef(SH + "node")
    or_ = URIRef(SH + "or")
    path = URIRef(SH + "path")
    property = URIRef(SH + "property")
    targetClass = URIRef(SH + "targetClass")
    targetSubjectsOf = URIRef(SH + "targetSubjectsOf")
    targetObjectsOf = URIRef(SH + "targetObjectsOf")
    ValidationResult = URIRef(SH + "ValidationResult")
    focusNode = URIRef(SH + "focusNode")
    sourceShape = URIRef(SH + "sourceShape")
    resultSeverity = URIRef(SH + "resultSeverity")
    resultPath = URIRef(SH + "resultPath")
    value = URIRef(SH + "value")
    resultMessage = URIRef(SH + "resultMessage")
    sourceConstraintComponent = URIRef(SH + "sourceConstraintComponent")
    inversePath = URIRef(SH + "inversePath")


def _local(node: Node | None) -> str:
    if node is None:
        return ""
    text = str(node)
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _show(node: Node | None) -> str:
    if node is None:
        return ""
    if isinstance(node, BNode):
        return "_:blank"
    if isinstance(node, Literal):
        return node.n3()
    return str(node)


def _show_path(results: Graph, path: Node | None) -> str | None:
    if path is None:
        return None
    if isinstance(path, BNode):
        inverse = results.value(path, _Sh.inversePath)
        return f"^{inverse}" if inverse is not None else "(complex path)"
    return str(path)


# ---------------------------------------------------------------------------------------------------- schema.org
@cache
def _schemaorg_context() -> dict[str, Any]:
    """schema.org's own JSON-LD context, read locally: rdflib would otherwise fetch https://schema.org/."""
    context: dict[str, Any] = json.loads(standard("schemaorg/schemaorgcontext.jsonld").read_text(encoding="utf-8"))
    local: dict[str, Any] = context["@context"]
    return local


@cache
def _schemaorg_subclasses() -> Graph:
    return Graph().parse(standard("schemaorg/schemaorg-subclasses.shacl"), format="turtle")


@cache
def _schemaorg_terms() -> frozenset[str]:
    vocabulary = Graph().parse(standard("schemaorg/schemaorg-current-http.ttl"), format="turtle")
    return frozenset(str(s) for s in vocabulary.subjects() if str(s).startswith("http://schema.org/"))


def localise_context(document: dict[str, Any]) -> dict[str, Any]:
    """The document with the remote schema.org context replaced by the local copy (for offline parsing)."""
    context = document.get("@context")
    entries = context if isinstance(context, list) else [context]
    local = [
        _schemaorg_context() if str(e).rstrip("/") in ("https://schema.org", "http://schema.org") else e
        for e in entries
    ]
    return {**document, "@context": local}


class _Triples(Graph):
    """What rdflib's JSON-LD parser needs of a graph to write into: it collects the triples (and binds no prefixes,
    which the parser would do for each of the context's 800 terms in every document)."""

    def __init__(self) -> None:
        super().__init__(bind_namespaces="none")
        self.collected: list[tuple[Node, Node, Node]] = []

    def add(self, triple: tuple[Node, Node, Node]) -> _Triples:
        self.collected.append(triple)
        return self

    def bind(self, *args: Any, **kwargs: Any) -> None:
        return None


class _JsonLdReader:
    """rdflib's JSON-LD parser with each distinct `@context` loaded once (the schema.org one is 200 KB)."""

    def __init__(self) -> None:
        self._contexts: dict[str, Context] = {}

    def triples(self, document: dict[str, Any]) -> list[tuple[Node, Node, Node]]:
        key = json.dumps(document.get("@context"), sort_keys=True)  # before localising: the local one is 200 KB
        context = self._contexts.get(key)
        if context is None:
            context = self._contexts[key] = Context(base=RELATIVE_BASE)
            context.load(localise_context(document)["@context"])
        sink = _Triples()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # rdflib's JSON-LD parser uses its own deprecated API
            JsonLdParser().parse({k: v for k, v in document.items() if k != "@context"}, context, sink)
        return sink.collected


def schemaorg_graph(document: dict[str, Any]) -> Graph:
    """A schema.org JSON-LD document as RDF, parsed offline (relative IRIs resolve against `RELATIVE_BASE`)."""
    graph = Graph()
    for triple in _JsonLdReader().triples(document):
        graph.add(triple)
    return graph


def validate_schemaorg(
    documents: Iterable[dict[str, Any]], gates: Sequence[str] = SCHEMAORG_GATES, batch_size: int = 2000
) -> Report:
    """Validate schema.org Dataset documents (from `ontology.schemaorg.document`) against SOSO, Google and the
    schema.org release shapes, check that every schema.org term they use exists and that every IRI is absolute;
    `batch_size` documents per pyshacl call."""
    report = Report()
    reader = _JsonLdReader()
    batch: list[dict[str, Any]] = []
    for document in documents:
        batch.append(document)
        if len(batch) >= batch_size:
            report.extend(_validate_schemaorg_batch(batch, gates, reader, report.records))
            batch = []
    if batch:
        report.extend(_validate_schemaorg_batch(batch, gates, reader, report.records))
    return report


def _validate_schemaorg_batch(
    documents: list[dict[str, Any]], gates: Sequence[str], reader: _JsonLdReader, before: int
) -> Report:
    data = Graph()
    owners: dict[Node, set[str]] = defaultdict(set)
    checks: list[Finding] = []
    known_terms = _schemaorg_terms()
    for number, document in enumerate(documents, start=before + 1):
        record_id = str(document.get("@id", f"document {number}"))
        for triple in reader.triples(document):
            data.add(triple)
            owners[triple[0]].add(record_id)
            checks += _term_findings(record_id, triple, known_terms)
    data += _schemaorg_subclasses()  # what pyshacl would copy in from an ontology graph, without cloning the data
    report = validate_graph(data, owners, gates)
    report.records = len(documents)
    report.findings.extend(dict.fromkeys(checks))
    return report


def _term_findings(record_id: str, triple: tuple[Node, Node, Node], known_terms: frozenset[str]) -> list[Finding]:
    """Unknown (or https-namespaced) schema.org terms, and IRIs that were relative in the document."""
    findings = []
    subject, predicate, value = triple
    for term in (predicate, value if predicate == _Sh.type else None):
        schema_term = term is not None and str(term).startswith(("http://schema.org/", "https://schema.org/"))
        if schema_term and str(term) not in known_terms:
            message = "not a schema.org 30.0 term (or in the https namespace)"
            findings.append(
                Finding(record_id, "schemaorg-vocabulary", "Violation", _show(subject), str(term), None, message, "",
                        "vocabulary")
            )  # fmt: skip
    for node in (subject, value):
        if isinstance(node, URIRef) and str(node).startswith(RELATIVE_BASE):
            # rdflib resolves a relative reference against the base, and a text that is no IRI reference at all
            # (spaces, parentheses) to the base itself
            relative = str(node).removeprefix(RELATIVE_BASE)
            what = f"the relative reference {relative!r}" if relative else "a text that is no IRI (spaces?)"
            message = f"{what} where an absolute IRI is expected (a name or path given as a URL?)"
            findings.append(
                Finding(record_id, "jsonld-iri", "Violation", _show(subject), str(predicate), relative, message, "",
                        "absolute-iri")
            )  # fmt: skip
    return findings
