"""A GitLab dataset project (DMDC style) → the canonical model. A pure function of the payload bytes.

The payload is the *project bundle* the connector assembles (`connectors.gitlab`), one JSON object per version:

* `project`, `group` (the project's namespace: the collaboration's subgroup), `root_group`: as GitLab API v4 sent them
* `ref`: `{"kind": "tag"|"branch", "name": …, "commit": …}`: what the version is (a tag, or the default branch of a
  project that has no tag yet)
* `tag`, `release`: the tag and its release (either may be null); `versions`: every tag name, oldest first
* `tree`: the repository's files at the ref: `{"path", "id" (blob id), "size", "sha256", "lfs": {"oid", "size"}|null}`
  (for a Git LFS file, `size`/`sha256` are the pointer's and `lfs` holds the real object's)
* `documents`: the text of the descriptor (`descriptor_name`, default `dmdc.json`) and of `CITATION.cff`,
  `codemeta.json`, `.zenodo.json` where the project has them
* `api_url`: the API root the bundle came from (file download URLs are built on it)

Precedence: the DMDC descriptor, then the citation files (CITATION.cff, codemeta.json, .zenodo.json), then the
GitLab project itself (name, description, topics). A descriptor that fails its schema quarantines the record with
the JSON path of the first error; a project without any descriptor is still a record (from the other sources).

Errors name where the value is, as the bundle has it: a path of the bundle (`project.topics`, `tree[3].sha256`,
`release.assets.links[0].name`, `documents['dmdc.json']`), or, for a value read from one of the project's files,
`<file>:<JSON path>` (`dmdc.json:$.resources[2].category`, `CITATION.cff:$.date-released`). A value that is absent
where one is needed says "missing". What GitLab's API leaves optional is passed over when it is not of the expected
type (the group, root group, tag, release, release assets, a file's LFS pointer, a topic or tag name) or is blank (the
group's web_url, the root group's name, a release archive's URL); a list of the wrong type, whose entries the record
would silently lack (topics, tag names, release links and archives), is an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import orjson
from pydantic import TypeAdapter, ValidationError

from connectors.base import MappingError, RawRecord
from connectors.dmdc_descriptor import DEFAULT_DESCRIPTOR, Descriptor, parse_descriptor
from connectors.gitlab_metadata_files import READERS, Author, Described
from ontology import (
    Agent,
    Availability,
    Checksum,
    Concept,
    Distribution,
    EnergyRange,
    Identifier,
    IdentifierScheme,
    Provenance,
    Quantity,
    Record,
    TemporalCoverage,
    record_id,
)
from ontology.model import Affiliation, PartialDate
from ontology.units import unit as unit_of
from ontology.vocabulary import concept, concepts, experiment_physics, license_concept

MAPPING_VERSION = "gitlab-1"
BUNDLE_FORMAT = "dmlake-gitlab-project/1"
BUNDLE_MEDIA_TYPE = "application/vnd.dmlake.gitlab-project+json"

# Files of the repository that are git plumbing, not part of the dataset.
_PLUMBING = frozenset((".gitattributes", ".gitignore", ".gitlab-ci.yml", ".gitkeep", ".mailmap"))
_FILE_TYPES = {
    # extension → (format label, media type)
    "csv": ("CSV", "text/csv"),
    "tsv": ("TSV", "text/tab-separated-values"),
    "txt": ("TXT", "text/plain"),
    "json": ("JSON", "application/json"),
    "md": ("Markdown", "text/markdown"),
    "pdf": ("PDF", "application/pdf"),
    "root": ("ROOT", "application/octet-stream"),
    "h5": ("HDF5", "application/x-hdf5"),
    "hdf5": ("HDF5", "application/x-hdf5"),
    "npz": ("NPZ", "application/octet-stream"),
    "ipynb": ("Jupyter notebook", "application/x-ipynb+json"),
    "py": ("Python", "text/x-python"),
    "cff": ("CFF", "application/yaml"),
    "yaml": ("YAML", "application/yaml"),
    "yml": ("YAML", "application/yaml"),
    "zip": ("ZIP", "application/zip"),
    "gz": ("GZIP", "application/gzip"),
    "tar": ("TAR", "application/x-tar"),
    "bz2": ("BZIP2", "application/x-bzip2"),
}
_SOFTWARE = frozenset(("py", "ipynb", "c", "cc", "cpp", "h", "jl", "r", "sh"))
_DOCUMENTATION = re.compile(r"^(readme|license|licence|copying|changelog|notice)(\.|$)", re.IGNORECASE)
_LINK_ROLES = {"runbook": "documentation", "image": "data", "package": "data", "other": "data"}
_MARKDOWN_NOISE = re.compile(r"!\[[^\]]*\]\([^)]*\)")  # badges and images carry no description
_SCALE_SUFFIX = {"electron-equivalent": "ee", "nuclear-recoil": "nr"}
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_ISO_DATE: TypeAdapter[str] = TypeAdapter(PartialDate)
"""The model's own test of a date, so a date refused here is exactly one the record would refuse."""


def native_id(path_with_namespace: str, tag: str | None) -> str:
    """The dmlake native id of one version: `group/sub/project@tag`, or the bare path for an untagged project."""
    return f"{path_with_namespace}@{tag}" if tag else path_with_namespace


def map_bundle(raw: RawRecord, source: str, provenance: Provenance) -> Record:
    """Map one project version. Raises `MappingError(field, message)`."""
    try:
        bundle = orjson.loads(raw.payload)
    except orjson.JSONDecodeError as error:
        raise MappingError("payload", f"not JSON ({error}); expected a dmlake GitLab project bundle") from error
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise MappingError("payload", f"not a {BUNDLE_FORMAT} bundle")
    try:
        return _Mapper(bundle, raw, source, provenance).record()
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "record"
        raise MappingError(where, f"{first.get('msg')} (value {first.get('input')!r})") from error


def _object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        raise MappingError(name, "missing: expected a JSON object")
    if not isinstance(value, dict):
        raise MappingError(name, f"expected a JSON object, got {type(value).__name__}")
    return value


def _string(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if value is None:
        raise MappingError(f"{where}.{key}", "missing: expected a non-empty string")
    if not isinstance(value, str):
        raise MappingError(f"{where}.{key}", f"expected text, got {type(value).__name__}")
    if not value.strip():
        raise MappingError(f"{where}.{key}", f"expected a non-empty string, got {value!r}")
    return value.strip()


def _list(value: Any, name: str, what: str) -> list[Any]:
    """A JSON array of the bundle; absent or null is empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(name, f"expected a list of {what}, got {type(value).__name__}")
    return value


def _setting(bundle: dict[str, Any], key: str) -> str | None:
    """A string the connector writes into the bundle (`descriptor_name`, `api_url`); absent is None."""
    value = bundle.get(key)
    if value is not None and not isinstance(value, str):
        raise MappingError(key, f"expected text, got {type(value).__name__}")
    return value


def _nonblank(value: Any) -> str | None:
    """Text with something in it, else None (for optional names and URLs: blank is as good as absent)."""
    return value if isinstance(value, str) and value.strip() else None


def _date(value: Any) -> str | None:
    """A GitLab timestamp (`2019-01-03T01:56:19.539Z`) as an ISO 8601 value the model accepts."""
    if not isinstance(value, str) or not value:
        return None
    return value.replace(" ", "T")


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        text = value.strip()
        if text and text.lower() not in {k.lower() for k in seen}:
            seen[text] = None
    return list(seen)


class _Mapper:
    def __init__(self, bundle: dict[str, Any], raw: RawRecord, source: str, provenance: Provenance) -> None:
        self.bundle = bundle
        self.raw = raw
        self.source = source
        self.provenance = provenance
        self.project = _object(bundle.get("project"), "project")
        self.path = _string(self.project, "path_with_namespace", "project")
        self.web_url = _string(self.project, "web_url", "project").rstrip("/")
        self.group = bundle.get("group") if isinstance(bundle.get("group"), dict) else None
        self.root = bundle.get("root_group") if isinstance(bundle.get("root_group"), dict) else None
        ref = _object(bundle.get("ref"), "ref")
        self.ref_kind = ref.get("kind")
        if self.ref_kind is None:
            raise MappingError("ref.kind", "missing: expected 'tag' or 'branch'")
        if self.ref_kind not in ("tag", "branch"):
            raise MappingError("ref.kind", f"expected 'tag' or 'branch', got {self.ref_kind!r}")
        self.ref_name = ref.get("name") if isinstance(ref.get("name"), str) else None
        self.tag = self.ref_name if self.ref_kind == "tag" else None
        self.release = bundle.get("release") if isinstance(bundle.get("release"), dict) else None
        self.tag_data = bundle.get("tag") if isinstance(bundle.get("tag"), dict) else None
        self.where = f"project {self.path}" + (f" at {self.ref_kind} {self.ref_name}" if self.ref_name else "")
        documents = bundle.get("documents") or {}
        self.documents: dict[str, str] = _object(documents, "documents")
        for name, text in self.documents.items():
            if not isinstance(text, str):
                raise MappingError(f"documents[{name!r}]", f"expected the text of {name}, got {type(text).__name__}")
        self.descriptor_name = _setting(bundle, "descriptor_name") or DEFAULT_DESCRIPTOR
        self.api_url = (_setting(bundle, "api_url") or "").rstrip("/")

    # -- the record ---------------------------------------------------------------------------------------------
    def record(self) -> Record:
        expected = native_id(self.path, self.tag)
        if self.raw.native_id != expected:
            raise MappingError(
                self._disagreeing_field(), f"the bundle is {expected} but was fetched as {self.raw.native_id}"
            )
        descriptor = self._descriptor()
        files = [self._read_file(name) for name in READERS if name in self.documents]
        distributions = self._distributions(descriptor)
        title = self._first("title", descriptor, files) or _string(self.project, "name", "project")
        collaboration_name = descriptor.collaboration if descriptor else self._group_name()
        experiment_name = (descriptor.experiment or descriptor.collaboration) if descriptor else collaboration_name
        collaboration = concepts("experiment", [collaboration_name]) if collaboration_name else []
        experiments = concepts("experiment", [experiment_name]) if experiment_name else []
        physics = experiment_physics(experiments or collaboration)
        targets = concepts("target", list(descriptor.target_material)) if descriptor else physics.targets
        techniques = concepts("technique", list(descriptor.detector_technology)) if descriptor else physics.techniques
        categories = self._categories(descriptor)
        supplement, references = self._relations(descriptor, files)
        sizes = [d.size_bytes for d in distributions if d.size_bytes is not None]
        return Record(
            id=record_id(self.source, expected),
            source=self.source,
            native_id=expected,
            identifiers=self._identifiers(descriptor, files),
            version=self.tag or (descriptor.version if descriptor else self._first("version", None, files)),
            is_version_of=[Identifier(scheme=IdentifierScheme.GITLAB_PATH, value=self.path)] if self.tag else [],
            is_new_version_of=self._previous_version(),
            landing_page=self._landing_page(),
            title=title,
            description=self._description(descriptor, files),
            resource_type=Concept(uri="http://purl.org/dc/dcmitype/Dataset", label="Dataset", raw="dataset"),
            creators=self._creators(descriptor, files, collaboration_name),
            contributors=[self._agent(p.name, p.kind, p.orcid, p.affiliation, p.ror) for p in descriptor.contacts]
            if descriptor
            else [],
            collaboration=collaboration,
            experiments=experiments,
            publisher=self._publisher(),
            keywords=self._keywords(descriptor, files),
            license=license_concept(lic) if (lic := self._first("license", descriptor, files)) else None,
            access_rights="open" if self.project.get("visibility") == "public" else "restricted",
            issued=self._issued(descriptor, files),
            modified=self._timestamp(self.project.get("last_activity_at"), "project.last_activity_at")
            if not self.tag
            else None,
            created=self._timestamp(self.project.get("created_at"), "project.created_at"),
            temporal_coverage=self._temporal(descriptor),
            messengers=physics.messengers,
            detection_technique=techniques,
            data_level=concept("data-level", str(descriptor.data_level))
            if descriptor and descriptor.data_level
            else None,
            resource_categories=categories,
            energy_range=self._energy(descriptor),
            targets=targets,
            exposure=self._exposure(descriptor),
            live_time=self._quantity(descriptor.live_time, "live_time")
            if descriptor and descriptor.live_time
            else None,
            distributions=distributions,
            size_bytes=sum(sizes) if sizes else None,
            formats=_unique(d.format for d in distributions if d.format),
            is_part_of=[Identifier(scheme=IdentifierScheme.URL, value=self.group["web_url"])]
            if self.group and _nonblank(self.group.get("web_url"))
            else [],
            is_supplement_to=supplement,
            references=references,
            related_links=[self.web_url],
            provenance=self.provenance,
        )

    def _fail(self, field_name: str, message: str) -> MappingError:
        """An error about this version's content: the message says which project and ref, as the others here do."""
        return MappingError(field_name, f"{self.where}: {message}")

    def _disagreeing_field(self) -> str:
        """Which value of the bundle disagrees with the native id the record was fetched as: the project's path, or
        (the path agreeing) what the bundle says the version is."""
        fetched_path = self.raw.native_id.split("@", 1)[0]
        if fetched_path != self.path:
            return "project.path_with_namespace"
        return "ref.name" if self.ref_kind == "tag" else "ref.kind"

    def _timestamp(self, value: Any, field_name: str) -> str | None:
        """A date of the bundle as an ISO 8601 value the model accepts (None if absent or not text, as before)."""
        stamp = _date(value)
        if stamp is None:
            return None
        return self._checked_date(stamp, field_name, value)

    def _checked_date(self, stamp: str, field_name: str, written: Any) -> str:
        try:
            return _ISO_DATE.validate_python(stamp)
        except ValidationError:
            raise self._fail(field_name, f"{written!r} is not an ISO 8601 date") from None

    # -- sources of description -------------------------------------------------------------------------------
    def _descriptor(self) -> Descriptor | None:
        text = self.documents.get(self.descriptor_name)
        if text is None:
            return None
        return parse_descriptor(text, self.where, self.descriptor_name)

    def _read_file(self, name: str) -> Described:
        try:
            return READERS[name](self.documents[name].encode())
        except MappingError as error:
            raise MappingError(error.field, f"{self.where}: {error.message}") from error

    def _first(self, name: str, descriptor: Descriptor | None, files: list[Described]) -> Any:
        return self._first_named(name, descriptor, files)[0]

    def _first_named(self, name: str, descriptor: Descriptor | None, files: list[Described]) -> tuple[Any, str]:
        """The first value of a field (the descriptor's, then the citation files') and `<file>:<JSON path>` of where
        it was read."""
        if descriptor is not None and getattr(descriptor, name, None):
            return getattr(descriptor, name), f"{self.descriptor_name}:$.{name}"
        for described in files:
            if getattr(described, name):
                return getattr(described, name), described.field_path(name)
        return None, ""

    def _group_name(self) -> str | None:
        if self.group and isinstance(self.group.get("name"), str):
            return str(self.group["name"])
        namespace = self.project.get("namespace")
        return _nonblank(namespace.get("name")) if isinstance(namespace, dict) else None

    def _description(self, descriptor: Descriptor | None, files: list[Described]) -> str | None:
        text = self._first("description", descriptor, files) or self.project.get("description")
        if not text and self.release and isinstance(self.release.get("description"), str):
            text = self.release["description"]
        if not isinstance(text, str):
            return None
        cleaned = _MARKDOWN_NOISE.sub("", text).strip()
        return cleaned or None

    def _creators(
        self, descriptor: Descriptor | None, files: list[Described], collaboration: str | None
    ) -> list[Agent]:
        if descriptor and descriptor.creators:
            return [self._agent(p.name, p.kind, p.orcid, p.affiliation, p.ror) for p in descriptor.creators]
        authors: list[Author] = next((f.authors for f in files if f.authors), [])
        if authors:
            return [
                Agent(
                    name=a.name,
                    kind="organization" if a.kind == "organization" else "person",
                    given_name=a.given_name,
                    family_name=a.family_name,
                    orcid=a.orcid,
                    affiliations=[Affiliation(name=a.affiliation)] if a.affiliation else [],
                )
                for a in authors
            ]
        if collaboration:
            return [Agent(name=f"{collaboration} Collaboration", kind="organization")]
        return []

    @staticmethod
    def _agent(name: str, kind: str, orcid: str | None, affiliation: str | None, ror: str | None) -> Agent:
        return Agent(
            name=name,
            kind="organization" if kind == "organization" else "person",
            orcid=orcid,
            ror=ror,
            affiliations=[Affiliation(name=affiliation)] if affiliation else [],
        )

    def _publisher(self) -> Agent | None:
        name = _nonblank(self.root.get("full_name") or self.root.get("name")) if self.root else None
        return Agent(name=name, kind="organization") if name else None

    def _keywords(self, descriptor: Descriptor | None, files: list[Described]) -> list[str]:
        # GitLab 14.5 renamed `tag_list` to `topics`; older answers have only the former
        topics = _list(self.project.get("topics"), "project.topics", "topics")
        if not topics:
            topics = _list(self.project.get("tag_list"), "project.tag_list", "topics")
        words = [t for t in topics if isinstance(t, str)]
        if descriptor:
            words += list(descriptor.keywords)
        for described in files:
            words += described.keywords
        return _unique(words)

    def _issued(self, descriptor: Descriptor | None, files: list[Described]) -> str | None:
        if self.release and (released := self._timestamp(self.release.get("released_at"), "release.released_at")):
            return released
        if self.tag_data:
            commit = self.tag_data.get("commit") if isinstance(self.tag_data.get("commit"), dict) else {}
            stamp = self._timestamp(self.tag_data.get("created_at"), "tag.created_at") or self._timestamp(
                commit.get("committed_date"), "tag.commit.committed_date"
            )
            if stamp:
                return stamp
        issued, where = self._first_named("issued", descriptor, files)
        return self._checked_date(str(issued), where, issued) if issued else None

    @staticmethod
    def _temporal(descriptor: Descriptor | None) -> TemporalCoverage | None:
        if descriptor is None or not descriptor.data_taking:
            return None
        return TemporalCoverage(start=descriptor.data_taking.get("start"), end=descriptor.data_taking.get("end"))

    # -- identity and versions --------------------------------------------------------------------------------
    def _identifiers(self, descriptor: Descriptor | None, files: list[Described]) -> list[Identifier]:
        identifiers = [Identifier(scheme=IdentifierScheme.GITLAB_PATH, value=native_id(self.path, self.tag))]
        doi, where = self._first_named("doi", descriptor, files)
        if isinstance(doi, str) and doi.strip():
            try:
                identifiers.append(Identifier(scheme=IdentifierScheme.DOI, value=doi))
            except ValidationError as error:
                raise self._fail(where, f"{doi!r} is not a DOI") from error
        identifiers.append(Identifier(scheme=IdentifierScheme.URL, value=self._landing_page()))
        return identifiers

    def _landing_page(self) -> str:
        if self.tag and self.release:
            return f"{self.web_url}/-/releases/{quote(self.tag, safe='')}"
        if self.tag:
            return f"{self.web_url}/-/tree/{quote(self.tag, safe='')}"
        return self.web_url

    def _previous_version(self) -> list[Identifier]:
        versions = [v for v in _list(self.bundle.get("versions"), "versions", "tag names") if isinstance(v, str)]
        if not self.tag or self.tag not in versions:
            return []
        position = versions.index(self.tag)
        if position == 0:
            return []
        return [Identifier(scheme=IdentifierScheme.GITLAB_PATH, value=native_id(self.path, versions[position - 1]))]

    def _relations(
        self, descriptor: Descriptor | None, files: list[Described]
    ) -> tuple[list[Identifier], list[Identifier]]:
        supplement: list[Identifier] = []
        references: list[Identifier] = []
        # (relation, scheme, value, where the value was read)
        pairs: list[tuple[str, str, str, str]] = []
        if descriptor:
            pairs += [
                (c.relation, c.type, c.value, f"{self.descriptor_name}:$.citable_resources[{number}].value")
                for number, c in enumerate(descriptor.citable_resources)
            ]
        for described in files:
            for relation, kind, works in (
                ("is-supplement-to", "supplement_to", described.supplement_to),
                ("references", "references", described.references),
            ):
                pairs += [
                    (relation, scheme, value, described.field_path(f"{kind}[{number}]"))
                    for number, (scheme, value) in enumerate(works)
                ]
        seen: set[str] = set()
        schemes = {
            "doi": IdentifierScheme.DOI,
            "arxiv": IdentifierScheme.ARXIV,
            "inspire": IdentifierScheme.INSPIRE,
            "url": IdentifierScheme.URL,
        }
        for relation, scheme, value, where in pairs:
            try:
                identifier = Identifier(scheme=schemes[scheme], value=value)
            except ValidationError as error:
                raise self._fail(where, f"{value!r} is not a valid {scheme} identifier") from error
            if identifier.key() in seen:
                continue
            seen.add(identifier.key())
            (supplement if relation == "is-supplement-to" else references).append(identifier)
        return supplement, references

    # -- physics ------------------------------------------------------------------------------------------------
    def _quantity(self, quantity: Any, name: str) -> Quantity:
        known = unit_of(quantity.unit)
        if known is None:
            raise MappingError(f"{self.descriptor_name}:$.{name}.unit", f"{self.where}: unknown unit {quantity.unit!r}")
        raw = f"{quantity.value:g} {quantity.unit}" + (f" ({quantity.note})" if quantity.note else "")
        return Quantity(value=quantity.value, unit=known.code, raw=raw)

    def _exposure(self, descriptor: Descriptor | None) -> Quantity | None:
        if descriptor is None:
            return None
        if descriptor.exposure is not None:
            return self._quantity(descriptor.exposure, "exposure")
        mass, live = descriptor.fiducial_mass, descriptor.live_time
        if mass is None or live is None:
            return None
        # exposure = fiducial mass × live time, in the exposure unit of that mass and time
        in_kg = mass.value * {"g": 1e-3, "kg": 1.0, "t": 1e3}[mass.unit]
        in_days = live.value * {"s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1.0, "a": 365.25}[live.unit]
        value, code = (in_kg * in_days / 365.25, "kg.a") if in_days >= 365.25 else (in_kg * in_days, "kg.d")
        raw = f"fiducial mass {mass.value:g} {mass.unit} × live time {live.value:g} {live.unit}"
        return Quantity(value=round(value, 6), unit=code, raw=raw)

    def _energy(self, descriptor: Descriptor | None) -> EnergyRange | None:
        if descriptor is None or descriptor.energy_range is None:
            return None
        energy = descriptor.energy_range
        if energy.min is not None and energy.max is not None and energy.max < energy.min:
            raise self._fail(
                f"{self.descriptor_name}:$.energy_range.max",
                f"the energy range's max ({energy.max:g}) is below its min ({energy.min:g})",
            )
        suffix = _SCALE_SUFFIX.get(energy.scale or "", "")
        low = f"{energy.min:g}" if energy.min is not None else ""
        high = f"{energy.max:g}" if energy.max is not None else ""
        return EnergyRange(min=energy.min, max=energy.max, unit=energy.unit, raw=f"{low}-{high} {energy.unit}{suffix}")

    def _categories(self, descriptor: Descriptor | None) -> list[Concept]:
        if descriptor is None:
            return []
        return concepts("resource-category", [r.category for r in descriptor.resources])

    # -- files --------------------------------------------------------------------------------------------------
    def _distributions(self, descriptor: Descriptor | None) -> list[Distribution]:
        described = {r.path.removeprefix("./"): r for r in descriptor.resources} if descriptor else {}
        tree = self.bundle.get("tree") or []
        if not isinstance(tree, list):
            raise MappingError("tree", f"{self.where}: expected a list of files")
        out: list[Distribution] = []
        in_tree: set[str] = set()
        for number, entry in enumerate(tree):
            item = _object(entry, f"tree[{number}]")
            path = _string(item, "path", f"tree[{number}]")
            in_tree.add(path)
            if path.rsplit("/", 1)[-1] in _PLUMBING:
                continue
            out.append(self._file(item, path, described.get(path), number))
        missing = [r.path for r in described.values() if r.path not in in_tree and "://" not in r.path]
        if missing:
            raise MappingError(
                f"{self.descriptor_name}:$.resources",
                f"{self.where}: the descriptor lists files the repository does not have: {', '.join(sorted(missing))}",
            )
        for resource in described.values():
            if "://" in resource.path:
                out.append(self._external(resource))
        out += self._release_assets()
        return out

    def _file(self, item: dict[str, Any], path: str, resource: Any, number: int) -> Distribution:
        name = path.rsplit("/", 1)[-1]
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        label, media_type = _FILE_TYPES.get(extension, (extension.upper() or None, None))
        lfs = item.get("lfs") if isinstance(item.get("lfs"), dict) else None
        size, checksum = item.get("size"), item.get("sha256")
        size_field, checksum_field = f"tree[{number}].size", f"tree[{number}].sha256"
        if checksum is not None and not isinstance(checksum, str):
            raise self._fail(checksum_field, f"{path}: expected text, got {type(checksum).__name__}")
        if lfs is not None:
            oid = lfs.get("oid")
            size_field, checksum_field = f"tree[{number}].lfs.size", f"tree[{number}].lfs.oid"
            if oid is None:
                raise self._fail(checksum_field, f"missing: the Git LFS pointer of {path} has no oid")
            if not isinstance(oid, str) or not oid.startswith("sha256:"):
                raise self._fail(checksum_field, f"{path}: {oid!r} is not a sha256 LFS oid")
            size, checksum = lfs.get("size"), oid.removeprefix("sha256:")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise self._fail(size_field, f"{path}: {size!r} is not a size in bytes")
        if checksum and not _SHA256.fullmatch(checksum.strip()):
            raise self._fail(checksum_field, f"{path}: {checksum!r} is not a sha256 (64 hexadecimal digits)")
        ref = self.ref_name or ""
        url = None
        if self.api_url and ref:
            url = (
                f"{self.api_url}/projects/{self.project.get('id')}/repository/files/{quote(path, safe='')}/raw"
                f"?ref={quote(ref, safe='')}" + ("&lfs=true" if lfs is not None else "")
            )
        role = "data"
        if resource is not None:
            category = resource.category
            role = {"documentation": "documentation", "software": "software"}.get(category, "data")
        elif _DOCUMENTATION.match(name) or extension in ("md", "pdf"):
            role = "documentation"
        elif extension in _SOFTWARE:
            role = "software"
        elif name in READERS or name == self.descriptor_name:
            role = "auxiliary"
        description = None
        categories: list[Concept] = []
        if resource is not None:
            description = resource.description + (f" Usage: {resource.usage_note}" if resource.usage_note else "")
            categories = [concept("resource-category", resource.category)]
            label = resource.format or label
            media_type = resource.media_type or media_type
        return Distribution(
            name=path,
            url=url,
            access_url=f"{self.web_url}/-/blob/{quote(ref, safe='')}/{quote(path)}" if ref else self.web_url,
            size_bytes=size,
            checksum=Checksum(algorithm="sha256", value=str(checksum)) if checksum else None,
            media_type=media_type,
            format=label,
            description=description,
            role=role,  # type: ignore[arg-type]
            categories=categories,
            availability=Availability.ONLINE,
        )

    @staticmethod
    def _external(resource: Any) -> Distribution:
        return Distribution(
            name=resource.name,
            url=resource.path,
            description=resource.description + (f" Usage: {resource.usage_note}" if resource.usage_note else ""),
            format=resource.format,
            media_type=resource.media_type,
            categories=[concept("resource-category", resource.category)],
            role="documentation" if resource.category == "documentation" else "data",
        )

    def _release_assets(self) -> list[Distribution]:
        if not self.release:
            return []
        assets = self.release.get("assets") if isinstance(self.release.get("assets"), dict) else {}
        out = []
        for number, link in enumerate(_list(assets.get("links"), "release.assets.links", "links")):
            where = f"release.assets.links[{number}]"
            item = _object(link, where)
            _string(item, "name", where)  # checked only: the file keeps the name as GitLab wrote it
            url_key = "direct_asset_url" if item.get("direct_asset_url") else "url"
            _string(item, url_key, where)
            url = item[url_key]
            out.append(
                Distribution(
                    name=item["name"],
                    url=url,
                    role=_LINK_ROLES.get(str(item.get("link_type") or "other"), "data"),  # type: ignore[arg-type]
                    description=f"Release asset of {self.tag}",
                    availability=Availability.ONLINE,
                )
            )
        for number, source in enumerate(_list(assets.get("sources"), "release.assets.sources", "archives")):
            item = _object(source, f"release.assets.sources[{number}]")
            # GitLab makes these archives from the tag on request: one without a usable URL is left out, no loss
            archive_url = _nonblank(item.get("url"))
            archive_name = archive_url.rsplit("/", 1)[-1] if archive_url else ""
            if not archive_url or not archive_name.strip():
                continue
            archive = str(item.get("format") or "archive")
            label, media_type = _FILE_TYPES.get(archive.rsplit(".", 1)[-1], (archive.upper(), None))
            out.append(
                Distribution(
                    name=archive_name,
                    url=archive_url,
                    format=label,
                    media_type=media_type,
                    role="auxiliary",
                    description=f"The whole repository at {self.tag}, as a {archive} archive made by GitLab",
                    availability=Availability.ONLINE,
                )
            )
        return out
