"""The sources file (TOML): which portals to harvest, with what options and how politely.

```toml
[defaults]
contact = "data-manager@example.org"     # sent in the User-Agent of every request

[sources.cernopendata]
kind = "cernopendata"                    # a connector kind
url = "https://opendata.cern.ch"
max_deletion_fraction = 0.1              # hold back a full listing's disappearances above this share of records
[sources.cernopendata.options]           # kind-specific
[sources.cernopendata.limits]
requests_per_minute = 60                 # omitted: the polite default for the host, else for the kind
concurrency = 4
schedule = "every 6h"                    # or cron in UTC: "*/15 * * * *"; see harvester.schedules
timeout = "2h"                           # the longest a run may take; it then stops after the page in hand
[sources.cernopendata.notify]            # after each harvest run (harvester.notify)
email = ["data-manager@example.org"]
webhook = "https://chat.example.org/hooks/dmlake"
on = ["failure", "pending_deletions", "error_rate"]
error_rate_jump = 0.05                   # a rise of 5 percentage points in the share of records that failed

[notify]                                 # how notifications are sent
smtp_host = "smtp.example.org"
smtp_port = 587
from = "dmlake@example.org"
starttls = true
username = "dmlake"
password_env = "DMLAKE_SMTP_PASSWORD"    # the variable holding the password, never the password itself
public_url = "https://lake.example.org"  # links in notifications (DMLAKE_PUBLIC_URL overrides it)

[scheduler]                              # `dmlake scheduler run` (harvester.scheduler)
misfire_grace = "1h"                     # a run this late (the scheduler was down or busy) still runs
coalesce = true                          # several missed runs of a source run once
workers = 4                              # sources harvested at the same time at most
```

`requests_per_minute` left out means polite, not unlimited: the default rate of the source's host
(`connectors.http.POLITE_REQUESTS_PER_MINUTE_BY_HOST`: zenodo.org reached by any kind is 30/min), else of its kind
(`POLITE_REQUESTS_PER_MINUTE`), else none. No limit at all has to be asked for: `requests_per_minute = "unlimited"`.

Every error names the file, the line and the key, and says what would be accepted.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from connectors.base import Limits, SourceSpec
from connectors.http import POLITE_REQUESTS_PER_MINUTE, POLITE_REQUESTS_PER_MINUTE_BY_HOST, polite_limits
from harvester.schedules import DURATION_HELP, ScheduleSyntaxError, parse_duration, parse_schedule

SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class ConfigError(ValueError):
    """A sources file that cannot be used; the message says where and why."""


UNLIMITED = "unlimited"
"""The one spelling of "no request rate limit" in a sources file (TOML has no null)."""


class _LimitsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests_per_minute: float | Literal["unlimited"] | None = None
    """None: not in the file, so the polite default applies; "unlimited": no limit, asked for."""
    concurrency: int = Field(default=4, ge=1, le=64)
    timeout: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=6, ge=0, le=20)

    @field_validator("requests_per_minute", mode="before")
    @classmethod
    def _rate(cls, value: Any) -> float | str:
        if value == UNLIMITED:
            return UNLIMITED
        written = _as_toml(value)
        accepted = f'give requests per minute above 0 (e.g. 60), or "{UNLIMITED}" for no limit'
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                raise ValueError(f"{written} is not a request rate: {accepted}") from None
            raise ValueError(f'{written} is text: write the number without quotes, or "{UNLIMITED}" for no limit')
        # 0 and inf are refused too: people write them meaning "no limit", and "unlimited" says so without a guess
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
            raise ValueError(f"{written} is not a request rate: {accepted}")
        return float(value)


def _as_toml(value: Any) -> str:
    """A parsed TOML value as the file spelt it, so an error quotes what the person wrote."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return repr(value)


NotifyEvent = Literal["failure", "pending_deletions", "error_rate"]
NOTIFY_EVENTS: tuple[NotifyEvent, ...] = ("failure", "pending_deletions", "error_rate")
"""What a source's data managers can be told after a run: it failed, deletions await their confirmation, or the
share of records that failed jumped compared with the previous run."""
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class _SourceNotifyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: list[str] = Field(default_factory=list)
    webhook: str | None = None
    on: list[NotifyEvent] = Field(default_factory=lambda: list(NOTIFY_EVENTS))
    error_rate_jump: float = Field(default=0.05, gt=0, le=1)
    """The rise in the share of failed records (errored + quarantined over those seen) versus the previous run
    that counts as a jump: 0.05 = five percentage points."""

    @field_validator("email", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]  # one address written without the list brackets
        if isinstance(value, list):
            for address in value:
                if not isinstance(address, str) or not EMAIL.match(address):
                    raise ValueError(f"{_as_toml(address)} is not an e-mail address")
        return value

    @field_validator("webhook")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value


class _SourceModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    url: str
    enabled: bool = True
    max_deletion_fraction: float = Field(default=0.1, ge=0, le=1)
    schedule: str | None = None
    timeout: str | None = None
    """The longest a run may take (a duration); not `limits.timeout`, which is per request (seconds)."""
    options: dict[str, Any] = Field(default_factory=dict)
    limits: _LimitsModel = Field(default_factory=_LimitsModel)
    notify: _SourceNotifyModel | None = None

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f'{_as_toml(value)} is not a schedule: write it in quotes, e.g. "every 6h"')
        try:
            return parse_schedule(value).text
        except ScheduleSyntaxError as error:
            raise ValueError(str(error)) from None

    @field_validator("timeout", mode="before")
    @classmethod
    def _run_timeout(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(
                f"{_as_toml(value)}: the run timeout is {DURATION_HELP}, in quotes (the per-request timeout in "
                "seconds is the limits table's `timeout`)"
            )
        try:
            parse_duration(value)
        except ScheduleSyntaxError as error:
            raise ValueError(str(error)) from None
        return value.strip()

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")


class _DefaultsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact: str | None = None


class _NotifyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    sender: str | None = Field(default=None, alias="from")
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None
    """The environment variable holding the SMTP password (never the password itself in the file)."""
    public_url: str | None = None
    """The portal's public address, for the link in each notification (`DMLAKE_PUBLIC_URL` overrides it)."""
    timeout: float = Field(default=10.0, gt=0)

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.match(value):
            raise ValueError(f"{_as_toml(value)} is not an e-mail address")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return None if value is None else value.rstrip("/")


class _SchedulerModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    misfire_grace: str = "1h"
    coalesce: bool = True
    workers: int = Field(default=4, ge=1, le=64)

    @field_validator("misfire_grace", mode="before")
    @classmethod
    def _grace(cls, value: Any) -> str:
        try:
            parse_duration(value)
        except ScheduleSyntaxError as error:
            raise ValueError(str(error)) from None
        return str(value).strip()


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    defaults: _DefaultsModel = Field(default_factory=_DefaultsModel)
    notify: _NotifyModel = Field(default_factory=_NotifyModel)
    scheduler: _SchedulerModel = Field(default_factory=_SchedulerModel)
    sources: dict[str, _SourceModel] = Field(default_factory=dict)


@dataclass(frozen=True)
class RateOrigin:
    """Where a source's effective request rate came from, for people reading `dmlake sources`."""

    by: Literal["file", "host", "kind", "none", "caller"]
    """`file`: set in the sources file (a number or "unlimited"); `host`/`kind`: omitted, so the polite default of
    that host or kind applies; `none`: omitted, and neither has a default (unlimited); `caller`: built in code."""
    name: str = ""
    """The host or kind whose default applies (for `none`, the kind that has none)."""

    def __str__(self) -> str:
        return {
            "file": "set in the file",
            "host": f"default for host {self.name}",
            "kind": f"default for kind {self.name}",
            "none": f"no default for kind {self.name} or its host",
            "caller": "as given",
        }[self.by]


@dataclass(frozen=True)
class SourceNotify:
    """Whom to tell about a source's runs (`[sources.NAME.notify]`), and about what."""

    email: tuple[str, ...] = ()
    webhook: str | None = None
    on: tuple[str, ...] = NOTIFY_EVENTS
    error_rate_jump: float = 0.05

    @property
    def anyone(self) -> bool:
        return bool(self.email or self.webhook)


@dataclass(frozen=True)
class NotifySettings:
    """How notifications are sent (`[notify]`): the SMTP server and the portal address for links."""

    smtp_host: str = "localhost"
    smtp_port: int = 25
    sender: str | None = None
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None
    public_url: str | None = None
    timeout: float = 10.0


@dataclass(frozen=True)
class SchedulerSettings:
    """How `dmlake scheduler run` treats late runs and how many sources it harvests at once (`[scheduler]`)."""

    misfire_grace_seconds: float = 3600.0
    """A run whose time passed (the scheduler was down, or every worker busy) still starts if this late at most."""
    coalesce: bool = True
    """Several missed run times of one source become one run."""
    workers: int = 4


@dataclass(frozen=True)
class Source:
    """A configured source: the connector's spec plus what the harvester itself needs."""

    spec: SourceSpec
    enabled: bool
    max_deletion_fraction: float
    schedule: str | None
    """As `harvester.schedules.parse_schedule` normalised it; the scheduler reads it (a run-time setting wins)."""
    rate_origin: RateOrigin = RateOrigin("caller")
    notify: SourceNotify | None = None
    timeout_seconds: float | None = None
    """The longest a run may take: the harvest stops after the page in hand and the run fails, saying so."""

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class SourcesConfig:
    path: str
    sources: dict[str, Source]
    contact: str | None
    notify: NotifySettings = NotifySettings()
    scheduler: SchedulerSettings = SchedulerSettings()

    def select(self, names: list[str] | tuple[str, ...]) -> list[Source]:
        """The named sources (all enabled ones when none is named); unknown names are an error listing the known."""
        if not names:
            return [s for s in self.sources.values() if s.enabled]
        unknown = [n for n in names if n not in self.sources]
        if unknown:
            raise ConfigError(
                f"{self.path}: no source named {', '.join(map(repr, unknown))}; "
                f"configured: {', '.join(self.sources) or '(none)'}"
            )
        return [self.sources[n] for n in names]


def default_config_text() -> str:
    return (resources.files("harvester") / "default_sources.toml").read_text(encoding="utf-8")


def load(path: Path | None, known_kinds: list[str] | None = None) -> SourcesConfig:
    """Read and validate a sources file (the built-in default config when `path` is None)."""
    text = default_config_text() if path is None else _read(path)
    return parse(text, str(path) if path else "<default sources>", known_kinds)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such sources file") from None


def parse(text: str, origin: str, known_kinds: list[str] | None = None) -> SourcesConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{origin}: not valid TOML: {error}") from None
    try:
        model = _FileModel.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        raise ConfigError(_explain(origin, text, first)) from None
    sources = {}
    for name, source in model.sources.items():
        if not SOURCE_NAME.match(name):
            line = _line_of(text, ("sources", name))
            raise ConfigError(
                f"{origin}:{line}: source name {name!r} must be letters, digits, '.', '_' or '-' (max 100)"
            )
        if known_kinds is not None and source.kind not in known_kinds:
            line = _line_of(text, ("sources", name, "kind"))
            suggestion = difflib.get_close_matches(source.kind, known_kinds, n=1)
            hint = f"; did you mean {suggestion[0]!r}?" if suggestion else ""
            raise ConfigError(
                f"{origin}:{line}: [sources.{name}] kind = {source.kind!r} is not a connector kind{hint} "
                f"(known: {', '.join(sorted(known_kinds))})"
            )
        limits, rate_origin = _effective_limits(source)
        spec = SourceSpec(name=name, kind=source.kind, url=source.url, options=source.options, limits=limits)
        notify = None
        if source.notify is not None:
            notify = SourceNotify(
                tuple(source.notify.email),
                source.notify.webhook,
                tuple(dict.fromkeys(source.notify.on)),
                source.notify.error_rate_jump,
            )
        timeout = parse_duration(source.timeout).total_seconds() if source.timeout else None
        sources[name] = Source(
            spec,
            source.enabled,
            source.max_deletion_fraction,
            source.schedule,
            rate_origin,
            notify=notify,
            timeout_seconds=timeout,
        )
    settings = NotifySettings(**model.notify.model_dump())
    scheduler = SchedulerSettings(
        parse_duration(model.scheduler.misfire_grace).total_seconds(), model.scheduler.coalesce, model.scheduler.workers
    )
    return SourcesConfig(origin, sources, model.defaults.contact, settings, scheduler)


def _effective_limits(source: _SourceModel) -> tuple[Limits, RateOrigin]:
    """The limits the HTTP client gets (`requests_per_minute=None` there: unlimited) and where the rate came from."""
    written = source.limits.model_dump()
    rate = written.pop("requests_per_minute")
    limits = Limits(**written)
    if rate == UNLIMITED:
        return limits, RateOrigin("file")
    if rate is not None:
        return replace(limits, requests_per_minute=rate), RateOrigin("file")
    limits = polite_limits(source.kind, limits, url=source.url)
    host = urlsplit(source.url).hostname or ""
    if host in POLITE_REQUESTS_PER_MINUTE_BY_HOST:
        return limits, RateOrigin("host", host)
    if source.kind in POLITE_REQUESTS_PER_MINUTE:
        return limits, RateOrigin("kind", source.kind)
    return limits, RateOrigin("none", source.kind)


def _explain(origin: str, text: str, error: Any) -> str:
    location = tuple(str(part) for part in error["loc"])
    line = _line_of(text, location)
    key = ".".join(location)
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(location[:-1])
        suggestion = difflib.get_close_matches(location[-1], allowed, n=1)
        hint = f"; did you mean {suggestion[0]!r}?" if suggestion else f"; allowed: {', '.join(allowed)}"
        message = f"unknown key {location[-1]!r}{hint}"
    elif error["type"] == "missing":
        message = "is required"
    elif error["type"] == "value_error":
        message = message.removeprefix("Value error, ")
    return f"{origin}:{line}: {key}: {message}"


def _allowed_keys(parent: tuple[str, ...]) -> list[str]:
    if not parent:
        return list(_FileModel.model_fields)
    if parent == ("defaults",):
        return list(_DefaultsModel.model_fields)
    if parent == ("notify",):
        return [field.alias or name for name, field in _NotifyModel.model_fields.items()]
    if parent == ("scheduler",):
        return list(_SchedulerModel.model_fields)
    if len(parent) == 3 and parent[0] == "sources" and parent[2] == "notify":
        return list(_SourceNotifyModel.model_fields)
    if len(parent) == 2 and parent[0] == "sources":
        return list(_SourceModel.model_fields)
    if len(parent) == 3 and parent[2] == "limits":
        return list(_LimitsModel.model_fields)
    return []


def _line_of(text: str, location: tuple[str, ...]) -> int:
    """Best-effort line number of a key path: the table header, then the key inside it (1-based)."""
    lines = text.splitlines()
    best = 1
    for depth in range(len(location), 0, -1):
        table = ".".join(location[:depth])
        header = re.compile(r"^\s*\[\s*" + re.escape(table).replace(r"\.", r"\s*\.\s*") + r"\s*\]")
        for number, line in enumerate(lines, start=1):
            if header.match(line):
                best = number
                rest = location[depth:]
                if rest:
                    key = re.compile(r"^\s*" + re.escape(rest[0]) + r"\s*=")
                    for offset, following in enumerate(lines[number:], start=number + 1):
                        if following.lstrip().startswith("["):
                            break
                        if key.match(following):
                            return offset
                return best
    if location:
        key = re.compile(r"^\s*" + re.escape(location[-1]) + r"\s*=")
        for number, line in enumerate(lines, start=1):
            if key.match(line):
                return number
    return best
