"""`portal.part_anchors`: the anchors of a release's tables and files are the last segments of the DOIs the DOI code
gives them (registered or not yet), each once; a DOI is shown only when it resolves."""

from __future__ import annotations

from datetime import UTC, datetime

from doi.parts import file_segment
from doi.store import DoiRow
from ontology.model import Distribution, Identifier, IdentifierScheme, Provenance, Record, record_id
from portal.part_anchors import part_anchors

RELEASE_DOI = "10.80000/dmlake.lab.release"


def table(name: str, *formats: str, doi: str | None = None) -> list[Distribution]:
    landing = f"https://tables.example.org/record/1?table={name.replace(' ', '%20')}"
    identifiers = [Identifier(scheme=IdentifierScheme.DOI, value=doi)] if doi else []
    return [
        Distribution(name=f"{name}.{fmt}", url=f"https://tables.example.org/{name}.{fmt}", access_url=landing,
                     role="table", format=fmt, identifiers=identifiers)
        for fmt in formats
    ]  # fmt: skip


def release(*distributions: list[Distribution] | Distribution) -> Record:
    flat = [d for item in distributions for d in (item if isinstance(item, list) else [item])]
    return Record(
        id=record_id("lab", "release"),
        source="lab",
        native_id="release",
        title="A release",
        distributions=flat,
        provenance=Provenance(source="lab", source_kind="fake", raw_sha256="0" * 64, mapping_version="1"),
    )


def row(part_key: str, segment: str, state: str | None, *, live: bool = True, number: int | None = None) -> DoiRow:
    kind = part_key.split(":", 1)[0]
    return DoiRow(key=f"{record_id('lab', 'release')}#{part_key}", doi=f"{RELEASE_DOI}/{segment}", source="lab",
                  kind=kind, concept_key=None, version_number=None, intended=state or "draft", confirmed=state,
                  approved=state == "findable", live=live, metadata_sha256=None, report=None,
                  updated_at=datetime.now(UTC), parent_key=record_id("lab", "release"), part_key=part_key,
                  part_number=number)  # fmt: skip


def the_release_row(state: str, *, live: bool = True) -> DoiRow:
    return DoiRow(key=record_id("lab", "release"), doi=RELEASE_DOI, source="lab", kind="record", concept_key=None,
                  version_number=None, intended=state, confirmed=state, approved=state == "findable", live=live,
                  metadata_sha256=None, report=None, updated_at=datetime.now(UTC))  # fmt: skip


def key_of(distribution: Distribution) -> str:
    return "table:/record/1?" + (distribution.access_url or "").split("?", 1)[1]


def test_without_dois_tables_are_numbered_in_order_and_files_by_name() -> None:
    readme = Distribution(name="README.md", role="documentation")
    data = Distribution(name="data/events.csv", role="data")
    record = release(readme, table("Table 1", "csv", "yaml"), data, table("Table 2", "csv"))
    anchors = part_anchors(record, None, [])
    assert {i: (t.anchor, t.name, t.members) for i, t in anchors.tables.items()} == {
        1: ("t1", "Table 1", (1, 2)),
        4: ("t2", "Table 2", (4,)),
    }
    assert {i: f.anchor for i, f in anchors.files.items()} == {
        0: file_segment("README.md"),
        3: file_segment("data/events.csv"),
    }
    assert anchors.table_of(2) == anchors.tables[1] and anchors.table_of(0) is None
    assert anchors.release_doi is None and not any(f.doi for f in anchors.files.values())


def test_registered_numbers_win_and_new_tables_come_after_every_number_held() -> None:
    first, second, third = table("Table 1", "csv"), table("Extra", "csv"), table("Table 3", "csv")
    record = release(first, second, third)
    rows = [
        row(key_of(first[0]), "t1", "findable", number=1),
        row("table:/record/1?table=Table%202", "t2", "registered", live=False, number=2),  # gone: hidden
        row(key_of(third[0]), "t3", "draft", number=3),
    ]
    release_row = the_release_row("findable")
    anchors = part_anchors(record, release_row, rows)
    by_name = {t.name: t for t in anchors.tables.values()}
    assert by_name["Table 1"].anchor == "t1" and by_name["Table 1"].doi == f"{RELEASE_DOI}/t1"
    assert by_name["Table 3"].anchor == "t3" and by_name["Table 3"].doi is None, "a draft does not resolve"
    assert by_name["Extra"].anchor == "t4", "never a hidden table's number, as DoiStore.reserve_part numbers"
    assert anchors.release_doi == RELEASE_DOI
    assert part_anchors(record, the_release_row("draft"), rows).release_doi is None
    assert part_anchors(record, the_release_row("registered", live=False), rows).release_doi is None


def test_the_sources_table_dois_give_the_numbers_and_are_shown() -> None:
    record = release(
        table("Table 1", "csv", "yaml", doi="10.17182/hepdata.1.v1/t1"),
        table("Table 2", "csv", doi="10.17182/hepdata.1.v1/t3"),  # HEPData skipped a number: theirs is kept
        table("Table 3", "csv"),  # none of its own: the next free number
    )
    anchors = part_anchors(record, None, [])
    assert [(t.anchor, t.doi) for t in anchors.tables.values()] == [
        ("t1", "10.17182/hepdata.1.v1/t1"),
        ("t3", "10.17182/hepdata.1.v1/t3"),
        ("t4", None),
    ]


def test_file_rows_match_by_part_key_and_namesakes_stay_distinct() -> None:
    plain = Distribution(name="run.root", role="data", format="ROOT")
    namesake = Distribution(name="run.root", role="data", format="HDF5")
    other = Distribution(name="notes.txt", role="documentation",
                         identifiers=[Identifier(scheme=IdentifierScheme.DOI, value="10.5281/zenodo.42")])  # fmt: skip
    record = release(plain, namesake, other)
    rows = [row("file:run.root", file_segment("run.root"), "findable")]
    anchors = part_anchors(record, None, rows)
    assert anchors.files[0].anchor == file_segment("run.root") and anchors.files[0].doi == rows[0].doi
    assert anchors.files[1].anchor == file_segment("run.root (HDF5)") != anchors.files[0].anchor
    assert anchors.files[1].doi is None
    assert anchors.files[2].doi == "10.5281/zenodo.42", "a file's own DOI from its source is shown"
    assert len({f.anchor for f in anchors.files.values()}) == 3
