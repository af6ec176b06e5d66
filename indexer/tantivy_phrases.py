"""Exact phrases on tantivy read from word pairs, as Elasticsearch's `index_phrases` reads them from shingles.

A phrase query reads the positions of every document holding all its words and keeps those where they stand in a
row. Common words make that dear: `"open data"` over the titles and physics texts of 1M records reads the positions
of 142,000 documents twice, 20 ms, a third of the CPU of the portal's load mix. Elasticsearch answers this with
`index_phrases` on a text field: each pair of adjacent tokens is also indexed, as one term, in a hidden field, and a
phrase without slop is read there — a two-word phrase becomes one term's postings, a longer one a phrase over the
pairs. The fields of `indexer.document.TEXT_FIELDS` declared with `phrases=True` get the same here: their tantivy
index holds a companion field `<name>__pairs` whose tokens are the field's analysed tokens joined in pairs
(`"Open data release"` → `open·data data·releas`), and `PhrasePlanner.rewrite` writes the search text's exact
phrases on those fields as phrases of pairs.

The hits are the same documents (a phrase of tokens in a row is a row of their pairs, and the reverse), and a phrase
of two tokens is scored as Elasticsearch scores it with `index_phrases`: BM25 of one term of the pairs field, times
the field's boost. Where the analyser drops a token over its length limit, a phrase must not match across the gap:
a value's pairs are written as one value per run of kept tokens (tantivy leaves a position gap between the values of
a field), and a query phrase with such a gap keeps the field's own phrase query. Phrases with slop (`"a b"~2`) and
prefix phrases (`"a b"*`) are left as they are, as Elasticsearch leaves them.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

import tantivy

from indexer.document import TEXT_FIELDS, AnalyzerName, phrase_pairs_field
from indexer.physics_tokens import PhysicsTokens, split_at_long
from indexer.query_text import closing_quote, splice
from indexer.tantivy_analyzers import TOKEN_LIMITS, build_analyzer, tokenizer

PAIR_JOINER = "\u00b7"
"""Joins the two tokens of a pair: a middle dot is neither a letter, a mark nor a digit, so neither analyser that
phrases are indexed for (`prose`, `physics`) ever puts one inside a token, and it is not whitespace."""
PAIRS_TOKENIZER = "dmlake_pairs"
CACHED_TEXTS = 256
SHORT_VALUE = 64
"""Values of at most this many characters have their pairs remembered (see `_short_value_pairs`)."""

PHRASE_FIELDS: tuple[str, ...] = tuple(name for name, spec in TEXT_FIELDS.items() if spec.phrases)
if any(TEXT_FIELDS[name].analyzer not in ("prose", "physics") for name in PHRASE_FIELDS):
    raise ValueError(f"word pairs are written for the prose and physics analysers only: {PHRASE_FIELDS}")


def pairs_analyzer() -> tantivy.TextAnalyzer:
    """The companion fields' analyser: the pairs are written already analysed, one per whitespace-separated word."""
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()


@dataclass(frozen=True)
class _Analysis:
    """An analyser without its length filter, and its bare tokenizer (for the lengths the filter would measure)."""

    unlimited: tantivy.TextAnalyzer
    tokenizer: tantivy.TextAnalyzer
    limit: int
    long_word: re.Pattern[str]


LONG_WORD_CHARS: dict[AnalyzerName, str] = {
    "prose": r"[^\s!-/:-@\[-`{-~]",
    "physics": r"[^\s!-&(),:;<=?@\[\\\]`{|}~]",
}
"""Characters a token of the analyser may hold, broadly: none of whitespace and none of the ASCII punctuation its
tokenizer splits at (a prose token is letters and digits; a physics token may also hold `->+*/_^.'`). A token lies
inside one run of them, so a text without a run of `limit` bytes (found among the runs of a quarter as many
characters, 4 bytes each at most) has no over-long token and skips the second tokenization that measures them."""


@lru_cache(maxsize=1)
def _analyses() -> dict[AnalyzerName, _Analysis]:
    return {
        name: _Analysis(
            build_analyzer(name, drop_long=False),
            tantivy.TextAnalyzerBuilder(tokenizer(name)).build(),
            TOKEN_LIMITS[name],
            re.compile(LONG_WORD_CHARS[name] + f"{{{(TOKEN_LIMITS[name] + 3) // 4},}}"),
        )
        for name in LONG_WORD_CHARS
    }


@lru_cache(maxsize=1)
def _physics_tokens() -> PhysicsTokens:
    analysis = _analyses()["physics"]
    return PhysicsTokens(analysis.tokenizer.analyze, analysis.unlimited.analyze)


def token_runs(analyzer: AnalyzerName, text: str) -> list[list[str]]:
    """The text's analysed tokens as the index holds them, split where the analyser dropped an over-long token."""
    if analyzer == "physics":
        # Python cuts physics text three times as fast as the analyser called from Python (`indexer.physics_tokens`)
        runs = _physics_tokens().runs(text)
        if runs is not None:
            return runs
    return _analysed_runs(analyzer, text)


def _analysed_runs(analyzer: AnalyzerName, text: str) -> list[list[str]]:
    """`token_runs` by the analyser itself."""
    analysis = _analyses()[analyzer]
    tokens: list[str] = analysis.unlimited.analyze(text)
    if (
        len(text) < analysis.limit // 4
        # a token lies inside one whitespace-separated chunk: none of `limit` bytes, no over-long token (in C)
        or max(map(len, text.encode().split()), default=0) < analysis.limit
        or not any(len(run.group().encode()) >= analysis.limit for run in analysis.long_word.finditer(text))
    ):
        return [tokens] if tokens else []
    lengths = [len(str(token).encode()) for token in analysis.tokenizer.analyze(text)]
    if len(lengths) != len(tokens):  # the filters above never drop a token; if one did, the runs would be wrong
        raise AssertionError(f"the {analyzer} analyser's filters changed the number of tokens of {text!r}")
    return split_at_long(tokens, lengths, analysis.limit)


def _pairs(run: list[str]) -> str:
    return " ".join(map(PAIR_JOINER.join, pairwise(run)))


def pair_values(analyzer: AnalyzerName, values: Iterable[str]) -> list[str]:
    """The companion field's values for a field's values: one per run of two tokens or more."""
    out: list[str] = []
    for value in values:
        if len(value) <= SHORT_VALUE:
            out.extend(_short_value_pairs(analyzer, value))
            continue
        for run in token_runs(analyzer, value):
            if len(run) > 1:
                out.append(_pairs(run))
    return out


@lru_cache(maxsize=4096)
def _short_value_pairs(analyzer: AnalyzerName, value: str) -> tuple[str, ...]:
    """Short values (keywords, observables, collision spellings, energies) recur from record to record."""
    return tuple(_pairs(run) for run in token_runs(analyzer, value) if len(run) > 1)


def companion_values(document: Mapping[str, Any]) -> dict[str, list[str]]:
    """The companion fields' values of an `indexer.document.index_document` mapping (fields without pairs left out)."""
    companions: dict[str, list[str]] = {}
    for name in PHRASE_FIELDS:
        values = document.get(name)
        if not values:
            continue
        pairs = pair_values(TEXT_FIELDS[name].analyzer, [values] if isinstance(values, str) else values)
        if pairs:
            companions[phrase_pairs_field(name)] = pairs
    return companions


@dataclass(frozen=True)
class Phrase:
    """A quoted phrase of the search text: where it is, its field (None: every full-text field) and its words."""

    start: int
    end: int
    field: str | None
    words: str


_FIELD_BEFORE = re.compile(r"(?:^|(?<=[\s(+\-!]))([A-Za-z_][A-Za-z0-9_]*):$")


def exact_phrases(text: str) -> Iterator[Phrase]:
    """The phrases of the text without slop or prefix, outside `[...]` sets; `start` includes a `FIELD:` prefix."""
    depth = 0
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        elif char == '"':
            end = closing_quote(text, i)
            if end is None:
                return
            following = text[end + 1 : end + 2]
            if depth == 0 and following not in ("~", "*"):
                field_match = _FIELD_BEFORE.search(text, 0, i)
                field = field_match.group(1) if field_match else None
                start = field_match.start(1) if field_match else i
                yield Phrase(start, end + 1, field, _unescape(text[i + 1 : end]))
            i = end + 1
            continue
        i += 1


def _unescape(words: str) -> str:
    return re.sub(r"\\(.)", r"\1", words)


def _quoted(words: str) -> str:
    return '"' + words.replace("\\", "\\\\").replace('"', '\\"') + '"'


class PhrasePlanner:
    """Rewrites the search text's exact phrases on the fields with word pairs (see the module doc); remembers the
    last texts it rewrote, as the portal asks the same ones again and again."""

    def __init__(self) -> None:
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def rewrite(self, text: str) -> str:
        if '"' not in text or not PHRASE_FIELDS:
            return text
        with self._lock:
            known = self._texts.get(text)
        if known is not None:
            return known
        rewritten = rewrite_phrases(text)
        with self._lock:
            self._texts[text] = rewritten
            while len(self._texts) > CACHED_TEXTS:
                self._texts.popitem(last=False)
        return rewritten


def rewrite_phrases(text: str) -> str:
    return splice(text, ((phrase.start, phrase.end, _phrase_query(phrase)) for phrase in exact_phrases(text)))


def _phrase_query(phrase: Phrase) -> str | None:
    """The phrase over the pairs where some field has them; None to leave it as written."""
    if phrase.field is not None:
        if phrase.field not in PHRASE_FIELDS:
            return None
        return _pairs_clause(phrase.field, phrase.words)
    clauses = []
    paired = False
    for name in TEXT_FIELDS:
        clause = _pairs_clause(name, phrase.words) if name in PHRASE_FIELDS else None
        paired = paired or clause is not None
        # Fields where the words make no token: tantivy drops them from a default-field phrase, and so from these
        # explicit clauses; kept, they are the same query as the default expansion's.
        clauses.append(clause or f"{name}:{_quoted(phrase.words)}")
    return "(" + " OR ".join(clauses) + ")" if paired else None


def _pairs_clause(name: str, words: str) -> str | None:
    runs = token_runs(TEXT_FIELDS[name].analyzer, words)
    if len(runs) != 1 or len(runs[0]) < 2:
        return None  # no pair to read, or a dropped token inside the phrase: the field's own phrase query
    return f"{phrase_pairs_field(name)}:{_quoted(_pairs(runs[0]))}"
