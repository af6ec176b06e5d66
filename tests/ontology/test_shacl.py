"""The SHACL gates: DCAT-AP 3.0.1 (read in place from the shared standards), recommended properties, dml: shapes.

Constructed records conform; deliberately broken graphs show that each gate catches what it is for, and that every
finding is traced to the record it belongs to.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from ontology import rdf, shacl, units
from ontology.model import Concept, EnergyRange, Quantity, Record, SelectedQuantity, TemporalCoverage
from ontology.standards import StandardsNotFound, standards_dir
from ontology.terms import DCAT, DCT, DML, FOAF, PROV, QUDT, RDF, SKOS, SPDX, XSD

VOCAB = "https://w3id.org/dmlake/vocab/"


def validate(graph: Graph, record_id: str, gates: tuple[str, ...] = shacl.DEFAULT_GATES) -> shacl.Report:
    owners: dict[Node, set[str]] = defaultdict(set)
    for subject in graph.subjects():
        owners[subject].add(record_id)
    return shacl.validate_graph(graph, owners, gates)


def kinds(report: shacl.Report, severity: str = "Violation") -> set[tuple[str, str | None, str]]:
    return {(f.gate, f.path, f.constraint) for f in report.findings if f.severity == severity}


def test_constructed_records_conform_to_dcat_ap_and_the_dml_shapes(full: Record, minimal: Record) -> None:
    report = shacl.validate([full, minimal])
    assert report.records == 2
    assert report.violations() == [], report.summary()
    assert report.unattributed == []
    assert report.conforms()
    # what DCAT-AP recommends and the records cannot give is counted, not hidden
    recommended = report.count("dcat-ap-recommended", "Warning")
    assert recommended > 0
    assert {f.path for f in report.findings if f.gate == "dcat-ap-recommended"} >= {
        str(DCAT.contactPoint),
        str(DCT.spatial),
    }
    # the unmapped resource category and the generated description are reported, as Warning and Info
    assert kinds(report, "Warning") >= {("dml", str(DML.resourceCategory), "NodeKindConstraintComponent")}
    generated = [f for f in report.findings if f.severity == "Info"]
    assert [(f.record_id, f.path) for f in generated] == [(minimal.id, str(DML.descriptionGenerated))]


def test_findings_are_traced_to_their_record_when_many_are_validated_together(full: Record, minimal: Record) -> None:
    report = shacl.validate([full, minimal], gates=("dcat-ap-recommended",))
    by_record = report.by_record()
    assert set(by_record) == {full.id, minimal.id}
    # only the minimal record lacks a publisher, keywords and files
    lacking = {f.path for f in by_record[minimal.id] if f.focus == minimal.id}
    assert {str(DCT.publisher), str(DCAT.keyword), str(DCAT.distribution)} <= lacking
    assert not {str(DCT.publisher), str(DCAT.keyword)} & {f.path for f in by_record[full.id] if f.focus == full.id}
    # a finding on a file or an author belongs to the record that holds it
    assert any(f.focus.startswith(full.id + "#file-") for f in by_record[full.id])


def test_batches_give_the_same_findings_as_one_call(full: Record, minimal: Record) -> None:
    records = [full, minimal, full.model_copy(update={"id": full.id + "0", "native_id": "123450"})]
    together = shacl.validate(records, batch_size=10)
    one_by_one = shacl.validate(records, batch_size=1)
    assert together.records == one_by_one.records == 3
    assert sorted(map(str, together.findings)) == sorted(map(str, one_by_one.findings))


# ----------------------------------------------------------------------------------------------- DCAT-AP catches
def test_dcat_ap_requires_a_description(full: Record) -> None:
    graph = rdf.graph(full)
    graph.remove((URIRef(full.id), DCT.description, None))
    report = validate(graph, full.id, ("dcat-ap",))
    assert kinds(report) == {("dcat-ap", str(DCT.description), "MinCountConstraintComponent")}
    assert report.failing_records() == {full.id}
    assert not report.conforms()


def test_dcat_ap_requires_an_access_url_and_a_non_negative_integer_byte_size(full: Record) -> None:
    graph = rdf.graph(full)
    file = URIRef(full.id + "#file-00A1B2C3.root")
    graph.remove((file, DCAT.accessURL, None))
    graph.set((file, DCAT.byteSize, Literal("2.1", datatype=XSD.decimal)))
    report = validate(graph, full.id, ("dcat-ap",))
    assert kinds(report) == {
        ("dcat-ap", str(DCAT.accessURL), "MinCountConstraintComponent"),
        ("dcat-ap", str(DCAT.byteSize), "DatatypeConstraintComponent"),
    }
    assert {f.focus for f in report.findings} == {str(file)}


def test_dcat_ap_class_ranges_need_the_types_the_view_states(full: Record) -> None:
    graph = rdf.graph(full)
    graph.remove((URIRef("http://spdx.org/licenses/CC0-1.0"), RDF.type, DCT.LicenseDocument))
    graph.add((URIRef(full.id), DCAT.theme, BNode()))
    report = validate(graph, full.id, ("dcat-ap",))
    assert kinds(report) >= {
        ("dcat-ap", str(DCT.license), "ClassConstraintComponent"),
        ("dcat-ap", str(DCAT.theme), "NodeKindConstraintComponent"),
        ("dcat-ap", str(DCAT.theme), "ClassConstraintComponent"),
    }


def test_dcat_ap_checksums_are_hex_binary(full: Record) -> None:
    graph = rdf.graph(full)
    checksum = URIRef(full.id + "#file-00A1B2C3.root-checksum")
    graph.set((checksum, SPDX.checksumValue, Literal("da39a3ee5e6b4b0d3255bfef95601890afd80709")))
    report = validate(graph, full.id, ("dcat-ap",))
    assert kinds(report) == {("dcat-ap", str(SPDX.checksumValue), "DatatypeConstraintComponent")}


# ------------------------------------------------------------------------------------------------- dml: catches
def test_dml_concepts_must_come_from_the_right_scheme(full: Record) -> None:
    messenger = Concept(uri=VOCAB + "messenger/neutrino", label="neutrino", raw="neutrino")
    foreign = Concept(uri="https://inspirehep.net/experiments/1108541", label="CMS", raw="CMS")
    record = full.model_copy(update={"experiments": [messenger], "collaboration": [foreign]})
    report = validate(rdf.graph(record), full.id, ("dml",))
    wrong = {(f.focus, f.constraint) for f in report.violations()}
    assert wrong == {
        (VOCAB + "messenger/neutrino", "InConstraintComponent"),
        ("https://inspirehep.net/experiments/1108541", "MinCountConstraintComponent"),
    }
    assert all(f.path == str(SKOS.inScheme) for f in report.violations())


def test_dml_quantities_need_a_unit_of_the_right_kind(full: Record) -> None:
    record = full.model_copy(
        update={
            "exposure": Quantity(value=1.0, unit="GeV"),  # an energy is no exposure
            "live_time": Quantity(value=3.0, unit="fortnights"),  # a unit dmlake does not know
        }
    )
    report = validate(rdf.graph(record), full.id, ("dml",))
    assert {(f.focus, f.constraint) for f in report.violations()} == {
        (full.id + "#exposure", "InConstraintComponent"),
        (full.id + "#live-time", "MinCountConstraintComponent"),
    }


def test_dml_energy_bounds_must_be_ordered(full: Record) -> None:
    graph = rdf.graph(full)  # the model refuses min > max, so break the RDF itself
    energy = URIRef(full.id + "#energy-range")
    graph.set((energy, DML.minEnergy, Literal("5000.0", datatype=XSD.double)))
    report = validate(graph, full.id, ("dml",))
    assert {(f.path, f.constraint) for f in report.violations()} == {
        (str(DML.minEnergy), "LessThanOrEqualsConstraintComponent")
    }


def test_dml_energy_ranges_have_a_bound(full: Record) -> None:
    graph = rdf.graph(full.model_copy(update={"energy_range": EnergyRange(min=None, max=None, unit="GeV")}))
    report = validate(graph, full.id, ("dml",))
    assert {(f.focus, f.constraint) for f in report.violations()} == {
        (full.id + "#energy-range", "OrConstraintComponent")
    }


def test_dml_checksums_have_the_length_of_a_digest(full: Record) -> None:
    graph = rdf.graph(full)
    checksum = URIRef(full.id + "#file-00A1B2C3.root-checksum")
    graph.set((checksum, SPDX.checksumValue, Literal("da39a3ee5e6b", datatype=XSD.hexBinary)))
    report = validate(graph, full.id, ("dml",))
    assert {(f.focus, f.constraint) for f in report.violations()} == {(str(checksum), "PatternConstraintComponent")}


def test_dml_requires_the_provenance_chain(full: Record) -> None:
    graph = rdf.graph(full)
    run = URIRef(full.id + "#harvest-run")
    graph.remove((URIRef(full.id + "#harvest-run-association"), PROV.hadPlan, None))
    graph.remove((run, PROV.wasAssociatedWith, None))
    report = validate(graph, full.id, ("dml",))
    assert {(f.focus, f.path, f.constraint) for f in report.violations()} == {
        (str(run), str(PROV.wasAssociatedWith), "MinCountConstraintComponent"),
        (str(run), "(complex path)", "MinCountConstraintComponent"),
    }
    graph.remove((URIRef(full.id + "#record"), FOAF.primaryTopic, None))
    report = validate(graph, full.id, ("dml",))
    assert (full.id, f"^{FOAF.primaryTopic}", "MinCountConstraintComponent") in {
        (f.focus, f.path, f.constraint) for f in report.violations()
    }


def test_dml_reports_unmapped_values_as_warnings(full: Record) -> None:
    record = full.model_copy(
        update={
            "messengers": [Concept(uri=None, label="axions", raw="axions")],
            "temporal_coverage": TemporalCoverage(start="2011", end="2012"),
        }
    )
    report = validate(rdf.graph(record), full.id, ("dml",))
    assert report.violations() == []
    assert (str(DML.messenger), "NodeKindConstraintComponent") in {
        (f.path, f.constraint) for f in report.findings if f.severity == "Warning"
    }


def test_the_unit_lists_of_the_shapes_are_those_of_units_py() -> None:
    shapes = Graph().parse(Path(shacl.__file__).parent / "shapes" / "dml.ttl")
    sh = "http://www.w3.org/ns/shacl#"
    lists = {}
    for name, dimension in (("EnergyValue", "energy"), ("ExposureValue", "exposure"), ("TimeValue", "time")):
        shape = URIRef("https://w3id.org/dmlake/shapes#" + name)
        for prop in shapes.objects(shape, URIRef(sh + "property")):
            if shapes.value(prop, URIRef(sh + "path")) == QUDT.unit:
                members = shapes.value(prop, URIRef(sh + "in"))
                assert members is not None, f"{name}: the unit property shape has no sh:in list"
                lists[dimension] = [str(u) for u in shapes.items(members)]
    energy_range = [
        shapes.value(p, URIRef(sh + "in"))
        for p in shapes.objects(URIRef("https://w3id.org/dmlake/shapes#EnergyRangeValue"), URIRef(sh + "property"))
        if shapes.value(p, URIRef(sh + "path")) == QUDT.unit
    ]
    assert {d: sorted(v) for d, v in lists.items()} == {
        d: sorted(units.iris(d)) for d in ("energy", "exposure", "time")
    }
    assert energy_range and energy_range[0] is not None
    assert sorted(str(u) for u in shapes.items(energy_range[0])) == sorted(units.iris("energy"))


def test_the_dml_shapes_are_valid_shacl() -> None:
    """Meta-SHACL: the shapes file itself conforms to the SHACL shapes for SHACL."""
    import pyshacl

    shapes = Graph().parse(Path(shacl.__file__).parent / "shapes" / "dml.ttl")
    conforms, _graph, text = pyshacl.validate(shapes, shacl_graph=shapes, meta_shacl=True)
    assert conforms, text


def test_hoisting_property_shapes_does_not_change_the_findings(full: Record) -> None:
    """The speed-up (property shapes take their node shape's targets) gives the very results pyshacl's own run does."""
    import pyshacl

    graph = rdf.graph(full)
    graph.remove((URIRef(full.id), DCT.description, None))
    graph.set((URIRef(full.id + "#file-00A1B2C3.root"), DCAT.byteSize, Literal("x")))
    original = Graph()
    for path in (standards_dir() / "dcat-ap/3.0.1/html-shacl").glob("*.ttl"):
        if path.name in ("shapes.ttl", "range.ttl", "shapes_recommended.ttl"):
            original.parse(path)
    _conforms, results, _text = pyshacl.validate(graph, shacl_graph=original, allow_warnings=True)
    sh = "http://www.w3.org/ns/shacl#"
    expected = {
        (str(results.value(r, URIRef(sh + "focusNode"))), str(results.value(r, URIRef(sh + "resultPath"))))
        for r in results.subjects(RDF.type, URIRef(sh + "ValidationResult"))
    }
    report = validate(graph, full.id, ("dcat-ap", "dcat-ap-recommended"))
    assert {(f.focus, f.path) for f in report.findings} == expected
    assert len(expected) > 5


# ------------------------------------------------------------------------------------------- standards location
def test_the_standards_location_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, standards: Path) -> None:
    monkeypatch.setenv("DMLAKE_STANDARDS", str(standards))
    assert standards_dir() == standards


def test_a_missing_standards_folder_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DMLAKE_STANDARDS", str(tmp_path / "nowhere"))
    with pytest.raises(StandardsNotFound, match="DMLAKE_STANDARDS") as caught:
        standards_dir()
    assert str(tmp_path / "nowhere") in str(caught.value)
    assert "dcat-ap/3.0.1/html-shacl/shapes.ttl" in str(caught.value)


def test_an_unknown_gate_is_named(full: Record) -> None:
    with pytest.raises(KeyError, match="no SHACL gate 'dcat-ap-2'"):
        shacl.validate([full], gates=("dcat-ap-2",))


def test_the_summary_names_counts_and_examples(full: Record, minimal: Record) -> None:
    report = shacl.validate([full, minimal])
    summary = report.summary(examples=50)
    assert summary.startswith("2 records validated")
    assert "dcat-ap-recommended    Warning" in summary
    examples = [line for line in summary.splitlines() if " × [" in line]
    kinds = {(f.gate, f.severity, f.path, f.constraint) for f in report.findings}
    assert len(examples) == len(kinds)  # one example line per kind of finding
    assert any(full.id in line for line in examples) and any(minimal.id in line for line in examples)
    shortened = [line for line in report.summary().splitlines() if " × [" in line]
    assert len(shortened) == 5 and shortened == examples[:5]  # the most frequent first, in a stable order


def test_a_concept_triple_shared_by_records_is_attributed_to_each(full: Record) -> None:
    other = full.model_copy(update={"id": full.id + "9", "native_id": "123459"})
    graph = rdf.graph([full, other])
    cms = URIRef(VOCAB + "experiment/CMS")
    graph.set((cms, SKOS.inScheme, URIRef(VOCAB + "messenger")))  # a broken vocabulary affects every record using it
    owners: dict[Node, set[str]] = defaultdict(set)
    for record in (full, other):
        for s, _p, _o in rdf.triples(record):
            owners[s].add(record.id)
    report = shacl.validate_graph(graph, owners, ("dml",))
    assert {f.record_id for f in report.violations() if f.focus == str(cms)} == {full.id, other.id}


def test_dml_selected_quantities_need_a_name_a_cut_flag_and_the_source_row(full: Record) -> None:
    selected = SelectedQuantity(quantity="E0", min=1e15, max=1e18, unit="eV", cut="cut", applied=True, raw="E0 row")
    graph = rdf.graph(full.model_copy(update={"selection": [selected]}))
    assert validate(graph, full.id, ("dml",)).violations() == []
    node = URIRef(full.id + "#selection-0")
    graph.remove((node, DCT.title, None))
    graph.remove((node, DML.cutApplied, None))
    graph.add((node, DML.minValue, Literal("low")))
    report = validate(graph, full.id, ("dml",))
    assert {(f.path, f.constraint) for f in report.violations()} == {
        (str(DCT.title), "MinCountConstraintComponent"),
        (str(DML.cutApplied), "MinCountConstraintComponent"),
        (str(DML.minValue), "MaxCountConstraintComponent"),
        (str(DML.minValue), "DatatypeConstraintComponent"),
    }


# ------------------------------------------------------------------------------------- speed-ups keep the findings
def _raw_keys(data: Graph, gates: tuple[str, ...]) -> set[tuple[str, ...]]:
    """The findings pyshacl gives with every shape and every constraint kept (module docstring: the baseline)."""
    results = shacl._run_pyshacl(data, shacl._shapes(gates, simplify=False).graph, None)
    keys = set()
    for result in results:
        keys.add(
            tuple(
                shacl._show(result.get(URIRef(shacl.SH + name)))
                for name in ("focusNode", "resultPath", "value", "resultSeverity", "sourceConstraintComponent")
            )
        )
    return keys


def _report_keys(report: shacl.Report) -> set[tuple[str, ...]]:
    return {
        (f.focus, f.path or "", f.value or "", SH_NS + f.severity, SH_NS + f.constraint)
        for f in report.findings
        if f.gate not in ("schemaorg-vocabulary", "jsonld-iri")  # checked by dmlake, not by pyshacl
    }


SH_NS = "http://www.w3.org/ns/shacl#"


def test_shapes_that_cannot_apply_are_set_aside_without_changing_the_findings(full: Record) -> None:
    """DCAT-AP and dml: a record with violations of several kinds gives the same findings with and without the
    shapes set aside for its data and the constraints that cannot fail."""
    graph = rdf.graph(full)
    graph.remove((URIRef(full.id), DCT.description, None))
    graph.set((URIRef(full.id + "#file-00A1B2C3.root"), DCAT.byteSize, Literal("x")))
    graph.set((URIRef(full.id), DCT.publisher, Literal("CERN")))
    gates = ("dcat-ap", "dcat-ap-recommended", "dml")
    owners: dict[Node, set[str]] = defaultdict(set)
    for subject in graph.subjects():
        owners[subject].add(full.id)
    report = shacl.validate_graph(graph, owners, gates)
    expected = _raw_keys(graph, gates)
    assert _report_keys(report) == expected
    assert len({key for key in expected if key[3] == SH_NS + "Violation"}) >= 3
    # and something was set aside: most DCAT-AP property shapes name properties this record does not use
    shapes = shacl._shapes(gates).graph
    assert len(shacl._applicable(shapes, graph)) < len(shapes)


def test_the_schemaorg_gates_give_the_same_findings_with_and_without_the_speed_ups(full: Record) -> None:
    from ontology import schemaorg

    doc = schemaorg.document(full)
    doc["creator"] = "Jane Doe"  # a Person or Organization, not a string
    doc["includedInDataCatalog"] = "CERN"
    doc["description"] = "Too short."
    doc["keywords"] = [*doc["keywords"], {"@type": "DefinedTerm", "name": "muon"}]
    data = shacl.schemaorg_graph(doc)
    data += shacl._schemaorg_subclasses()
    report = shacl.validate_graph(data, {s: {full.id} for s in data.subjects()}, shacl.SCHEMAORG_GATES)
    expected = _raw_keys(data, shacl.SCHEMAORG_GATES)
    assert _report_keys(report) == expected
    violations = {(key[1], key[4].rsplit("#", 1)[1]) for key in expected if key[3] == SH_NS + "Violation"}
    assert {
        ("http://schema.org/creator", "OrConstraintComponent"),
        ("http://schema.org/includedInDataCatalog", "NodeConstraintComponent"),
        ("http://schema.org/description", "MinLengthConstraintComponent"),
    } <= violations
    # schema.org's 2,300 property shapes mostly name properties no dataset uses, or classes the data has none of
    shapes = shacl._shapes(shacl.SCHEMAORG_GATES).graph
    assert len(_targeted_property_shapes(shapes)) > 2000
    assert len(_targeted_property_shapes(shacl._applicable(shapes, data))) < 100


def _targeted_property_shapes(shapes: Graph) -> set[Node]:
    return {s for s in shapes.subjects(shacl._Sh.path, None) if (s, shacl._Sh.targetClass, None) in shapes}


def test_an_or_with_a_member_every_node_conforms_to_is_dropped() -> None:
    """schema.org's patched `Text` has no constraint left, so `sh:or ( [sh:node Text] [sh:node Place] )` cannot fail."""
    patched = shacl._shapes(("schemaorg",), simplify=False).graph
    simplified = shacl._shapes(("schemaorg",)).graph
    text = URIRef("http://schema.org/validation#ValidSchemaText")
    assert shacl._always_conforms(patched, text)
    assert not shacl._always_conforms(patched, URIRef("http://schema.org/validation#ValidSchemaPlace"))
    members_with_text = [
        lst
        for lst in patched.objects(None, shacl._Sh.or_)
        if any((m, shacl._Sh.node, text) in patched for m in patched.items(lst))
    ]
    assert members_with_text
    assert not any((None, shacl._Sh.or_, lst) in simplified for lst in members_with_text)
    assert (None, shacl._Sh.node, text) not in simplified
    assert len(list(simplified.subject_objects(shacl._Sh.or_))) < len(list(patched.subject_objects(shacl._Sh.or_)))
