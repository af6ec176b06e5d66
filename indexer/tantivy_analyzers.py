"""The analysers `indexer.document.ANALYZERS` describes, built for tantivy (`indexer.tantivy_schema` registers
them; `indexer.tantivy_phrases` runs them without their length filter to find where it drops a token)."""

from __future__ import annotations

import tantivy

from indexer.document import PHYSICS_TOKEN_PATTERN, AnalyzerName

TOKEN_LIMITS: dict[AnalyzerName, int] = {"prose": 40, "physics": 80, "identifier": 250, "exact": 1000}
"""Each analyser's `remove_long(limit)`, its first filter: tokens of `limit` UTF-8 bytes or more, measured as the
tokenizer cut them, are dropped."""


def tokenizer(name: AnalyzerName) -> tantivy.Tokenizer:
    if name == "prose":
        return tantivy.Tokenizer.simple()
    if name == "physics":
        return tantivy.Tokenizer.regex(PHYSICS_TOKEN_PATTERN)
    if name == "identifier":
        return tantivy.Tokenizer.whitespace()
    return tantivy.Tokenizer.raw()


def build_analyzer(name: AnalyzerName, *, drop_long: bool = True) -> tantivy.TextAnalyzer:
    """The analyser `name`; with `drop_long=False` it keeps the over-long tokens (no other filter drops one)."""
    builder = tantivy.TextAnalyzerBuilder(tokenizer(name))
    if drop_long:
        builder = builder.filter(tantivy.Filter.remove_long(TOKEN_LIMITS[name]))
    builder = builder.filter(tantivy.Filter.lowercase())
    if name == "prose":
        builder = builder.filter(tantivy.Filter.ascii_fold()).filter(tantivy.Filter.stemmer("english"))
    return builder.build()


def analyzers() -> dict[AnalyzerName, tantivy.TextAnalyzer]:
    return {name: build_analyzer(name) for name in TOKEN_LIMITS}
