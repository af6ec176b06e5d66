"""Which records get DOIs, under which names, where they land, and how fast we may talk to DataCite.

Read from the `[doi]` table of the home's `doi.toml` (or a file given with `--config`):

    [doi]
    endpoint = "https://api.test.datacite.org"   # production: https://api.datacite.org
    prefix = "10.80000"
    kinds = ["gitlab", "kcdc"]                   # connector kinds whose records get DOIs (GitLab/DMDC, KCDC)
    sources = []                                 # and/or source names (e.g. a KCDC source of kind oaipmh)
    suffix_prefix = "dmlake"                     # every suffix starts with it: dmlake.<source>.<native id>
    public_url = "https://lake.example.org"      # landing pages: <public_url>/records/<id>; DMLAKE_PUBLIC_URL wins
    requests = 300                               # DataCite's documented limit: 300 requests per 5 minutes
    per_seconds = 300
    secrets_file = "~/.config/dmlake/datacite"   # username=..., password=... (DATACITE_USERNAME/_PASSWORD win)

    [[doi.parts]]                                # DOIs per table or per file too (off unless a rule is given);
    sources = ["dmdc"]                           # the first rule naming a record's source (or kind) applies;
    kinds = []                                   # a rule naming neither applies to every record that gets a DOI
    dois = "files"                               # "tables" (HEPData's <release>/t<n>), "files", or "none"
    roles = ["data"]                             # "files": which files (Distribution roles; default data)

A record that already has a DOI never gets one of ours; nor do its tables (or files) when the source gave any of
them a DOI of its own (HEPData's `…/t<n>`).
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ontology.model import RECORD_ID_BASE, IdentifierScheme, Record

DEFAULT_KINDS = ("gitlab", "kcdc")
PUBLIC_URL_ENV = "DMLAKE_PUBLIC_URL"
USERNAME_ENV = "DATACITE_USERNAME"
PASSWORD_ENV = "DATACITE_PASSWORD"
_SUFFIX_SAFE = re.compile(r"[^a-z0-9._-]+")


class PolicyError(ValueError):
    """A DOI configuration that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)  # never in a repr, a log line or an error message

    def __str__(self) -> str:
        return f"{self.username} (password hidden)"


PART_MODES = ("tables", "files", "none")
FILE_ROLES = ("data", "index", "documentation", "software", "auxiliary")


@dataclass(frozen=True)
class PartRule:
    """Which records get DOIs for their parts, and for which parts: a table of `[[doi.parts]]`."""

    dois: str = "none"
    sources: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    roles: tuple[str, ...] = ("data",)

    def applies(self, source: str, kind: str | None) -> bool:
        if not self.sources and not self.kinds:
            return True
        return source in self.sources or (kind is not None and kind in self.kinds)


@dataclass(frozen=True)
class DoiPolicy:
    endpoint: str = "https://api.test.datacite.org"
    prefix: str = "10.80000"
    kinds: tuple[str, ...] = DEFAULT_KINDS
    sources: tuple[str, ...] = ()
    suffix_prefix: str = "dmlake"
    public_url: str = "http://localhost:8000"
    requests: int = 300
    per_seconds: float = 300.0
    secrets_file: Path | None = None
    parts: tuple[PartRule, ...] = ()

    def part_rule(self, source: str, kind: str | None) -> PartRule | None:
        """The first `[[doi.parts]]` rule for a record of `source` (of `kind`); None: no DOIs for its parts."""
        rule = next((r for r in self.parts if r.applies(source, kind)), None)
        return None if rule is None or rule.dois == "none" else rule

    def ours(self, doi: str) -> bool:
        return doi.lower().startswith(self.prefix.lower() + "/")

    @property
    def requests_per_minute(self) -> float:
        return self.requests * 60.0 / self.per_seconds

    def landing_page(self, record_id: str) -> str:
        base = os.environ.get(PUBLIC_URL_ENV) or self.public_url
        return f"{base.rstrip('/')}/records/{record_id.removeprefix(RECORD_ID_BASE)}"

    def eligible(self, record: Record, source_kind: str | None) -> bool:
        """A record gets a DOI of ours: its source (or kind) is chosen and it has no DOI of its own."""
        chosen = record.source in self.sources or (source_kind is not None and source_kind in self.kinds)
        own = any(
            i.scheme == IdentifierScheme.DOI and not i.value.lower().startswith(self.prefix.lower() + "/")
            for i in record.identifiers
        )
        return chosen and not own

    def suffix(self, source: str, native_id: str) -> str:
        """`dmlake.<source>.<native id>`, lower-cased with unsafe characters replaced; when that loses information
        (case, characters) a short digest of the exact native id keeps suffixes of distinct records distinct."""
        slug = _SUFFIX_SAFE.sub("-", native_id.lower()).strip("-") or "record"
        suffix = f"{self.suffix_prefix}.{_SUFFIX_SAFE.sub('-', source.lower())}.{slug}"
        if slug != native_id:
            suffix += "." + hashlib.sha256(native_id.encode()).hexdigest()[:8]
        return suffix

    def doi(self, source: str, native_id: str) -> str:
        return f"{self.prefix}/{self.suffix(source, native_id)}".lower()

    def credentials(self) -> Credentials:
        username, password = os.environ.get(USERNAME_ENV), os.environ.get(PASSWORD_ENV)
        if (not username or not password) and self.secrets_file is not None:
            values = _secrets(self.secrets_file)
            username, password = username or values.get("username"), password or values.get("password")
        if not username or not password:
            where = f" or username/password lines in {self.secrets_file}" if self.secrets_file else ""
            raise PolicyError(f"no DataCite credentials: set {USERNAME_ENV} and {PASSWORD_ENV}{where}")
        return Credentials(username, password)


def _secrets(path: Path) -> dict[str, str]:
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"cannot read the DataCite secrets file {path}: {error.strerror}") from None
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            values[key.strip().lower()] = value.strip().strip('"')
    return values


_KEYS = {
    "endpoint",
    "prefix",
    "kinds",
    "sources",
    "suffix_prefix",
    "public_url",
    "requests",
    "per_seconds",
    "secrets_file",
    "parts",
}
_PART_KEYS = {"dois", "sources", "kinds", "roles"}


def load(path: Path | None) -> DoiPolicy:
    """The `[doi]` table of `path`; the defaults when the file does not exist."""
    if path is None or not path.exists():
        return DoiPolicy()
    try:
        table: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8")).get("doi", {})
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"{path}: not valid TOML: {error}") from None
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise PolicyError(f"{path}: unknown key(s) in [doi]: {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")
    options: dict[str, Any] = dict(table)
    for key in ("kinds", "sources"):
        if key in options:
            if not isinstance(options[key], list) or not all(isinstance(v, str) for v in options[key]):
                raise PolicyError(f"{path}: [doi] {key} must be a list of strings")
            options[key] = tuple(options[key])
    if "parts" in options:
        options["parts"] = _part_rules(path, options["parts"])
    if "secrets_file" in options:
        options["secrets_file"] = Path(str(options["secrets_file"])).expanduser()
    prefix = str(options.get("prefix", DoiPolicy.prefix))
    if not re.fullmatch(r"10\.\d{4,9}", prefix):
        raise PolicyError(f"{path}: [doi] prefix {prefix!r} is not a DOI prefix (10.NNNN)")
    for key in ("requests", "per_seconds"):
        if key in options and (not isinstance(options[key], int | float) or options[key] <= 0):
            raise PolicyError(f"{path}: [doi] {key} must be a positive number")
    return DoiPolicy(**options)


def _part_rules(path: Path, tables: Any) -> tuple[PartRule, ...]:
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise PolicyError(f'{path}: [doi] parts must be tables: [[doi.parts]] with dois = "tables" or "files"')
    rules = []
    for number, table in enumerate(tables, start=1):
        where = f"{path}: [[doi.parts]] number {number}"
        unknown = sorted(set(table) - _PART_KEYS)
        if unknown:
            raise PolicyError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_PART_KEYS))}")
        mode = table.get("dois")
        if mode not in PART_MODES:
            raise PolicyError(f"{where}: dois = {mode!r}; say one of {', '.join(map(repr, PART_MODES))}")
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("sources", "kinds", "roles"):
            if key in table:
                value = table[key]
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise PolicyError(f"{where}: {key} must be a list of strings")
                lists[key] = tuple(value)
        roles = lists.get("roles", ("data",))
        wrong = sorted(set(roles) - set(FILE_ROLES))
        if wrong:
            hint = ' (a table\'s formats share one DOI: use dois = "tables")' if "table" in wrong else ""
            raise PolicyError(f"{where}: roles {', '.join(wrong)} not file roles{hint}; known: {', '.join(FILE_ROLES)}")
        if "roles" in table and mode != "files":
            raise PolicyError(f"{where}: roles choose files; they mean nothing with dois = {mode!r}")
        rules.append(PartRule(dois=str(mode), **lists))
    return tuple(rules)
