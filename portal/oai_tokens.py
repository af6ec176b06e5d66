"""Resumption tokens that need no server memory: the list request and the position in it, signed.

A token carries everything the next page needs — the verb, metadataPrefix, set, the lower and the (frozen) upper
datestamp bound, the last (datestamp, record id) delivered, the cursor and the expiry — as compact JSON in base64url,
followed by an HMAC-SHA256 (truncated to 128 bits) over those bytes. So a token

* is valid in any process that has the same key, in particular after a restart of the service: the key is kept in
  the dmlake home (`oai-token.key`, created with mode 0600 on first use, 256 random bits);
* cannot be altered or forged (a harvester cannot widen its list or jump to records it was not given);
* expires at the time it states (`expirationDate`), and not before: nothing is evicted.

Resuming from the last (datestamp, id) seen, in that order, rather than from an offset means records added, changed
or deleted elsewhere in the list while a harvester pages through it shift nothing: every record that does not change
during the listing is delivered exactly once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

KEY_FILE = "oai-token.key"
TOKEN_VERSION = 1
_MAC_BYTES = 16


class BadToken(ValueError):
    """A resumption token this repository cannot resume from; the message says why and what to do."""


@dataclass(frozen=True)
class ListPosition:
    """Where a list request stands: the request itself and how far it got."""

    verb: str
    prefix: str
    set_spec: str | None
    lower: str | None
    """Smallest stamp in the list (from `from`), inclusive."""
    upper: str
    """Largest stamp in the list (from `until`, or the time of the first request), inclusive."""
    after: tuple[str, str] | None
    """The (stamp, record id) of the last item delivered; None before the first page."""
    cursor: int
    """Items delivered before the next page."""


def load_or_create_key(home: Path) -> bytes:
    """The home's token key, made on first use. The file appears whole (written aside, then hard-linked into
    place), so two processes starting at once end up with the same key."""
    path = home / KEY_FILE
    if not path.exists():
        aside = home / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32) + "\n")
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            aside.unlink()
    text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise RuntimeError(f"{path} does not hold a hex key: delete it to have a new one made") from None
    if len(key) < 16:
        raise RuntimeError(f"{path} holds a key of {len(key)} bytes; at least 16 are needed: delete it")
    return key


class TokenCodec:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def encode(self, position: ListPosition, expires: datetime) -> str:
        payload = orjson.dumps(
            {
                "v": TOKEN_VERSION,
                "verb": position.verb,
                "p": position.prefix,
                "s": position.set_spec,
                "lo": position.lower,
                "up": position.upper,
                "a": list(position.after) if position.after else None,
                "c": position.cursor,
                "x": int(expires.timestamp()),
            }
        )
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def decode(self, token: str, verb: str, now: datetime) -> tuple[ListPosition, datetime]:
        """The position a token resumes, and when it expires; BadToken if it is not ours, altered, for another verb
        or expired."""
        body, dot, mac = token.partition(".")
        try:
            payload = _unb64(body)
            given = _unb64(mac)
        except (ValueError, binascii.Error):
            raise BadToken(f"{_short(token)} is not a resumption token of this repository") from None
        if not dot or not hmac.compare_digest(given, self._mac(payload)):
            raise BadToken(
                f"{_short(token)} was not issued by this repository or was altered; start the list again without it"
            )
        try:
            data = orjson.loads(payload)
            after = data["a"]
            position = ListPosition(
                verb=str(data["verb"]),
                prefix=str(data["p"]),
                set_spec=data["s"],
                lower=data["lo"],
                upper=str(data["up"]),
                after=(str(after[0]), str(after[1])) if after else None,
                cursor=int(data["c"]),
            )
            expires = datetime.fromtimestamp(int(data["x"]), UTC)
            version = data["v"]
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, ValueError):
            raise BadToken(f"{_short(token)} is not a resumption token of this repository") from None
        if version != TOKEN_VERSION:
            raise BadToken("the resumption token is from another version of this repository; start the list again")
        if position.verb != verb:
            raise BadToken(f"the resumption token continues a {position.verb} list, not {verb}")
        if now >= expires:
            resume = f" with from={position.after[0][:19]}Z" if position.after else ""
            raise BadToken(
                f"the resumption token expired at {expires:%Y-%m-%dT%H:%M:%SZ}; start the list again{resume}"
            )
        return position, expires

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _ALPHABET for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _short(token: str) -> str:
    return repr(token if len(token) <= 40 else token[:37] + "...")
