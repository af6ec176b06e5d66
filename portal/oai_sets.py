"""The OAI-PMH sets of the catalogue: one per source, per experiment and per messenger, in three groups.

Set specs are hierarchical (`experiment:cms` lies inside `experiment`): a record is in `source:<name>`, in
`experiment:<slug>` for each experiment and in `messenger:<slug>` for each messenger, and so in the groups
`source`, `experiment` and `messenger` too. Slugs of vocabulary concepts are the concept's id in lower case
(`experiment:kascade-grande`, `messenger:charged-cosmic-ray`); a value the vocabulary does not know gets a slug of
its label. A deleted record keeps the sets of its last version, so a harvester that lists one set learns of the
deletions in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ontology.model import Record
from ontology.oai_dc import DC_NAMESPACE, OAI_DC_NAMESPACE, SCHEMA_LOCATION, XSI
from ontology.vocabulary import VOCAB_BASE

SET_SPEC = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$")
"""OAI-PMH.xsd's setSpecType."""
GROUPS = {
    "source": "Records by source",
    "experiment": "Records by experiment",
    "messenger": "Records by messenger",
}
GROUP_LABELS = {"source": "Source", "experiment": "Experiment", "messenger": "Messenger"}
_NOT_IN_SPEC = re.compile(r"[^a-z0-9\-_.!~*'()]+")


@dataclass(frozen=True)
class SetOf:
    """A set a record is in, with what names and describes it."""

    spec: str
    label: str
    uri: str | None = None

    @property
    def group(self) -> str:
        return self.spec.split(":", 1)[0]

    @property
    def name(self) -> str:
        return f"{GROUP_LABELS[self.group]}: {self.label}"


def slug(text: str) -> str:
    """A setSpec segment of a text: lower case, runs of other characters as one hyphen."""
    return _NOT_IN_SPEC.sub("-", text.strip().lower()).strip("-") or "unnamed"


def _concept_set(group: str, uri: str | None, label: str) -> SetOf:
    base = f"{VOCAB_BASE}{group}/"
    if uri and uri.startswith(base):
        return SetOf(f"{group}:{slug(uri.removeprefix(base))}", label, uri)
    return SetOf(f"{group}:{slug(label)}", label, uri)


def sets_of(record: Record) -> list[SetOf]:
    """The sets a record is in, each once, its source first (the groups are implied)."""
    return sets_of_values(
        record.source,
        [(c.uri, c.label) for c in record.experiments],
        [(c.uri, c.label) for c in record.messengers],
    )


def sets_of_stored(data: Mapping[str, Any]) -> list[SetOf]:
    """`sets_of` on a record as the catalogue stores it (its model JSON), without building the model."""

    def concepts(name: str) -> list[tuple[str | None, str]]:
        return [(c.get("uri"), c["label"]) for c in data.get(name) or []]

    return sets_of_values(data["source"], concepts("experiments"), concepts("messengers"))


def sets_of_values(
    source: str, experiments: list[tuple[str | None, str]], messengers: list[tuple[str | None, str]]
) -> list[SetOf]:
    found = [SetOf(f"source:{slug(source)}", source)]
    found += [_concept_set("experiment", uri, label) for uri, label in experiments]
    found += [_concept_set("messenger", uri, label) for uri, label in messengers]
    return list({s.spec: s for s in found}.values())


def specs_with_groups(sets: list[SetOf]) -> list[str]:
    """The specs a record is found under in selective harvesting: its sets and their groups."""
    return list(dict.fromkeys([*(s.group for s in sets), *(s.spec for s in sets)]))


def set_description(text: str, identifier: str | None) -> etree._Element:
    """A `setDescription` body: Dublin Core saying what the set holds and, where there is one, its URI."""
    root = etree.Element(
        f"{{{OAI_DC_NAMESPACE}}}dc", nsmap={"oai_dc": OAI_DC_NAMESPACE, "dc": DC_NAMESPACE, "xsi": XSI}
    )
    root.set(f"{{{XSI}}}schemaLocation", SCHEMA_LOCATION)
    etree.SubElement(root, f"{{{DC_NAMESPACE}}}description").text = text
    if identifier:
        etree.SubElement(root, f"{{{DC_NAMESPACE}}}identifier").text = identifier
    return root
