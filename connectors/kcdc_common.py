"""What both KCDC mappings (the OAI-PMH prototype and the data-shop page) know of KCDC itself.

A preselection is named `<DataShop>[_<sample>]_runs_<first>-<last>[_<format>]` (`KASCADE_ReducedData_runs_4685-7417`,
`COMBINED-LOPES_runs_5534-6821_ROOT`): the DataShop says which detectors' quantities it carries, the run range which
part of the data taking. KCDC publishes under its own End User Licence Agreement, and its draft DataCite records name
the subject "Cosmic rays & astroparticles" with its PhySH concept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from connectors.base import MappingError
from ontology.model import Agent, Availability, Concept, Distribution, Identifier, IdentifierScheme
from ontology.vocabulary import concept, concepts, lookup

PORTAL = "https://kcdc.iap.kit.edu"
EULA_URL = f"{PORTAL}/static/pdf/kcdc_mainpage/EULA.pdf"
EULA_LABEL = "KCDC End User Licence Agreement (EULA)"
REPOSITORY_DOI = "10.17616/R3TS4P"
"""KCDC's own DOI, as a repository registered at re3data (the portal has no per-dataset DOIs)."""
REPOSITORY_DOI_PREFIX = "10.17616/"
"""re3data's DOI prefix: a DOI under it names a repository (KCDC is 10.17616/R3TS4P), never one of its datasets."""
PUBLISHER = "KASCADE Cosmic Ray Data Centre (KCDC)"
CREATOR = "Institute for Astroparticle Physics, Karlsruhe Institute of Technology"
PHYSH_SUBJECTS = {
    # from KCDC's own DataCite 4.4 drafts (subjectScheme PhySH, valueURI): the only subject KCDC uses
    "cosmic rays & astroparticles": "https://physh.org/concepts/678197d1-8bf1-4c16-86cc-8133fba03b86",
}
EVENT_DATA = "event data"

_SET_NAME = re.compile(
    r"^(?P<shop>[A-Za-z]+(?:-[A-Za-z]+)?)(?:_(?P<sample>.+?))?_runs_(?P<first>\d+)-(?P<last>\d+)"
    r"(?:_(?P<format>ASCII|HDF5|ROOT|x+))?$"
)
# Which experiments a DataShop's quantities come from. COMBINED is the joint KASCADE + Grande reconstruction of
# KASCADE-Grande; the CALORIMETER is KASCADE's central hadron calorimeter.
_SHOP_EXPERIMENTS = {
    "KASCADE": ("KASCADE",),
    "KASCADE-GRANDE": ("KASCADE-Grande",),
    "KASCADE-CALOR": ("KASCADE",),
    "KASCADE-LOPES": ("KASCADE", "LOPES"),
    "COMBINED": ("KASCADE-Grande",),
    "COMBINED-LOPES": ("KASCADE-Grande", "LOPES"),
}
_TABLE_EXPERIMENTS = {
    "KASCADE": "KASCADE",
    "GRANDE": "KASCADE-Grande",
    "COMBINED": "KASCADE-Grande",
    "CALORIMETER": "KASCADE",
    "LOPES": "LOPES",
}
FORMAT_MEDIA_TYPES = {"HDF5": "application/x-hdf5", "ROOT": "application/x-root", "ASCII": "text/plain"}
_EXTENSION_FORMATS = {"h5": "HDF5", "hdf5": "HDF5", "root": "ROOT", "txt": "ASCII", "dat": "ASCII", "csv": "ASCII"}


@dataclass(frozen=True)
class SetName:
    shop: str
    sample: str | None
    first_run: int
    last_run: int
    format: str | None


def parse_set_name(name: str) -> SetName | None:
    """The parts of a preselection name, or None for a name outside KCDC's scheme."""
    match = _SET_NAME.match(name.strip())
    if match is None:
        return None
    fmt = match.group("format")
    return SetName(
        shop=match.group("shop").upper(),
        sample=match.group("sample"),
        first_run=int(match.group("first")),
        last_run=int(match.group("last")),
        format=None if fmt is None or fmt.startswith("x") else fmt,
    )


def experiments(name: SetName | None, table_groups: Sequence[str] = ()) -> list[Concept]:
    """The experiments of a preselection: from its DataShop and from the detector tables it carries."""
    raws: list[str] = []
    if name is not None:
        raws += _SHOP_EXPERIMENTS.get(name.shop, (name.shop,))
    raws += [_TABLE_EXPERIMENTS[group.upper()] for group in table_groups if group.upper() in _TABLE_EXPERIMENTS]
    return concepts("experiment", raws)


def subject(raw: str) -> Concept:
    label = " ".join(raw.split())
    return Concept(uri=PHYSH_SUBJECTS.get(label.lower()), label=label, raw=raw)


def event_data(raw: str) -> Concept:
    """KCDC's resource type ("Reconstructed events") as the event-data category."""
    known = lookup("resource-category", EVENT_DATA)
    if known is None:  # the vocabulary always has it; stay total should it ever be renamed
        return concept("resource-category", raw)
    return Concept(uri=known.uri, label=known.label, raw=raw)


def eula(raw: str | None = None) -> Concept:
    return Concept(uri=EULA_URL, label=EULA_LABEL, raw=raw or EULA_URL)


def organisation(name: str) -> Agent:
    return Agent(name=" ".join(name.split()), kind="organization")


def repository_doi(value: str, field_name: str) -> Identifier:
    try:
        return Identifier(scheme=IdentifierScheme.DOI, value=value)
    except ValueError as error:
        raise MappingError(field_name, f"{value!r} is not a DOI: {error}") from None


def file_format(file_name: str) -> str | None:
    return _EXTENSION_FORMATS.get(file_name.rsplit(".", 1)[-1].lower()) if "." in file_name else None


def archive(name: str, url: str, size: int | None, fmt: str | None, description: str | None = None) -> Distribution:
    """A preselection's ZIP: the one download KCDC offers per set and format."""
    return Distribution(
        name=url.rsplit("/", 1)[-1] or f"{name}.zip",
        url=url,
        size_bytes=size,
        media_type="application/zip",
        format=fmt,
        description=description,
        role="data",
        availability=Availability.ONLINE,
    )
