"""Mutation of source records, for the tests that every malformed field is quarantined under its own name.

The harvest quarantines a record under the field its `MappingError` names; any other exception is reported as a
mapper bug ("(mapper)"), which tells a data manager nothing about the record. The tests of each connector replace
values of real and generated records with values of the wrong kind (`ODD_VALUES` in JSON, `mutate_element` in XML)
and require each mutant either to map or to fail with a `MappingError` whose field is a path of the mutated record
(`names_a_field`).
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from connectors.base import MappingError

ODD_VALUES: list[Any] = [
    None, 42, 2.5, True, False, 0, "", "  ", [], {}, ["x"], {"a": 1}, [None], [{}], "not a date", "10.1234/x",
    "<p>a &amp; b</p>",
]  # fmt: skip
"""What a mutation puts in place of a JSON value: other types, empty containers, and strings of the wrong kind."""

ODD_TEXTS = ["", " ", "x", "2020-13-01", "10.5281/zenodo.1", "<p>hi</p>", "orcid:0000", "-1", "9" * 30]
"""What a mutation puts in an XML element's text or attribute."""

_STEP = re.compile(r"\.?([^.\[]+)|\[(\d+)\]|\[('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\]")


def field_steps(field: str) -> list[str | int]:
    """`metadata.creators[0].name` → ["metadata", "creators", 0, "name"]; `files.entries['a.txt']` keys too."""
    steps: list[str | int] = []
    position = 0
    while position < len(field):
        match = _STEP.match(field, position)
        assert match is not None, f"{field!r} is not a field path"
        key, index, quoted = match.groups()
        steps.append(key if key is not None else int(index) if index is not None else quoted[1:-1])
        position = match.end()
    return steps


def names_a_field(data: Any, error: MappingError, missing: tuple[str, ...] = ("missing",)) -> bool:
    """Whether the error's field is a path of the payload `data`; for a value that is absent (a message starting
    with one of `missing`), a path whose first step not found is a key absent from an object or a null."""
    if error.field == "payload":
        return True
    value = data
    for step in field_steps(error.field):
        found = isinstance(value, dict) and step in value
        found = found or (isinstance(value, list) and isinstance(step, int) and step < len(value))
        if found:
            value = value[step]
        else:
            absent = value is None or (isinstance(value, dict) and isinstance(step, str))
            return absent and error.message.startswith(missing)
    return True


def json_paths(value: Any, prefix: tuple[Any, ...] = (), items: int = 3) -> Iterator[tuple[Any, ...]]:
    """Every path of a JSON value, with the items of a list after the first `items` left out (they repeat its
    fields)."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, (*prefix, key), items)
    elif isinstance(value, list):
        for number, item in enumerate(value[:items]):
            yield from json_paths(item, (*prefix, number), items)


def mutants(value: Any, odd_values: Callable[[], Iterable[Any]]) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Each path of a JSON value (`json_paths`) in turn set to each of `odd_values()`: yielded while set, restored
    after."""
    for path in list(json_paths(value)):
        container = value
        for step in path[:-1]:
            container = container[step]
        kept = container[path[-1]]
        for odd in odd_values():
            container[path[-1]] = odd
            yield path, odd
        container[path[-1]] = kept


@dataclass
class Outcomes:
    """What a test's mutants came to: how many mapped, how many were quarantined, and each one that went wrong."""

    mapped: int = 0
    quarantined: int = 0
    wrong: list[str] = field(default_factory=list)

    def attempt(
        self, what: str, map_mutant: Callable[[], object], names_where: Callable[[MappingError], bool]
    ) -> MappingError | None:
        """Map one mutant (`what` says which, in the report); an error must be a `MappingError` that `names_where`
        accepts. Returns the error when the mutant was quarantined."""
        try:
            map_mutant()
        except MappingError as error:
            self.quarantined += 1
            if not names_where(error):
                self.wrong.append(f"{what}: names {error.field!r} ({error.message})")
            return error
        except Exception as error:  # the harvest would call this a mapper bug
            self.wrong.append(f"{what}: {type(error).__name__}: {error}")
            return None
        self.mapped += 1
        return None

    def assert_every_one_named(self, mapped_over: int, quarantined_over: int) -> None:
        """No mutant went wrong, and the mutations reached both the mapping and the checks: more than `mapped_over`
        mapped and more than `quarantined_over` were quarantined."""
        assert not self.wrong, f"{len(self.wrong)} mutants:\n" + "\n".join(self.wrong[:20])
        assert self.mapped > mapped_over and self.quarantined > quarantined_over, (self.mapped, self.quarantined)


def mutate_element(element: etree._Element, rng: random.Random) -> None:
    """Blank, drop, double, give a child to, or change an attribute of `element` (one, chosen by `rng`)."""
    choice = rng.randrange(5)
    parent = element.getparent()
    if choice == 0 or parent is None:
        element.text = rng.choice(ODD_TEXTS)
    elif choice == 1:
        parent.remove(element)
    elif choice == 2:
        element.addnext(copy.deepcopy(element))
    elif choice == 3:
        etree.SubElement(element, etree.QName(etree.QName(element).namespace, "odd")).text = "y"
    elif element.attrib:
        element.set(rng.choice(sorted(element.attrib)), rng.choice(ODD_TEXTS))
    else:
        element.text = None


def mutated_elements(
    payload: bytes, parse: Callable[[bytes], Any], rng: random.Random
) -> Iterator[tuple[int, etree._Element, Any]]:
    """Each element of an XML or HTML document in turn mutated (`mutate_element`) in a fresh parse of `payload`:
    (its number in document order, the element, the mutated document's root)."""
    count = sum(1 for element in parse(payload).iter() if isinstance(element.tag, str))
    for number in range(count):
        root = parse(payload)
        element = [e for e in root.iter() if isinstance(e.tag, str)][number]
        mutate_element(element, rng)
        yield number, element, root
