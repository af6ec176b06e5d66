"""The contents of the GitLab replica's DMDC-style group: groups, dataset projects, their commits, tags and releases.

A project is held as a plain dict (what `ReplicaStore.record` returns):

    {"id", "name", "path", "group" (namespace full path), "description", "topics", "visibility", "archived",
     "created_at", "default_branch", "commits": {sha: {"files": {path: bytes}, "date", "title"}},
     "branch": sha | None, "tags": [{"name", "commit", "message", "created_at", "release": {...} | None}],
     "lfs": {"sha256:<hex>": bytes}}

Two bases feed the replica: the corpus (the COSINE-100 public release from `dmdc/cosine100-publicdata`, its CSVs as
repository files, with a descriptor written here from what the release's README and files say, plus a few synthetic
fixture projects for what COSINE does not show: two releases, a Git LFS file, citation files, an archived project,
a private subgroup), and a generator (`GeneratedProjects`) that builds project i from (seed, i) on demand.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

COSINE_DIR = Path("dmdc/cosine100-publicdata")
COSINE_ITEM = "COSINE100-6YearsModulation"
COSINE_COMMIT_DATE = datetime(2025, 10, 28, 9, 0, tzinfo=UTC)
"""The CUPCOSINE/PublicData commit the corpus copy was taken from (MANIFEST.md §6)."""
GENERATED_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
ROOT = "dmdc"


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    path: str
    full_path: str
    description: str
    visibility: str = "public"
    parent_id: int | None = None
    created_at: datetime = datetime(2023, 6, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Collaboration:
    slug: str
    name: str
    target: str
    technique: str
    mass_kg: float


COLLABORATIONS = (
    Collaboration("cresst", "CRESST", "CaWO4", "cryogenic calorimeter", 0.024),
    Collaboration("xenon", "XENON", "Xe", "dual-phase TPC", 1300.0),
    Collaboration("anais", "ANAIS", "NaI(Tl)", "scintillating crystal", 112.5),
    Collaboration("cosine", "COSINE-100", "NaI(Tl)", "scintillating crystal", 61.3),
    Collaboration("darkside", "DarkSide", "Ar", "dual-phase TPC", 46.4),
    Collaboration("supercdms", "SuperCDMS", "Ge", "cryogenic calorimeter", 11.0),
)


def root_group() -> Group:
    return Group(1, "Dark Matter Data Center", ROOT, ROOT, "Open data of dark-matter direct-detection experiments")


def collaboration_groups(private: Sequence[str] = ()) -> list[Group]:
    groups = [
        Group(10 + n, c.name, c.slug, f"{ROOT}/{c.slug}", f"Datasets of the {c.name} collaboration", parent_id=1)
        for n, c in enumerate(COLLABORATIONS)
    ]
    for n, slug in enumerate(private):
        groups.append(Group(50 + n, slug.title(), slug, f"{ROOT}/{slug}", "Embargoed datasets", "private", 1))
    return groups


def git_blob_id(data: bytes) -> str:
    """The git object id of a file's content (what GitLab reports as `blob_id` and the tree entry's `id`)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def commit_id(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, default=str).encode()).hexdigest()


def iso(moment: datetime) -> str:
    """GitLab's timestamp format: UTC with milliseconds and a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class GeneratedBlob:
    """A large file of deterministic pseudo-random bytes (a pure function of seed and size), made chunk by chunk
    whenever it is served: the replica serves files of hundreds of MiB without holding them in memory."""

    CHUNK = 1 << 20

    def __init__(self, size: int, seed: str) -> None:
        self.size = size
        self.seed = seed
        self._sha256: str | None = None

    def chunks(self) -> Iterator[bytes]:
        for index, start in enumerate(range(0, self.size, self.CHUNK)):
            yield random.Random(f"{self.seed}:{index}").randbytes(min(self.CHUNK, self.size - start))

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            digest = hashlib.sha256()
            for chunk in self.chunks():
                digest.update(chunk)
            self._sha256 = digest.hexdigest()
        return self._sha256


def with_large_files(project: dict[str, Any], sizes: Mapping[str, int]) -> dict[str, Any]:
    """The project with generated files (path → size in bytes) added to every commit as Git LFS objects, as a
    collaboration keeps its large data files: the repository holds pointers, the LFS store the bytes."""
    for path, size in sizes.items():
        blob = GeneratedBlob(size, f"{project['id']}:{path}")
        oid = "sha256:" + blob.sha256
        pointer = f"version https://git-lfs.github.com/spec/v1\noid {oid}\nsize {size}\n".encode()
        project["lfs"][oid] = blob
        for commit in project["commits"].values():
            files = commit["files"]
            files[path] = pointer
            rule = f"{path} filter=lfs diff=lfs merge=lfs -text\n".encode()
            if rule not in files.get(".gitattributes", b""):
                files[".gitattributes"] = files.get(".gitattributes", b"") + rule
    return project


def lfs_pointer(content: bytes) -> tuple[bytes, str]:
    oid = "sha256:" + hashlib.sha256(content).hexdigest()
    pointer = f"version https://git-lfs.github.com/spec/v1\noid {oid}\nsize {len(content)}\n".encode()
    return pointer, oid


# -- COSINE-100 from the corpus ------------------------------------------------------------------------------------
_COSINE_KINDS = {
    # file-name prefix → (category, description, usage note), from the release README's "Data Description"
    "EventRate": (
        "event data",
        "15-day-bin event rates of the COSINE-100 full dataset in the {roi} region of interest, per crystal "
        "(crystals 2, 3, 4, 6, 7): live-time efficiency, counts, event rate and its 1σ error, residuals after "
        "background subtraction, and their error-weighted mean. day_centers: days after 2016-01-01 00:00.",
        "Converting counts into event rates needs both the live-time efficiency and the event selection efficiency "
        "(SelectionEfficiency.csv). Rates are in counts/day/kg/keVee for erc, and in DRU-equivalent units for nrc/irc.",
    ),
    "BackgroundRate": (
        "background",
        "Best-fit total background event rates per crystal in the {roi} region of interest, daily "
        "(day_centers: days after 2016-01-01 00:00).",
        "Residuals in EventRate_{roi}.csv are the event rates minus these backgrounds.",
    ),
    "AmplitudePosterior": (
        "likelihood",
        "Posterior distribution of the phase-fixed annual modulation amplitude in the {roi} region of interest, "
        "from MCMC sampling of the full dataset (amplitude, mcmc_samples).",
        "Amplitudes in counts/day/kg/keVee (erc), counts/day/kg/3.3 keVnr (nrc) or counts/day/kg/11 keVnr,I (irc).",
    ),
    "PseudoUnderDama": (
        "simulation",
        "Distribution of best-fit modulation amplitudes from pseudo-experiments assuming DAMA/LIBRA's claim is true, "
        "in the {roi} region of interest (amplitude_median, pseudo_experiments).",
        None,
    ),
    "AmplitudeSpectrum": (
        "derived data",
        "Spectrum of the phase-fixed annual modulation amplitude from the COSINE-100 full dataset next to the "
        "amplitudes DAMA/LIBRA reported, per energy bin, for each calibration policy and coincidence class.",
        None,
    ),
    "SelectionEfficiency": (
        "detector response",
        "Event selection efficiency as a function of energy (keVee) for each crystal, with its 1σ credible interval.",
        "Needed with the live-time efficiency to turn counts into event rates.",
    ),
    "CosineNaQF": (
        "detector response",
        "Quenching factor (%) of sodium recoils as measured by the COSINE collaboration, against the nuclear recoil "
        "energy in keVnr.",
        None,
    ),
    "CosineIQF": (
        "detector response",
        "Quenching factor (%) of iodine recoils as measured by the COSINE collaboration, against the nuclear recoil "
        "energy in keVnr,I.",
        None,
    ),
}
_ROI_SCALES = {"erc": "keVee", "nrc": "keVnr-compatible", "irc": "keVnr,I-compatible"}


def cosine_descriptor(files: dict[str, bytes]) -> dict[str, Any]:
    """The DMDC-style descriptor of the COSINE-100 six-year modulation release, from what its README and files say.

    Live time and data-taking period are computed from `EventRate_erc1-6.csv`: each row is a 15-day bin centred on
    `day_centers` (days after 2016-01-01) with each crystal's live-time efficiency in it.
    """
    rows = list(csv.DictReader(io.StringIO(files["data/EventRate_erc1-6.csv"].decode())))
    crystals = sorted({k.rsplit("crystal", 1)[1] for k in rows[0] if k.startswith("livetime_efficiency_crystal")})
    live = [sum(float(r[f"livetime_efficiency_crystal{c}"] or 0) * 15 for r in rows) for c in crystals]
    epoch = date(2016, 1, 1)
    start = epoch + timedelta(days=float(rows[0]["day_centers"]) - 7.5)
    end = epoch + timedelta(days=float(rows[-1]["day_centers"]) + 7.5 - 1)
    resources = []
    for path in sorted(p for p in files if p.startswith("data/")):
        stem = path.removeprefix("data/").removesuffix(".csv")
        prefix, _, roi = stem.partition("_")
        category, description, usage = _COSINE_KINDS[prefix]
        entry = {
            "name": stem,
            "path": path,
            "description": description.format(roi=roi),
            "category": category,
            "format": "CSV",
            "media_type": "text/csv",
        }
        if usage:
            entry["usage_note"] = usage.format(roi=roi)
        resources.append(entry)
    resources.append(
        {"name": "README", "path": "README.md", "description": "Notation, units and column descriptions of every "
         "file, and the environment of the visualiser notebooks.", "category": "documentation"}
    )  # fmt: skip
    return {
        "$schema": "https://w3id.org/dmlake/schemas/dmdc-descriptor/1.0",
        "title": "COSINE-100 Full Dataset Challenges the Annual Modulation Signal of DAMA/LIBRA: result data",
        "version": "1.0",
        "collaboration": "COSINE-100",
        "description": (
            'The data used in the paper "COSINE-100 Full Dataset Challenges the Annual Modulation Signal of '
            'DAMA/LIBRA" (Science Advances 11, eadv6503 (2025)): event rates, background rates, modulation '
            "amplitude posteriors, pseudo-experiments under DAMA/LIBRA's hypothesis, the amplitude spectrum, "
            "selection efficiencies and quenching factors of the NaI(Tl) crystals, for three calibration policies "
            "(erc: electron-recoil compatible, keVee; nrc and irc: sodium- and iodine-recoil compatible with DAMA)."
        ),
        "license": "CC-BY-4.0",
        "contacts": [
            {
                "name": "Hyunsu Lee",
                "email": "hyunsulee@ibs.re.kr",
                "affiliation": "Center for Underground Physics, Institute for Basic Science",
            }
        ],
        "creators": [{"name": "COSINE-100 Collaboration", "kind": "organization"}],
        "issued": "2025",
        "keywords": ["annual modulation", "DAMA/LIBRA", "sodium iodide", "WIMP"],
        "target_material": ["NaI(Tl)"],
        "detector_technology": ["scintillating crystal"],
        "live_time": {
            "value": round(sum(live) / len(live), 2),
            "unit": "d",
            "note": f"mean over crystals {', '.join(crystals)} of the live-time efficiencies in EventRate_erc1-6.csv",
        },
        "energy_range": {"min": 1, "max": 6, "unit": "keV", "scale": "electron-equivalent"},
        "data_taking": {"start": start.isoformat(), "end": end.isoformat()},
        "data_level": 1,
        "citable_resources": [
            {
                "type": "doi",
                "value": "10.1126/sciadv.adv6503",
                "relation": "is-supplement-to",
                "title": "COSINE-100 Full Dataset Challenges the Annual Modulation Signal of DAMA/LIBRA",
            },
            {"type": "arxiv", "value": "2409.13226", "relation": "is-supplement-to"},
            {
                "type": "doi",
                "value": "10.1126/sciadv.abk2699",
                "relation": "references",
                "title": "Strong constraints from COSINE-100 on the DAMA dark matter results using the same sodium "
                "iodide target",
            },
        ],
        "resources": resources,
    }


def cosine_project(corpus: Path) -> dict[str, Any] | None:
    folder = corpus / COSINE_DIR
    item = folder / COSINE_ITEM
    if not (item / "data").is_dir():
        return None
    files = {f"data/{p.name}": p.read_bytes() for p in sorted((item / "data").glob("*.csv"))}
    files["README.md"] = (item / "README.md").read_bytes()
    files["LICENSE"] = (folder / "LICENSE").read_bytes()
    files["dmdc.json"] = (json.dumps(cosine_descriptor(files), indent=2, ensure_ascii=False) + "\n").encode()
    commit = commit_id("cosine", sorted((p, git_blob_id(d)) for p, d in files.items()))
    released = iso(COSINE_COMMIT_DATE)
    return {
        "id": 42,
        "name": COSINE_ITEM,
        "path": "cosine100-6years-modulation",
        "group": f"{ROOT}/cosine",
        "description": "Six Years Annual Modulation Signal Search: the result data of the COSINE-100 full dataset",
        "topics": ["dark-matter", "annual-modulation", "NaI", "COSINE-100"],
        "visibility": "public",
        "archived": False,
        "created_at": iso(COSINE_COMMIT_DATE - timedelta(days=30)),
        "default_branch": "main",
        "commits": {commit: {"files": files, "date": released, "title": "COSINE-100 six-year modulation data"}},
        "branch": commit,
        "tags": [
            {
                "name": "v1.0",
                "commit": commit,
                "message": "Data of arXiv:2409.13226",
                "created_at": released,
                "release": {
                    "name": "COSINE-100 full dataset, six-year annual modulation search",
                    "description": "Result data for Science Advances 11, eadv6503 (2025), arXiv:2409.13226.",
                    "released_at": released,
                    "links": [
                        {
                            "name": "Paper (arXiv:2409.13226)",
                            "url": "https://arxiv.org/pdf/2409.13226",
                            "link_type": "other",
                        }
                    ],
                },
            }
        ],
        "lfs": {},
        "updated": released,
    }


# -- synthetic projects (fixtures and the generator) ---------------------------------------------------------------
def _table(rng: random.Random, header: str, rows: int) -> bytes:
    lines = [header]
    for row in range(rows):
        lines.append(f"{row * 15 + 7.5},{rng.uniform(0.5, 5):.6f},{rng.uniform(0.01, 0.2):.6f}")
    return ("\n".join(lines) + "\n").encode()


def synthetic_project(
    seed: int,
    index: int,
    collaboration: Collaboration,
    *,
    project_id: int,
    group: str,
    tags: int,
    archived: bool = False,
    lfs: bool = False,
    citation: bool = False,
    visibility: str = "public",
    created: datetime,
    broken_descriptor: bool = False,
) -> dict[str, Any]:
    """A small dataset project: event data, background and (from the second version on) a detector response."""
    rng = random.Random(f"{seed}:{index}")
    slug = f"{collaboration.slug}-dataset-{index:06d}"
    title = f"{collaboration.name} synthetic sandbox dataset {index}"
    files: dict[str, bytes] = {
        "README.md": f"# {title}\n\nGenerated by the dmlake sandbox; not real data.\n".encode(),
        "data/events.csv": _table(rng, "day_centers,event_rate,event_rate_error", 8 + index % 5),
        "data/background.csv": _table(rng, "day_centers,background_rate,background_rate_error", 6),
    }
    lfs_objects: dict[str, bytes] = {}
    patterns = []
    if lfs:
        content = bytes(rng.getrandbits(8) for _ in range(4096 + index % 97))
        pointer, oid = lfs_pointer(content)
        files["data/waveforms.h5"] = pointer
        lfs_objects[oid] = content
        patterns.append("*.h5 filter=lfs diff=lfs merge=lfs -text")
        files[".gitattributes"] = ("\n".join(patterns) + "\n").encode()
    if citation:
        files["CITATION.cff"] = (
            "cff-version: 1.2.0\n"
            f'title: "{title}"\n'
            "message: If you use these data, please cite them as below.\n"
            "authors:\n"
            "  - family-names: Doe\n"
            "    given-names: Jane\n"
            "    orcid: https://orcid.org/0000-0002-1825-0097\n"
            "    affiliation: Sandbox Institute\n"
            f"date-released: 2024-02-{1 + index % 27:02d}\n"
            "keywords:\n  - sandbox\n"
        ).encode()
    commits: dict[str, dict[str, Any]] = {}
    tag_list: list[dict[str, Any]] = []
    versions = max(tags, 1)
    head = None
    for number in range(1, versions + 1):
        when = created + timedelta(days=30 * number)
        if number == 2:
            files["response/efficiency.csv"] = _table(rng, "energy_kevee,efficiency,efficiency_error", 10)
        version = f"{number}.0" if tags else "0.1"
        descriptor = _synthetic_descriptor(collaboration, title, version, files, index, broken_descriptor)
        files["dmdc.json"] = (json.dumps(descriptor, indent=2) + "\n").encode()
        head = commit_id(seed, index, number)
        commits[head] = {"files": dict(files), "date": iso(when), "title": f"Version {version}"}
        if tags:
            release = None
            if number % 2 == 1 or number == versions:
                release = {
                    "name": f"{collaboration.name} dataset {index} v{version}",
                    "description": f"Release {version} of the synthetic {collaboration.name} dataset {index}.",
                    "released_at": iso(when),
                    "links": [
                        {
                            "name": f"{slug}-v{version}-full.tar.gz",
                            "url": f"https://data.dmdc.example.org/{slug}/v{version}/full.tar.gz",
                            "link_type": "package",
                        }
                    ],
                }
            tag_list.append(
                {"name": f"v{version}", "commit": head, "message": f"Version {version}", "created_at": iso(when),
                 "release": release}
            )  # fmt: skip
    updated = created + timedelta(days=30 * versions, seconds=30)
    return {
        "id": project_id,
        "name": f"{collaboration.name} dataset {index}",
        "path": slug,
        "group": group,
        "description": f"Synthetic {collaboration.name} dataset generated by the dmlake sandbox.",
        "topics": ["dark-matter", collaboration.slug, "sandbox"],
        "visibility": visibility,
        "archived": archived,
        "created_at": iso(created),
        "default_branch": "main",
        "commits": commits,
        "branch": head,
        "tags": tag_list,
        "lfs": lfs_objects,
        "updated": iso(updated),
    }


def _synthetic_descriptor(
    collaboration: Collaboration, title: str, version: str, files: dict[str, bytes], index: int, broken: bool
) -> dict[str, Any]:
    resources = [
        {"name": "events", "path": "data/events.csv", "description": "Event rates per 15-day bin (counts/day/kg/keV).",
         "category": "event data", "usage_note": "Rates are already corrected for live time.", "format": "CSV"},
        {"name": "background", "path": "data/background.csv", "description": "Background model rates per bin.",
         "category": "background", "format": "CSV"},
    ]  # fmt: skip
    if "response/efficiency.csv" in files:
        resources.append(
            {"name": "efficiency", "path": "response/efficiency.csv", "category": "detector response",
             "description": "Selection efficiency against energy.", "format": "CSV"}
        )  # fmt: skip
    if "data/waveforms.h5" in files:
        resources.append(
            {"name": "waveforms", "path": "data/waveforms.h5", "category": "event data",
             "description": "Recorded pulses of the selected events.", "format": "HDF5"}
        )  # fmt: skip
    live_days = 100.0 + index % 300
    descriptor: dict[str, Any] = {
        "title": title,
        "version": version,
        "collaboration": collaboration.name,
        "description": f"A synthetic {collaboration.name} dataset served by the dmlake sandbox (not real data).",
        "license": "CC-BY-4.0",
        "contacts": [{"name": "Sandbox Contact", "email": "contact@dmdc.example.org"}],
        "target_material": [collaboration.target],
        "detector_technology": [collaboration.technique],
        "fiducial_mass": {"value": collaboration.mass_kg, "unit": "kg"},
        "live_time": {"value": live_days, "unit": "d"},
        "energy_range": {"min": 1, "max": 40, "unit": "keV", "scale": "nuclear-recoil"},
        "data_level": 1 + index % 3,
        "citable_resources": [{"type": "arxiv", "value": f"2401.{10000 + index % 89999:05d}"}],
        "resources": resources,
    }
    if broken:
        descriptor["resources"][1]["category"] = "signal"
    return descriptor


def fixture_projects(seed: int = 0) -> list[dict[str, Any]]:
    """The corpus group's synthetic companions of COSINE: what the real release does not exercise."""
    base = datetime(2024, 3, 1, tzinfo=UTC)
    by_slug = {c.slug: c for c in COLLABORATIONS}
    return [
        synthetic_project(seed, 1, by_slug["cresst"], project_id=43, group=f"{ROOT}/cresst", tags=2, lfs=True,
                          citation=True, created=base),
        synthetic_project(seed, 2, by_slug["xenon"], project_id=44, group=f"{ROOT}/xenon", tags=1, archived=True,
                          created=base + timedelta(days=1)),
        synthetic_project(seed, 3, by_slug["anais"], project_id=45, group=f"{ROOT}/anais", tags=0,
                          created=base + timedelta(days=2)),
        synthetic_project(seed, 4, by_slug["supercdms"], project_id=46, group=f"{ROOT}/internal", tags=1,
                          visibility="private", created=base + timedelta(days=3)),
    ]  # fmt: skip


def broken_project(seed: int = 0) -> dict[str, Any]:
    """A project whose descriptor gives a resource the category `signal`, which the schema does not know."""
    darkside = next(c for c in COLLABORATIONS if c.slug == "darkside")
    return synthetic_project(seed, 5, darkside, project_id=47, group=f"{ROOT}/darkside", tags=1,
                             created=datetime(2024, 3, 5, tzinfo=UTC), broken_descriptor=True)  # fmt: skip


class GeneratedProjects:
    """`count` synthetic projects, project i built from (seed, i) only when asked for."""

    def __init__(self, count: int, seed: int = 0) -> None:
        self.count = count
        self.seed = seed

    def __len__(self) -> int:
        return self.count

    def collaboration(self, index: int) -> Collaboration:
        return COLLABORATIONS[(self.seed + index) % len(COLLABORATIONS)]

    def native_id(self, index: int) -> str:
        slug = self.collaboration(index).slug
        return f"{ROOT}/{slug}/{slug}-dataset-{index:06d}"

    def index_of(self, native_id: str) -> int | None:
        try:
            index = int(native_id.rsplit("-", 1)[1])
        except (IndexError, ValueError):
            return None
        return index if 0 <= index < self.count and self.native_id(index) == native_id else None

    def created(self, index: int) -> datetime:
        return GENERATED_EPOCH + timedelta(minutes=index)

    def archived(self, index: int) -> bool:
        return index % 29 == 17

    def updated(self, index: int) -> datetime:
        return self.created(index) + timedelta(days=30 * max(index % 3, 1), seconds=30)

    def project_id(self, index: int) -> int:
        return 1000 + index

    def group(self, index: int) -> str:
        return f"{ROOT}/{self.collaboration(index).slug}"

    def record(self, index: int) -> dict[str, Any]:
        return synthetic_project(
            self.seed,
            index,
            self.collaboration(index),
            project_id=self.project_id(index),
            group=self.group(index),
            tags=index % 3,
            archived=self.archived(index),
            lfs=index % 7 == 3,
            citation=index % 5 == 1,
            created=self.created(index),
        )


class CorpusProjects:
    """Projects held in memory (the corpus group), in project-id order."""

    def __init__(self, projects: list[dict[str, Any]]) -> None:
        self.projects = sorted(projects, key=lambda p: int(p["id"]))
        self.ids = [f"{p['group']}/{p['path']}" for p in self.projects]
        self._positions = {n: i for i, n in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.projects)

    def native_id(self, index: int) -> str:
        return self.ids[index]

    def index_of(self, native_id: str) -> int | None:
        return self._positions.get(native_id)

    def record(self, index: int) -> dict[str, Any]:
        project = self.projects[index]
        # files are bytes (immutable): a shallow copy of the containers is enough for callers that change them
        copied = dict(project)
        copied["commits"] = {sha: {**c, "files": dict(c["files"])} for sha, c in project["commits"].items()}
        copied["tags"] = [dict(t) for t in project["tags"]]
        copied["topics"] = list(project["topics"])
        return copied

    def updated(self, index: int) -> datetime:
        return datetime.fromisoformat(str(self.projects[index]["updated"]).replace("Z", "+00:00"))

    def project_id(self, index: int) -> int:
        return int(self.projects[index]["id"])

    def group(self, index: int) -> str:
        return str(self.projects[index]["group"])

    def archived(self, index: int) -> bool:
        return bool(self.projects[index]["archived"])

    def created(self, index: int) -> datetime:
        return datetime.fromisoformat(str(self.projects[index]["created_at"]).replace("Z", "+00:00"))


def revise(project: dict[str, Any], revision: int, when: datetime) -> dict[str, Any]:
    """An edit through `/_sandbox/edit`: a new commit adding a data file, tagged and released (untagged projects get
    only the new commit on their default branch)."""
    head = project["branch"]
    files = dict(project["commits"][head]["files"]) if head else {}
    for number in range(1, revision + 1):
        files[f"data/update_{number}.csv"] = f"day_centers,event_rate\n{number * 15},{number}.0\n".encode()
    sha = commit_id(project["id"], "revision", revision, iso(when))
    project["commits"][sha] = {"files": files, "date": iso(when), "title": f"Update {revision}"}
    project["branch"] = sha
    if project["tags"]:
        name = f"v{len(project['tags']) + 1}.0-r{revision}"
        project["tags"].append(
            {"name": name, "commit": sha, "message": f"Update {revision}", "created_at": iso(when),
             "release": {"name": f"{project['name']} {name}", "description": f"Update {revision}",
                         "released_at": iso(when), "links": []}}
        )  # fmt: skip
    project["updated"] = iso(when)
    return project
