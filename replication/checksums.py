"""Checksums of files, computed in one streaming pass: Rucio's adler32 and md5, and whatever the catalogue has."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ontology.model import Checksum

CHUNK = 4 << 20


@dataclass(frozen=True)
class Digests:
    size: int
    adler32: str  # 8 lower-case hex digits, as Rucio stores it
    md5: str
    extra: dict[str, str]  # algorithm → hex, for the catalogue's own algorithm (sha256, sha1, sha512)

    def matches(self, checksum: Checksum) -> bool:
        return self.value(checksum.algorithm) == checksum.value.lower()

    def value(self, algorithm: str) -> str | None:
        if algorithm == "adler32":
            return self.adler32
        if algorithm == "md5":
            return self.md5
        return self.extra.get(algorithm)


def adler32_hex(value: int) -> str:
    return f"{value & 0xFFFFFFFF:08x}"


def digest_chunks(chunks: Iterable[bytes], also: Iterable[str] = ()) -> Digests:
    adler = 1
    md5 = hashlib.md5(usedforsecurity=False)
    extra = {name: hashlib.new(name) for name in set(also) - {"adler32", "md5"}}
    size = 0
    for chunk in chunks:
        size += len(chunk)
        adler = zlib.adler32(chunk, adler)
        md5.update(chunk)
        for hasher in extra.values():
            hasher.update(chunk)
    return Digests(size, adler32_hex(adler), md5.hexdigest(), {k: h.hexdigest() for k, h in extra.items()})


def _read(path: Path) -> Iterable[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def digest_file(path: Path, also: Iterable[str] = ()) -> Digests:
    return digest_chunks(_read(path), also)
