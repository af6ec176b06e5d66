"""The canonical model: one `Record` is one dataset release as its source publishes it.

Every connector maps its source's payload into these classes; every view (DCAT-AP RDF, DataCite, schema.org,
the search index) is generated from them. Field names follow DESIGN.md §4. Rules that hold everywhere:

* physical values carry their unit (`Quantity`, `EnergyRange`), never a bare float in an implied unit;
* controlled values are `Concept`s: the vocabulary URI once mapped, always with the source's raw string beside it;
* dates are ISO 8601 at the precision the source gives (`2011`, `2011-05`, `2011-05-17`, or a timestamp).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import quote, unquote

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticUndefined

MODEL_VERSION = "1.0"
"""Version of this model's shape; stored with every record so old rows can be migrated or re-mapped."""

RECORD_ID_BASE = "https://w3id.org/dmlake/record/"
"""Records are named by a stable URI built from their source and native id, independent of where dmlake runs."""

_PARTIAL_DATE = re.compile(
    r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])"
    r"(T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)?)?)?)?$"
)


def _check_partial_date(value: str) -> str:
    if not _PARTIAL_DATE.match(value):
        raise ValueError(f"{value!r} is not an ISO 8601 date (YYYY, YYYY-MM, YYYY-MM-DD or a timestamp)")
    return value


PartialDate = Annotated[str, AfterValidator(_check_partial_date)]
"""An ISO 8601 date at the precision the source gives: a year, a month, a day or a timestamp."""


def record_id(source: str, native_id: str) -> str:
    """The stable URI of a record: its source name and its native id, percent-encoded."""
    return f"{RECORD_ID_BASE}{quote(source, safe='')}/{quote(native_id, safe='')}"


def split_record_id(value: str) -> tuple[str, str]:
    """Inverse of `record_id`; also accepts the short form `SOURCE/NATIVE_ID` that people type."""
    rest = value.removeprefix(RECORD_ID_BASE)
    source, sep, native = rest.partition("/")
    if not sep or not source or not native:
        raise ValueError(f"{value!r} is not a record id: expected {RECORD_ID_BASE}SOURCE/NATIVE_ID or SOURCE/NATIVE_ID")
    return unquote(source), unquote(native)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=False)


class IdentifierScheme(StrEnum):
    DOI = "doi"
    CONCEPT_DOI = "concept-doi"
    INSPIRE = "inspire"
    ARXIV = "arxiv"
    HEPDATA = "hepdata"
    CERN_RECID = "cern-recid"
    ZENODO = "zenodo"
    GITLAB_PATH = "gitlab-path"
    HANDLE = "handle"
    CDS = "cds"
    OAI = "oai"
    URL = "url"
    ISBN = "isbn"
    OTHER = "other"


# Compiled once, and the schemes as plain constants: the validators run for every identifier of every record, and
# in Python 3.11 each `IdentifierScheme.X` lookup goes through the enum's class-attribute descriptor.
_DOI_SCHEMES = frozenset((IdentifierScheme.DOI, IdentifierScheme.CONCEPT_DOI))
_ARXIV = IdentifierScheme.ARXIV
_INSPIRE = IdentifierScheme.INSPIRE
_DOI_PREFIX = re.compile(r"^(https?://(dx\.)?doi\.org/|doi:)", re.IGNORECASE)
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_ARXIV_PREFIX = re.compile(r"^(arxiv:|https?://arxiv\.org/abs/)", re.IGNORECASE)
_INSPIRE_PREFIX = re.compile(r"^ins", re.IGNORECASE)
_ORCID_PREFIX = re.compile(r"^https?://orcid\.org/")
_ORCID = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
_HEX = re.compile(r"[0-9a-f]+")


_URL = IdentifierScheme.URL
_HEPDATA = IdentifierScheme.HEPDATA
_RESOLVERS = {
    IdentifierScheme.DOI: "https://doi.org/",
    IdentifierScheme.CONCEPT_DOI: "https://doi.org/",
    IdentifierScheme.INSPIRE: "https://inspirehep.net/literature/",
    IdentifierScheme.ARXIV: "https://arxiv.org/abs/",
    IdentifierScheme.CERN_RECID: "https://opendata.cern.ch/record/",
    IdentifierScheme.ZENODO: "https://zenodo.org/records/",
    IdentifierScheme.HANDLE: "https://hdl.handle.net/",
    IdentifierScheme.CDS: "https://cds.cern.ch/record/",
}


class Identifier(_Model):
    """An identifier of the release (or, inside relations, of something it points to)."""

    scheme: IdentifierScheme
    value: str = Field(min_length=1)

    @field_validator("value")
    @classmethod
    def _normalise(cls, value: str, info: Any) -> str:
        value = value.strip()
        scheme = info.data.get("scheme")
        if scheme in _DOI_SCHEMES:
            value = _DOI_PREFIX.sub("", value)
            if not _DOI.match(value):
                raise ValueError(f"{value!r} is not a DOI (10.<prefix>/<suffix>)")
        elif scheme == _ARXIV:
            value = _ARXIV_PREFIX.sub("", value)
        elif scheme == _INSPIRE:
            value = _INSPIRE_PREFIX.sub("", value)
            if not value.isdigit():
                raise ValueError(f"{value!r} is not an INSPIRE record number")
        return value

    def key(self) -> str:
        """A comparison key: DOIs are case-insensitive, so they compare lower-cased."""
        if self.scheme in _DOI_SCHEMES:
            return f"{self.scheme}:{self.value.lower()}"
        return f"{self.scheme}:{self.value}"

    def uri(self) -> str | None:
        """A resolvable URI for this identifier, where the scheme has one."""
        if self.scheme == _URL:
            return self.value
        if self.scheme == _HEPDATA:
            return f"https://www.hepdata.net/record/{self.value}"
        prefix = _RESOLVERS.get(self.scheme)
        return prefix + self.value if prefix else None


class Concept(_Model):
    """A controlled-vocabulary value: the concept's URI once mapped, and always the source's own string."""

    uri: str | None = None
    label: str = Field(min_length=1)
    raw: str

    @property
    def mapped(self) -> bool:
        return self.uri is not None


class Quantity(_Model):
    """A value with its unit (UCUM-style code: `GeV`, `TeV`, `kg.d`, `d`, `s`, `kg`)."""

    value: float
    unit: str = Field(min_length=1)
    raw: str | None = None


class EnergyRange(_Model):
    """An energy interval; either bound may be open. The unit applies to both bounds."""

    min: float | None = None
    max: float | None = None
    unit: str = Field(min_length=1)
    raw: str | None = None

    @field_validator("max")
    @classmethod
    def _ordered(cls, value: float | None, info: Any) -> float | None:
        low = info.data.get("min")
        if value is not None and low is not None and value < low:
            raise ValueError(f"energy range max {value} is below min {low}")
        return value


class SelectedQuantity(_Model):
    """One quantity of a data selection (a KCDC-style preselection): what it is, the range the release covers, and
    whether the release was cut to that range or keeps the quantity's full range.

    `min`/`max` are numbers in `unit` (a UCUM-style code as the source writes it: `eV`, `m`, `deg`, `hPa`) when the
    range is numeric; a range that is not (dates, `65 or 71`) keeps only `raw`.
    """

    quantity: str = Field(min_length=1)
    description: str | None = None
    group: str | None = None
    """The table the quantity belongs to (a detector component: `KASCADE`, `GRANDE`, `general`)."""
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    cut: str | None = None
    """The source's cut column as written: `full range`, `cut`, or a sampling such as `1/40th`."""
    applied: bool = False
    """True when the release keeps only part of the quantity's domain (a cut or a sampling), not its full range."""
    raw: str


class Affiliation(_Model):
    name: str = Field(min_length=1)
    ror: str | None = None


class Agent(_Model):
    """A creator, contributor or publisher: a person or an organisation."""

    name: str = Field(min_length=1)
    kind: Literal["person", "organization"] = "person"
    given_name: str | None = None
    family_name: str | None = None
    orcid: str | None = None
    ror: str | None = None
    affiliations: list[Affiliation] = Field(default_factory=list)

    @field_validator("orcid")
    @classmethod
    def _orcid(cls, value: str | None) -> str | None:
        if value is None:
            return None
        bare = _ORCID_PREFIX.sub("", value.strip())
        if not _ORCID.match(bare):
            raise ValueError(f"{value!r} is not an ORCID iD (0000-0000-0000-0000)")
        return bare


class Collision(_Model):
    """Colliding beams and the centre-of-mass energy √s."""

    type: Concept | None = None
    sqrt_s: Quantity | None = None


class TemporalCoverage(_Model):
    """When the data were taken."""

    start: PartialDate | None = None
    end: PartialDate | None = None


class Availability(StrEnum):
    ONLINE = "online"
    ON_TAPE = "on-tape"
    ON_REQUEST = "on-request"
    REQUESTED = "requested"
    REPLICATING = "replicating"
    UNKNOWN = "unknown"


_CHECKSUM_ALGORITHMS = ("adler32", "md5", "sha1", "sha256", "sha512")


class Checksum(_Model):
    algorithm: Literal["adler32", "md5", "sha1", "sha256", "sha512"]
    value: str

    @field_validator("value")
    @classmethod
    def _hex(cls, value: str) -> str:
        value = value.strip().lower()
        if not _HEX.fullmatch(value):
            raise ValueError(f"checksum value {value!r} is not hexadecimal")
        return value

    @classmethod
    def parse(cls, text: str, default_algorithm: str | None = None) -> Checksum:
        """Parse `algorithm:value` (as CERN and InvenioRDM write it), or a bare value with a known algorithm."""
        algorithm, sep, value = text.partition(":")
        if not sep:
            if default_algorithm is None:
                raise ValueError(f"checksum {text!r} names no algorithm")
            algorithm, value = default_algorithm, text
        algorithm = algorithm.strip().lower()
        if algorithm not in _CHECKSUM_ALGORITHMS:
            raise ValueError(f"checksum algorithm {algorithm!r} is not one of {', '.join(_CHECKSUM_ALGORITHMS)}")
        return cls(algorithm=algorithm, value=value)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value}"


class Replica(_Model):
    """A copy of a file at a site, as replication knows it."""

    site: str
    state: str
    url: str | None = None
    checksum_verified: bool = False
    """Replication compared this copy's checksum with the file's and they matched (a copy not yet checked may still
    be incomplete or corrupt)."""


class Distribution(_Model):
    """One file (or one downloadable resource) of the release."""

    name: str = Field(min_length=1)
    url: str | None = None
    access_url: str | None = None
    size_bytes: int | None = Field(default=None, ge=0)
    checksum: Checksum | None = None
    media_type: str | None = None
    format: str | None = None
    description: str | None = None
    role: Literal["data", "index", "documentation", "software", "table", "auxiliary"] = "data"
    categories: list[Concept] = Field(default_factory=list)
    """What this file holds (event data, background model, detector response…), where the source says so per file:
    concepts of the resource-category vocabulary. The record's `resource_categories` is what the release as a whole
    holds."""
    availability: Availability = Availability.UNKNOWN
    replicas: list[Replica] = Field(default_factory=list)
    identifiers: list[Identifier] = Field(default_factory=list)


class Provenance(_Model):
    """Where a record came from and how it was made. Run-specific parts are excluded from the content hash."""

    source: str
    source_kind: str
    source_url: str | None = None
    harvest_run: int | None = None
    retrieved_at: datetime | None = None
    raw_sha256: str
    mapping_version: str


class Record(_Model):
    """One dataset release as its source publishes it."""

    # identity
    id: str
    source: str = Field(min_length=1)
    native_id: str = Field(min_length=1)
    identifiers: list[Identifier] = Field(default_factory=list)
    version: str | None = None
    is_version_of: list[Identifier] = Field(default_factory=list)
    landing_page: str | None = None

    # description
    title: str = Field(min_length=1)
    description: str | None = None
    resource_type: Concept | None = None
    creators: list[Agent] = Field(default_factory=list)
    contributors: list[Agent] = Field(default_factory=list)
    collaboration: list[Concept] = Field(default_factory=list)
    experiments: list[Concept] = Field(default_factory=list)
    accelerator: Concept | None = None
    publisher: Agent | None = None
    keywords: list[str] = Field(default_factory=list)
    subjects: list[Concept] = Field(default_factory=list)
    license: Concept | None = None
    access_rights: Literal["open", "embargoed", "restricted", "closed"] | None = None
    language: str | None = None

    # dates
    issued: PartialDate | None = None
    modified: PartialDate | None = None
    created: PartialDate | None = None
    temporal_coverage: TemporalCoverage | None = None

    # physics
    messengers: list[Concept] = Field(default_factory=list)
    detection_technique: list[Concept] = Field(default_factory=list)
    data_level: Concept | None = None
    resource_categories: list[Concept] = Field(default_factory=list)
    collision: Collision | None = None
    energy_range: EnergyRange | None = None
    targets: list[Concept] = Field(default_factory=list)
    exposure: Quantity | None = None
    live_time: Quantity | None = None
    observables: list[Concept] = Field(default_factory=list)
    reactions: list[str] = Field(default_factory=list)
    number_of_events: int | None = Field(default=None, ge=0)
    sky_coverage: str | None = None
    selection: list[SelectedQuantity] = Field(default_factory=list)
    """The quantities a data selection carries, with their ranges and cuts (KCDC-style preselections)."""

    # files
    distributions: list[Distribution] = Field(default_factory=list)
    size_bytes: int | None = Field(default=None, ge=0)
    formats: list[str] = Field(default_factory=list)

    # relations
    is_part_of: list[Identifier] = Field(default_factory=list)
    has_part: list[Identifier] = Field(default_factory=list)
    is_supplement_to: list[Identifier] = Field(default_factory=list)
    references: list[Identifier] = Field(default_factory=list)
    is_new_version_of: list[Identifier] = Field(default_factory=list)
    related_links: list[str] = Field(default_factory=list)

    # provenance
    provenance: Provenance

    @field_validator("id")
    @classmethod
    def _id_is_uri(cls, value: str) -> str:
        if not value.startswith(RECORD_ID_BASE):
            raise ValueError(f"record id {value!r} must be built with ontology.record_id()")
        return value

    def identifier(self, scheme: IdentifierScheme) -> str | None:
        """The first identifier of a scheme, if the record has one."""
        return next((i.value for i in self.identifiers if i.scheme == scheme), None)

    @property
    def doi(self) -> str | None:
        return self.identifier(IdentifierScheme.DOI)

    def content_dict(self) -> dict[str, Any]:
        """The record without how-it-was-fetched provenance: equal content ⇔ equal dict (the content hash's input).

        A payload whose bytes change without changing the record (a download counter, say) or a new mapping
        version that maps to the same record is therefore not a change of the record.
        """
        data = self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        provenance = data.get("provenance", {})
        for key in RUN_PROVENANCE:
            provenance.pop(key, None)
        return data


RUN_PROVENANCE = ("harvest_run", "retrieved_at", "raw_sha256", "mapping_version")
"""The provenance fields that say how a record was fetched, not what it says: left out of `Record.content_dict`."""


def content_from_json(dumped: bytes | str) -> dict[str, Any]:
    """`Record.content_dict()` of the record whose `model_dump_json(exclude_none=True)` is `dumped`.

    The harvest serialises every record to store it; reading that JSON back and dropping the default values costs
    about half of serialising the record a second time with `exclude_defaults` (pydantic's dump to Python objects is
    slower than its dump to JSON). Equal to `content_dict()` for every record: JSON numbers and strings read back as
    the values they were written from, and a value equals its field's default exactly when its JSON does (the
    defaults are strings, booleans, an enum's string and empty lists; `_DefaultsPlan` refuses any other kind).
    One exception, where there was no hash before: an integer beyond 64 bits (a file size of 2⁶⁴ bytes or more),
    which orjson cannot write, so `content_dict()` cannot be hashed, reads back here as a float.
    """
    data: dict[str, Any] = orjson.loads(dumped)
    _RECORD_DEFAULTS.strip(data)
    provenance = data.get("provenance", {})
    for key in RUN_PROVENANCE:
        provenance.pop(key, None)
    return data


class _DefaultsPlan:
    """Where a model's JSON (as `exclude_none` dumps it) holds values equal to their field's default, read once from
    the model's fields: the defaults of its own fields, and the nested models (single or in lists) that hold some."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.defaults: list[tuple[str, Any]] = []
        self.nested: list[tuple[str, bool, _DefaultsPlan]] = []
        for name, field in model.model_fields.items():
            default = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
            if default is not None and default is not PydanticUndefined:
                self.defaults.append((name, _json_default(model, name, default)))
            nested = _nested_model(model, name, field.annotation)
            if nested is not None:
                plan = _DefaultsPlan(nested[0])
                if plan.defaults or plan.nested:  # a model without defaults anywhere inside is not walked
                    self.nested.append((name, nested[1], plan))

    def strip(self, data: dict[str, Any]) -> None:
        """Remove, in place, every value of `data` (and of the models inside) equal to its field's default."""
        for name, default in self.defaults:
            if name in data and data[name] == default:
                del data[name]
        for name, is_list, plan in self.nested:
            value = data.get(name)
            if value is None:
                continue
            if is_list:
                for item in value:
                    plan.strip(item)
            else:
                plan.strip(value)


def _json_default(model: type[BaseModel], name: str, default: Any) -> Any:
    """A field's default as its JSON reads back (an enum member is its string)."""
    if isinstance(default, StrEnum):
        return default.value
    if isinstance(default, str | bool | int | float) or default == []:
        return default
    raise TypeError(f"{model.__name__}.{name}: content_from_json cannot compare a default of {default!r} with JSON")


def _nested_model(model: type[BaseModel], name: str, annotation: Any) -> tuple[type[BaseModel], bool] | None:
    """The model a field holds and whether in a list (`M`, `M | None`, `list[M]`), or None when it holds none."""
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if origin is list and len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0], True
    if origin in (Union, UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _nested_model(model, name, options[0])
    if any(_holds_model(a) for a in args):
        raise TypeError(f"{model.__name__}.{name}: content_from_json does not know how to walk {annotation!r}")
    return None


def _holds_model(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_model(a) for a in get_args(annotation))


_RECORD_DEFAULTS = _DefaultsPlan(Record)
