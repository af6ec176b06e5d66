"""The rules that say two records describe the same dataset (issue 4: identity), as pure functions of a record.

Each record gives a few *match keys*: a key names something the record is or points to, with the *role* the record
plays for it. Two records sharing a key are linked when the pair of roles makes one of the named rules:

| rule             | key                                   | roles that link                                     |
|------------------|---------------------------------------|-----------------------------------------------------|
| `same-doi`       | `doi:<doi, lower-cased>`              | both records carry the DOI as their own identifier  |
| `same-portal-id` | `pid:<scheme>:<value>`                | both carry the same portal id (CERN recid, Zenodo   |
|                  |                                       | recid, HEPData id, OAI identifier, handle): the same|
|                  |                                       | portal record reached through two interfaces        |
| `version-of`     | `doi:<concept doi>`, `gitlab:<path>`  | one is a version of the other (its `is_version_of`  |
|                  |                                       | or concept DOI names the other's identifier), or    |
|                  |                                       | both are versions of the same concept               |
| `same-paper`     | `paper:<inspire/arxiv/doi>`           | a HEPData record (the data of a paper) and a record |
|                  |                                       | of another source that is a supplement to the same  |
|                  |                                       | paper                                               |

Why these and not more: an INSPIRE or arXiv id names a *paper*, and two uploads citing one paper can be different
datasets, so `same-paper` needs HEPData on one side (a HEPData record is, by definition, the data of its paper). A
GitLab path only means something within one GitLab instance, so two records with the same path are not merged on
that alone. URLs and free-form identifiers ("other") never link anything: too many records share a journal ISSN or
a community page. A data manager who disagrees with a link undoes it (`dmlake identity undo`), and it stays undone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from ontology.model import Identifier, IdentifierScheme, Record

Rule = Literal["same-doi", "same-portal-id", "version-of", "same-paper"]
RULES: tuple[Rule, ...] = ("same-doi", "same-portal-id", "version-of", "same-paper")
"""In order of strength: when one pair of records shares keys under several rules, the link is named by the first."""

Role = Literal["id", "version", "paper-data", "paper-cites"]

PORTAL_ID_SCHEMES = frozenset(
    {
        IdentifierScheme.CERN_RECID,
        IdentifierScheme.ZENODO,
        IdentifierScheme.HEPDATA,
        IdentifierScheme.OAI,
        IdentifierScheme.HANDLE,
    }
)
PAPER_SCHEMES = frozenset({IdentifierScheme.INSPIRE, IdentifierScheme.ARXIV, IdentifierScheme.DOI})
# The schemes again as plain constants and a tuple: `match_keys` runs for every mapped record, and in Python 3.11 an
# `IdentifierScheme.X` look-up goes through the enum's class-attribute descriptor and an enum's hash is a Python call
# (a tuple compares members by identity first).
_DOI = IdentifierScheme.DOI
_CONCEPT_DOI = IdentifierScheme.CONCEPT_DOI
_GITLAB_PATH = IdentifierScheme.GITLAB_PATH
_PORTAL_ID_SCHEMES = tuple(PORTAL_ID_SCHEMES)
_PAPER_SCHEMES = tuple(PAPER_SCHEMES)
PAPER_DATA_KINDS = frozenset({"hepdata"})
"""Source kinds whose records are the data of the paper they supplement."""

MatchKey = tuple[str, Role]


def match_keys(record: Record) -> list[MatchKey]:
    """The record's match keys with its role for each, without repeats, in a stable order."""
    keys: dict[str, Role] = {}
    role: Role
    # (a record that is both the concept and a version of it, a DOI listed both ways, keeps the identity role)
    for identifier in record.identifiers:
        scheme = identifier.scheme
        if scheme == _DOI:
            key, role = f"doi:{identifier.value.lower()}", "id"
        elif scheme == _CONCEPT_DOI:
            key, role = f"doi:{identifier.value.lower()}", "version"
        elif scheme in _PORTAL_ID_SCHEMES:
            key, role = f"pid:{scheme}:{identifier.value}", "id"
        elif scheme == _GITLAB_PATH:
            key, role = f"gitlab:{identifier.value.lower()}", "id"
        else:
            continue
        if keys.get(key) != "id":
            keys[key] = role
    for target in record.is_version_of:
        version_key = _version_key(target)
        if version_key is not None and keys.get(version_key) != "id":
            keys[version_key] = "version"
    if record.is_supplement_to:
        paper_role: Role = "paper-data" if record.provenance.source_kind in PAPER_DATA_KINDS else "paper-cites"
        for paper in _papers(record.is_supplement_to):
            if keys.get(paper) != "id":
                keys[paper] = paper_role
    return list(keys.items())


def link_rule(key: str, first: Role, second: Role, same_source: bool) -> Rule | None:
    """The rule that links two records sharing `key` with these roles, or None when sharing it proves nothing."""
    namespace = key.partition(":")[0]
    if namespace == "doi":
        if first == second == "id":
            return "same-doi"
        return "version-of"
    if namespace == "pid":
        return "same-portal-id"
    if namespace == "gitlab":
        return None if first == second == "id" else "version-of"
    if namespace == "paper" and not same_source and "paper-data" in (first, second):
        return "same-paper"
    return None


def stronger(first: Rule, second: Rule) -> bool:
    """Whether `first` names a link before `second` does (see `RULES`)."""
    return RULES.index(first) < RULES.index(second)


def _version_key(target: Identifier) -> str | None:
    scheme = target.scheme
    if scheme in (_DOI, _CONCEPT_DOI):
        return f"doi:{target.value.lower()}"
    if scheme == _GITLAB_PATH:
        return f"gitlab:{target.value.lower()}"
    return None


def _papers(targets: Iterable[Identifier]) -> Iterable[str]:
    for target in targets:
        scheme = target.scheme
        if scheme in _PAPER_SCHEMES:
            value = target.value.lower() if scheme == _DOI else target.value
            yield f"paper:{scheme}:{value}"
