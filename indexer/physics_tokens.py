"""The physics analyser's tokens cut by Python's `re` wherever it provably cuts them as tantivy's analyser does.

Word pairs (`indexer.tantivy_phrases`) need each physics text's tokens exactly as the index holds them. Asking the
analyser from Python costs about 0.2 µs per character (tantivy's regex tokenizer, called through PyO3), Python's
`re` a third of that. The two engines agree on a text when they classify each of its characters alike — a letter,
mark or digit of the token pattern, one of its joiners (`->`, `→`, `-`, `−`, ...), a trailing sign, or a separator —
because both take the leftmost match and, within it, the first alternative that succeeds. For ASCII that holds by
construction (`ASCII_PATTERN`). A non-ASCII character is checked once, on probes, by both engines and by the
analyser's lower-casing (`_agrees`); a text holding any character that fails the check, or a Greek capital sigma
(Python lower-cases it by its place in a word, tantivy never), is left to the analyser.

Measured on generated Zenodo records, whose descriptions hold `×` and `–`: 51 → 16 µs per physics text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from indexer.document import PHYSICS_TOKEN_PATTERN
from indexer.tantivy_analyzers import TOKEN_LIMITS

ASCII_PATTERN = re.compile(
    PHYSICS_TOKEN_PATTERN.replace(r"[\p{L}\p{M}\p{N}]", "[A-Za-z0-9]").replace("|→", "").replace("−", "")
)
"""The pattern on ASCII text: its letters, marks and digits are the ASCII letters and digits, and its non-ASCII
joiners (`→`, `−`) cannot occur."""
if ASCII_PATTERN.pattern != r"[A-Za-z0-9]+(?:(?:->|[-+*/_^.'])[A-Za-z0-9]+)*[+\-*']*":
    raise ValueError(f"the physics pattern changed: write its ASCII form again ({PHYSICS_TOKEN_PATTERN})")

UNICODE_PATTERN = re.compile(PHYSICS_TOKEN_PATTERN.replace(r"[\p{L}\p{M}\p{N}]", r"[^\W_]"))
"""The pattern for Python's `re` on any text: `[^\\W_]` (letters and numbers as Python's Unicode tables have them)
stands for `\\p{L}\\p{M}\\p{N}`; where the two classes differ for a character, `_agrees` finds it out."""

LIMIT = TOKEN_LIMITS["physics"]
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_PROBES = ("a{}b", "{}", "a{}", "{}b", "a{}{}b")
"""Each probe tells one class of the pattern from the others: a letter makes `{}` a token, a joiner joins `a{}b`,
a trailing sign stays on `a{}`, a separator splits."""
CONTEXTUAL_LOWERCASE = frozenset("\u03a3")
"""Python lower-cases a capital sigma by where it stands in a word (σ or final ς); tantivy always writes σ."""

Tokenize = Callable[[str], list[str]]


class PhysicsTokens:
    """Token runs of the physics analyser computed in Python, given the analyser itself to check characters on.

    `tokenize` cuts text as the analyser's tokenizer does and `analyse` adds its lower-casing (both without the
    length filter): the index's own analyser, not a description of it, decides which characters Python may cut."""

    def __init__(self, tokenize: Tokenize, analyse: Tokenize) -> None:
        self._tokenize = tokenize
        self._analyse = analyse
        self._verdicts: dict[str, bool] = {}

    def runs(self, text: str) -> list[list[str]] | None:
        """The text's lower-cased tokens in runs split where the analyser drops an over-long one (of `LIMIT` UTF-8
        bytes or more, as cut); None when the text holds a character Python may not cut."""
        if text.isascii():
            tokens: list[str] = ASCII_PATTERN.findall(text.lower())
            if max(map(len, tokens), default=0) < LIMIT:
                return [tokens] if tokens else []
            return split_at_long(tokens, [len(token) for token in tokens], LIMIT)
        verdicts = self._verdicts
        for char in set(_NON_ASCII.findall(text)):
            verdict = verdicts.get(char)
            if verdict is None:
                verdict = verdicts[char] = self._agrees(char)
            if not verdict:
                return None
        cut: list[str] = UNICODE_PATTERN.findall(text)
        lowered = [token.lower() for token in cut]
        lengths = [len(token.encode()) for token in cut]
        if max(lengths, default=0) < LIMIT:
            return [lowered] if lowered else []
        return split_at_long(lowered, lengths, LIMIT)

    def _agrees(self, char: str) -> bool:
        """Whether both engines put `char` in the same class of the pattern and lower-case it alike."""
        if char in CONTEXTUAL_LOWERCASE:
            return False
        for probe in (shape.format(char, char) for shape in _PROBES):
            cut = UNICODE_PATTERN.findall(probe)
            if self._tokenize(probe) != cut or self._analyse(probe) != [token.lower() for token in cut]:
                return False
        return True


def split_at_long(tokens: list[str], lengths: list[int], limit: int) -> list[list[str]]:
    """The runs of tokens under `limit` bytes (`lengths`, as the tokenizer cut them): the analyser drops the others."""
    runs: list[list[str]] = [[]]
    for token, length in zip(tokens, lengths, strict=True):
        if length < limit:
            runs[-1].append(token)
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]
