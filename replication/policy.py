"""Where harvested files go: the replication policy, from the `[replication]` table of the home's `replication.toml`
(or a file given with `--config`):

    [replication]
    account = "root"                   # the Rucio account that owns the DIDs and rules
    scope = "source"                   # "source" | "experiment": one Rucio scope per source or per experiment
    staging_rse = "SITE_A"             # where files of HTTP-only portals are uploaded to (bytes copied here)
    staging_lifetime = "30d"           # how long the staged copy is kept by its own rule (none: kept for ever)
    staging_max_file_bytes = 10737418240   # a larger file is not staged; the report names it
    tombstone_grace = "7d"             # a deleted record's rules expire this long after its tombstone
    scratch_dir = "/var/tmp/dmlake"    # where downloads are streamed to before upload (default: system temp)
    exclude = ["*.zip", "*.tar*"]      # file names (glob) not replicated, e.g. GitLab's on-the-fly source archives

    [replication.scopes]               # names of scopes, by source name or experiment label (else derived)
    dmdc = "dmdc"
    "COSINE-100" = "cosine100"

    [replication.source_rses]          # a non-deterministic RSE standing for a portal: its replicas are the
    dmdc = "DMDC_PORTAL"               # portal's own URLs, registered with no bytes copied

    [[replication.rule]]               # every matching rule applies, in order; `stop = true` ends the matching
    sources = ["dmdc"]                 # matchers (all optional; all given must match):
    experiments = ["COSINE-100"]       #   source names, experiment labels (or their concept URIs),
    min_dataset_bytes = 0              #   the release's total size,
    max_dataset_bytes = 1099511627776
    min_file_bytes = 0                 #   its largest file's size
    max_file_bytes = 214748364800
    copies = 2                         # what the rule asks Rucio for:
    rse_expression = "SITE_B|SITE_C"
    lifetime = "365d"                  # none: for ever
    grouping = "DATASET"               # ALL | DATASET | NONE
    activity = "User Subscriptions"    # optional

Durations are seconds (an integer) or a number with a unit: "90s", "15m", "12h", "7d", "2w".
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ontology.model import Record

Grouping = Literal["ALL", "DATASET", "NONE"]
ScopeMode = Literal["source", "experiment"]
SCOPE_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,25}")
RSE_PATTERN = re.compile(r"[A-Z0-9]+([_-][A-Z0-9]+)*")
DEFAULT_GRACE = 7 * 86400
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*")


class PolicyError(ValueError):
    """A replication configuration that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Release:
    """What rules match on: a release's source, experiments and sizes (unknown sizes count as 0)."""

    source: str
    experiments: tuple[str, ...]
    dataset_bytes: int
    largest_file_bytes: int

    @classmethod
    def of(cls, record: Record) -> Release:
        sizes = [d.size_bytes or 0 for d in record.distributions]
        names = tuple(name for c in record.experiments for name in (c.label, c.uri or "") if name)
        return cls(record.source, names, sum(sizes), max(sizes, default=0))


@dataclass(frozen=True)
class RulePolicy:
    copies: int
    rse_expression: str
    lifetime: int | None = None
    grouping: Grouping = "DATASET"
    activity: str | None = None
    sources: tuple[str, ...] = ()
    experiments: tuple[str, ...] = ()
    min_dataset_bytes: int | None = None
    max_dataset_bytes: int | None = None
    min_file_bytes: int | None = None
    max_file_bytes: int | None = None
    stop: bool = False

    def matches(self, release: Release) -> bool:
        if self.sources and release.source not in self.sources:
            return False
        if self.experiments and not set(self.experiments) & set(release.experiments):
            return False
        return _within(release.dataset_bytes, self.min_dataset_bytes, self.max_dataset_bytes) and _within(
            release.largest_file_bytes, self.min_file_bytes, self.max_file_bytes
        )

    def describe(self) -> str:
        life = f", lifetime {self.lifetime} s" if self.lifetime is not None else ""
        return f"{self.copies} × {self.rse_expression} ({self.grouping}{life})"


def _within(value: int, low: int | None, high: int | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


@dataclass(frozen=True)
class ReplicationPolicy:
    staging_rse: str
    account: str = "root"
    scope: ScopeMode = "source"
    scopes: dict[str, str] = field(default_factory=dict)
    source_rses: dict[str, str] = field(default_factory=dict)
    rules: tuple[RulePolicy, ...] = ()
    tombstone_grace: int = DEFAULT_GRACE
    staging_lifetime: int | None = None
    staging_max_file_bytes: int | None = None
    scratch_dir: Path | None = None
    exclude: tuple[str, ...] = ()

    def replicates(self, file_name: str) -> bool:
        return not any(fnmatch.fnmatchcase(file_name, pattern) for pattern in self.exclude)

    def rules_for(self, record: Record) -> list[RulePolicy]:
        """The rules a release gets, in the policy's order."""
        release = Release.of(record)
        chosen: list[RulePolicy] = []
        for rule in self.rules:
            if rule.matches(release):
                chosen.append(rule)
                if rule.stop:
                    break
        return chosen


_KEYS = {
    "account",
    "scope",
    "staging_rse",
    "staging_lifetime",
    "staging_max_file_bytes",
    "tombstone_grace",
    "scratch_dir",
    "exclude",
    "scopes",
    "source_rses",
    "rule",
}
_RULE_KEYS = {
    "copies",
    "rse_expression",
    "lifetime",
    "grouping",
    "activity",
    "sources",
    "experiments",
    "min_dataset_bytes",
    "max_dataset_bytes",
    "min_file_bytes",
    "max_file_bytes",
    "stop",
}


def parse_duration(value: object, where: str) -> int:
    """Seconds from an integer or a string such as "7d"; `where` names the file and key for the error."""
    if isinstance(value, bool):
        raise PolicyError(f'{where} must be a duration (seconds, or e.g. "7d"), not {value!r}')
    if isinstance(value, int | float) and value >= 0:
        return int(value)
    if isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if match:
            return int(float(match.group(1)) * _UNITS[match.group(2)])
    raise PolicyError(f"{where} must be a duration (seconds, or a number with s, m, h, d or w, e.g. \"7d\"), "
                      f"not {value!r}")  # fmt: skip


def _size(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PolicyError(f"{where} must be a number of bytes (a non-negative integer), not {value!r}")
    return value


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PolicyError(f"{where} must be a list of non-empty strings")
    return tuple(value)


def _rse(value: object, where: str) -> str:
    if not isinstance(value, str) or not RSE_PATTERN.fullmatch(value):
        raise PolicyError(f"{where} must be a Rucio RSE name (capitals, digits, _ and -), not {value!r}")
    return value


def _rule(table: object, where: str) -> RulePolicy:
    if not isinstance(table, dict):
        raise PolicyError(f"{where} must be a table ([[replication.rule]])")
    unknown = sorted(set(table) - _RULE_KEYS)
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_RULE_KEYS))}")
    for key in ("copies", "rse_expression"):
        if key not in table:
            raise PolicyError(f"{where}.{key} is missing: a rule says how many copies and where")
    copies = table["copies"]
    if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
        raise PolicyError(f"{where}.copies must be a positive integer, not {copies!r}")
    expression = table["rse_expression"]
    if not isinstance(expression, str) or not expression.strip():
        raise PolicyError(f'{where}.rse_expression must be a Rucio RSE expression such as "SITE_B|SITE_C"')
    grouping = str(table.get("grouping", "DATASET")).upper()
    if grouping not in ("ALL", "DATASET", "NONE"):
        raise PolicyError(f"{where}.grouping must be ALL, DATASET or NONE, not {table.get('grouping')!r}")
    activity = table.get("activity")
    if activity is not None and not isinstance(activity, str):
        raise PolicyError(f"{where}.activity must be a string")
    stop = table.get("stop", False)
    if not isinstance(stop, bool):
        raise PolicyError(f"{where}.stop must be true or false")
    bounds = {k: _size(table[k], f"{where}.{k}") for k in table if k.startswith(("min_", "max_"))}
    for kind in ("dataset", "file"):
        low, high = bounds.get(f"min_{kind}_bytes"), bounds.get(f"max_{kind}_bytes")
        if low is not None and high is not None and low > high:
            raise PolicyError(f"{where}: min_{kind}_bytes ({low}) is above max_{kind}_bytes ({high})")
    return RulePolicy(
        copies=copies,
        rse_expression=expression.strip(),
        lifetime=parse_duration(table["lifetime"], f"{where}.lifetime") if "lifetime" in table else None,
        grouping=grouping,  # type: ignore[arg-type]
        activity=activity,
        sources=_strings(table["sources"], f"{where}.sources") if "sources" in table else (),
        experiments=_strings(table["experiments"], f"{where}.experiments") if "experiments" in table else (),
        stop=stop,
        **bounds,
    )


def _mapping(value: object, where: str, check: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise PolicyError(f"{where} must be a table of names")
    return {str(key): check(item, f"{where}.{key}") for key, item in value.items()}


def _scope_name(value: object, where: str) -> str:
    if not isinstance(value, str) or not SCOPE_PATTERN.fullmatch(value):
        raise PolicyError(f"{where} must be a Rucio scope name (at most 25 of A-Z a-z 0-9 _ . -), not {value!r}")
    return value


def load(path: Path) -> ReplicationPolicy:
    """The `[replication]` table of `path`; a missing file or table is an error saying what to write."""
    if not path.exists():
        raise PolicyError(f"{path}: no replication policy; write a [replication] table there (at least "
                          "staging_rse and one [[replication.rule]]) or give --config")  # fmt: skip
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"{path}: not valid TOML: {error}") from None
    table = document.get("replication")
    if not isinstance(table, dict):
        raise PolicyError(f"{path}: no [replication] table")
    return parse(table, str(path))


def parse(table: dict[str, Any], origin: str) -> ReplicationPolicy:
    def at(key: str) -> str:
        return f"{origin}: [replication] {key}"

    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise PolicyError(f"{origin}: unknown key(s) in [replication]: {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(_KEYS))}")  # fmt: skip
    if "staging_rse" not in table:
        raise PolicyError(f"{at('staging_rse')} is missing: the RSE that files of HTTP-only portals are uploaded to")
    account = table.get("account", "root")
    if not isinstance(account, str) or not re.fullmatch(r"[a-z0-9_-]{1,25}", account):
        raise PolicyError(f"{at('account')} must be a Rucio account name (a-z 0-9 _ -), not {account!r}")
    scope = table.get("scope", "source")
    if scope not in ("source", "experiment"):
        raise PolicyError(f'{at("scope")} must be "source" or "experiment", not {scope!r}')
    rules = table.get("rule", [])
    if not isinstance(rules, list):
        raise PolicyError(f"{at('rule')} must be an array of tables: write [[replication.rule]]")
    scratch = table.get("scratch_dir")
    if scratch is not None and not isinstance(scratch, str):
        raise PolicyError(f"{at('scratch_dir')} must be a directory path")
    return ReplicationPolicy(
        staging_rse=_rse(table["staging_rse"], at("staging_rse")),
        account=account,
        scope=scope,
        scopes=_mapping(table.get("scopes", {}), at("scopes"), _scope_name),
        source_rses=_mapping(table.get("source_rses", {}), at("source_rses"), _rse),
        rules=tuple(_rule(rule, f"{at('rule')}[{n}]") for n, rule in enumerate(rules)),
        tombstone_grace=parse_duration(table.get("tombstone_grace", DEFAULT_GRACE), at("tombstone_grace")),
        staging_lifetime=(
            parse_duration(table["staging_lifetime"], at("staging_lifetime")) if "staging_lifetime" in table else None
        ),
        staging_max_file_bytes=(
            _size(table["staging_max_file_bytes"], at("staging_max_file_bytes"))
            if "staging_max_file_bytes" in table
            else None
        ),
        scratch_dir=Path(scratch).expanduser() if scratch else None,
        exclude=_strings(table["exclude"], at("exclude")) if "exclude" in table else (),
    )
