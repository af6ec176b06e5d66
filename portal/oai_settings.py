"""How the OAI-PMH provider describes itself and pages its lists, from the environment with sensible defaults.

* `DMLAKE_OAI_REPOSITORY_NAME`: Identify's repositoryName (default `REPOSITORY_NAME`);
* `DMLAKE_OAI_REPOSITORY_IDENTIFIER`: the domain in the item identifiers `oai:<domain>:<source>/<native id>`
  (default `dmlake.localhost`);
* `DMLAKE_OAI_ADMIN_EMAIL`: Identify's adminEmail, comma-separated for several (default: the sources file's
  `contact`, else `$DMLAKE_CONTACT`, whichever is an address with a dotted domain, else `dmlake-admin@example.org`);
* `DMLAKE_OAI_BASE_URL`: the base URL when the service runs behind a proxy (default: the URL the request came to);
* `DMLAKE_OAI_PAGE_SIZE`, `DMLAKE_OAI_IDENTIFIERS_PAGE_SIZE`: records per ListRecords and headers per
  ListIdentifiers response (100 and 500);
* `DMLAKE_OAI_TOKEN_LIFETIME`: seconds a resumption token stays valid, at least 600 (default 86400, a day);
* `DMLAKE_OAI_DATACENTRE_SYMBOL`: oai_datacite's datacentreSymbol (default `DMLAKE`).

The repository identifier names the items for good: set it to a domain the operator controls before harvesters
first come (the default, under the reserved `.localhost` top-level domain, says plainly that it is local).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

REPOSITORY_NAME = "dmlake: dark-matter, astroparticle and high-energy-physics open data"
REPOSITORY_IDENTIFIER = "dmlake.localhost"
FALLBACK_ADMIN_EMAIL = "dmlake-admin@example.org"
MINIMUM_TOKEN_LIFETIME = timedelta(minutes=10)

EMAIL = re.compile(r"^\S+@(\S+\.)+\S+$")
"""OAI-PMH.xsd's emailType: a domain with at least one dot (so `admin@localhost` is not an adminEmail)."""
REPOSITORY_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-]*(\.[a-zA-Z0-9][a-zA-Z0-9\-]*)+$")
"""oai-identifier.xsd's repositoryIdentifierType: a domain name."""


class OaiSettingsError(ValueError):
    """A setting of the OAI-PMH provider is not usable; the message names the variable and the fix."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OaiSettings:
    repository_name: str = REPOSITORY_NAME
    repository_identifier: str = REPOSITORY_IDENTIFIER
    admin_emails: tuple[str, ...] = (FALLBACK_ADMIN_EMAIL,)
    base_url: str | None = None
    page_size: int = 100
    identifiers_page_size: int = 500
    token_lifetime: timedelta = timedelta(days=1)
    datacentre_symbol: str = "DMLAKE"
    clock: Callable[[], datetime] = field(default=utc_now, compare=False)
    """The provider's time (responseDate, token expiry); tests move it."""

    def __post_init__(self) -> None:
        if not REPOSITORY_ID.match(self.repository_identifier):
            raise OaiSettingsError(
                f"DMLAKE_OAI_REPOSITORY_IDENTIFIER {self.repository_identifier!r} is not a domain name "
                "(letters, digits and hyphens, at least one dot), as OAI identifiers require"
            )
        bad = [email for email in self.admin_emails if not EMAIL.match(email)]
        if bad or not self.admin_emails:
            raise OaiSettingsError(
                f"DMLAKE_OAI_ADMIN_EMAIL: {', '.join(bad) or 'none given'} is not an e-mail address with a domain "
                "that has a dot (OAI-PMH's adminEmail)"
            )
        if self.page_size < 1 or self.identifiers_page_size < 1:
            raise OaiSettingsError("DMLAKE_OAI_PAGE_SIZE and DMLAKE_OAI_IDENTIFIERS_PAGE_SIZE must be at least 1")

    @classmethod
    def from_env(cls, contact: str | None = None, environ: Mapping[str, str] | None = None) -> OaiSettings:
        """Settings from the environment; `contact` is the sources file's contact address, used for adminEmail
        when no DMLAKE_OAI_ADMIN_EMAIL is set and it is a usable address."""
        env = os.environ if environ is None else environ
        emails = tuple(e.strip() for e in env.get("DMLAKE_OAI_ADMIN_EMAIL", "").split(",") if e.strip())
        if not emails:
            candidates = (contact, env.get("DMLAKE_CONTACT"), FALLBACK_ADMIN_EMAIL)
            emails = (next(c for c in candidates if c and EMAIL.match(c)),)
        lifetime = timedelta(seconds=_number(env, "DMLAKE_OAI_TOKEN_LIFETIME", 86400))
        if lifetime < MINIMUM_TOKEN_LIFETIME:
            raise OaiSettingsError(
                f"DMLAKE_OAI_TOKEN_LIFETIME is {lifetime.total_seconds():.0f} s: resumption tokens must stay valid "
                f"for at least {MINIMUM_TOKEN_LIFETIME.total_seconds():.0f} s so that slow harvesters can finish"
            )
        return cls(
            repository_name=env.get("DMLAKE_OAI_REPOSITORY_NAME") or REPOSITORY_NAME,
            repository_identifier=env.get("DMLAKE_OAI_REPOSITORY_IDENTIFIER") or REPOSITORY_IDENTIFIER,
            admin_emails=emails,
            base_url=(env.get("DMLAKE_OAI_BASE_URL") or "").rstrip("/") or None,
            page_size=int(_number(env, "DMLAKE_OAI_PAGE_SIZE", 100)),
            identifiers_page_size=int(_number(env, "DMLAKE_OAI_IDENTIFIERS_PAGE_SIZE", 500)),
            token_lifetime=lifetime,
            datacentre_symbol=env.get("DMLAKE_OAI_DATACENTRE_SYMBOL") or "DMLAKE",
        )


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise OaiSettingsError(f"{name} must be a number, not {text!r}") from None
