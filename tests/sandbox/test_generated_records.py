"""`sandbox.generated_records`: the records the index tests and the search benchmark build their indexes from."""

from __future__ import annotations

import random
from collections import Counter

from ontology.model import Availability
from sandbox.generated_records import SOURCES, generated_record, generated_records


def test_the_same_arguments_give_the_same_records_and_others_give_others() -> None:
    first = [r.model_dump_json() for r in generated_records(50, seed=3)]
    assert first == [r.model_dump_json() for r in generated_records(50, seed=3)]
    assert first != [r.model_dump_json() for r in generated_records(50, seed=4)]
    later = list(generated_records(5, seed=3, start=1000))
    assert [r.native_id for r in later] == ["1000", "1001", "1002", "1003", "1004"]


def test_every_facet_has_several_values_and_ties_are_common() -> None:
    records = list(generated_records(1_000, seed=11))
    assert len({r.id for r in records}) == 1_000
    assert Counter(r.source for r in records).keys() == set(SOURCES)
    assert len({r.experiments[0].uri for r in records}) >= 8 and all(r.experiments[0].mapped for r in records)
    assert len({r.collision.type.uri for r in records if r.collision and r.collision.type}) >= 3
    assert 400 < sum(1 for r in records if r.collision) < 800
    assert 150 < sum(1 for r in records if r.energy_range) < 450
    availability = {d.availability for r in records for d in r.distributions}
    assert availability == {Availability.ONLINE, Availability.ON_TAPE}
    precisions = {len(r.issued) for r in records if r.issued}
    assert precisions == {4, 7, 10}
    assert any(r.issued is None for r in records)
    assert sum(1 for r in records if r.identifiers) == 334  # one record in three, from number 0
    assert max(Counter(r.title for r in records).values()) > 20


def test_overrides_replace_fields_and_leave_the_rest() -> None:
    plain = generated_record(4, random.Random(4))
    renamed = generated_record(4, random.Random(4), title="Another title", keywords=[])
    assert renamed.title == "Another title" and renamed.keywords == []
    assert renamed.model_dump(exclude={"title", "keywords"}) == plain.model_dump(exclude={"title", "keywords"})
