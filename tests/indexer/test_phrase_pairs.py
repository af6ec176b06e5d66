"""Exact phrases read from word pairs (`indexer.tantivy_phrases`, Elasticsearch's `index_phrases`): the companion
fields hold the analysed tokens in pairs, never across a token the analyser dropped or across two values, and a
search finds the same documents as the phrase query it replaces — over the 7,443 real CERN Open Data records and
over hand-made texts at the edges."""

from __future__ import annotations

import random
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import tantivy
from es_testing import cern_documents

from indexer.document import TEXT_FIELDS, index_document, phrase_pairs_field
from indexer.elasticsearch_template import field_mappings
from indexer.query import Query
from indexer.query_text import search_text
from indexer.tantivy_backend import TantivyIndex
from indexer.tantivy_phrases import (
    PAIR_JOINER,
    PHRASE_FIELDS,
    PhrasePlanner,
    _analysed_runs,
    _physics_tokens,
    companion_values,
    exact_phrases,
    pair_values,
    rewrite_phrases,
    token_runs,
)
from indexer.tantivy_schema import analyzers
from ontology.model import Record

LONG_WORD = "x" * 45  # over the prose analyser's 40 bytes, under the physics analyser's 80


def test_pairs_are_the_analysed_tokens_two_by_two() -> None:
    assert pair_values("prose", ["Measurements of Neutrino Oscillations"]) == [
        f"measur{PAIR_JOINER}of of{PAIR_JOINER}neutrino neutrino{PAIR_JOINER}oscil"
    ]
    assert pair_values("physics", ["B0->K*mumu at 13TeV"]) == [f"b0->k*mumu{PAIR_JOINER}at at{PAIR_JOINER}13tev"]
    assert pair_values("prose", ["Muon", "", "!!"]) == []  # no value of two tokens: nothing to pair


def test_a_dropped_token_splits_the_pairs_and_values_never_join() -> None:
    assert token_runs("prose", f"open {LONG_WORD} data release") == [["open"], ["data", "releas"]]
    assert token_runs("physics", f"open {LONG_WORD} data") == [["open", LONG_WORD, "data"]]
    assert token_runs("prose", f"{LONG_WORD} open data {LONG_WORD}") == [["open", "data"]]
    assert pair_values("prose", [f"cms open {LONG_WORD} data set", "higgs boson"]) == [
        f"cms{PAIR_JOINER}open",
        f"data{PAIR_JOINER}set",
        f"higg{PAIR_JOINER}boson",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Élan of neutrino oscillations in Pb-Pb collisions at √s = 5.02 TeV",
        f"a {LONG_WORD} b",
        "ab" * 19 + "c " + "ab" * 20 + " d",  # 39 bytes kept, 40 dropped
        "短" * 13 + " " + "短" * 14 + " end",  # 39 and 42 bytes: three bytes a character
        "B0->K*mumu " + "p_T" * 27 + " J/psi",  # 81-byte physics token
        "/BTau/Run2010B-Apr21ReReco-v1/AOD data set",
        # whitespace-separated chunks of 40 bytes and more without an over-long token (the quick test passes them on)
        "a\u00a0" * 30 + "end of a chunk joined by no-break spaces",
        "x" * 39 + "\x1c" + "y" * 39 + " " + "z." * 45,
        "électron-positron→μ+μ−→" * 3 + " " + "ab" * 20,
    ],
)
def test_the_runs_hold_exactly_the_tokens_the_field_analysers_index(text: str) -> None:
    for analyzer in ("prose", "physics"):
        indexed = analyzers()[analyzer].analyze(text)
        assert [token for run in token_runs(analyzer, text) for token in run] == indexed


def test_the_runs_match_the_analysers_over_real_titles_and_descriptions(corpus: Path) -> None:
    for document in cern_documents(corpus, step=25):
        for name in ("title", "description", "physics"):
            analyzer = TEXT_FIELDS[name].analyzer
            for value in document[name]:
                runs = token_runs(analyzer, value)
                assert [token for run in runs for token in run] == analyzers()[analyzer].analyze(value), (
                    document["id"],
                    name,
                )
                # short values' pairs are remembered: the same as computed afresh
                expected = [" ".join(map(PAIR_JOINER.join, pairwise(run))) for run in runs if len(run) > 1]
                assert pair_values(analyzer, [value]) == pair_values(analyzer, [value]) == expected


def test_companion_values_cover_the_declared_phrase_fields(record_factory: Any) -> None:
    assert set(PHRASE_FIELDS) == {"title", "description", "physics"}
    record: Record = record_factory(3, title="Open data release", description="<p>Data of the CMS experiment</p>")
    companions = companion_values(index_document(record))
    assert companions[phrase_pairs_field("title")] == [f"open{PAIR_JOINER}data data{PAIR_JOINER}releas"]
    assert (
        f"data{PAIR_JOINER}of of{PAIR_JOINER}the the{PAIR_JOINER}cms cms{PAIR_JOINER}experi"
        in (companions[phrase_pairs_field("description")])
    )
    assert f"open{PAIR_JOINER}data data{PAIR_JOINER}release" in companions[phrase_pairs_field("physics")]


def test_the_elasticsearch_mapping_indexes_phrases_on_the_same_fields() -> None:
    mappings = field_mappings()
    assert {name for name in TEXT_FIELDS if mappings[name].get("index_phrases")} == set(PHRASE_FIELDS)


def test_the_scanner_finds_exact_phrases_with_their_field() -> None:
    text = (
        'title:"open data" -"dark matter"^2 "a b"~2 "c d"* physics:"b0->k*mumu x" keyword: IN ["x y"] '
        'description:"say \\"hi\\" there" (NOT "e f")'
    )
    found = [(phrase.field, phrase.words, text[phrase.start : phrase.end]) for phrase in exact_phrases(text)]
    assert found == [
        ("title", "open data", 'title:"open data"'),
        (None, "dark matter", '"dark matter"'),
        ("physics", "b0->k*mumu x", 'physics:"b0->k*mumu x"'),
        ("description", 'say "hi" there', 'description:"say \\"hi\\" there"'),
        (None, "e f", '"e f"'),
    ]
    assert list(exact_phrases('"unclosed phrase')) == []


def test_the_rewrite_leaves_what_it_cannot_read_from_pairs() -> None:
    for text in ('"muon"', '"a b"~1', '"open dat"*', 'keywords:"dark matter"', "open data", 'title_exact:"a b"'):
        assert rewrite_phrases(text) == text
    assert rewrite_phrases(f'title:"open {LONG_WORD} data"') == f'title:"open {LONG_WORD} data"'
    assert rewrite_phrases('title:"open data"^2') == f'title__pairs:"open{PAIR_JOINER}data"^2'
    unfielded = rewrite_phrases('-"open data" muon')
    assert unfielded.startswith(f'-(title__pairs:"open{PAIR_JOINER}data" OR title_exact:"open data" OR ')
    assert unfielded.endswith(f'physics__pairs:"open{PAIR_JOINER}data") muon')
    assert unfielded.count(" OR ") == len(TEXT_FIELDS) - 1


def test_the_planner_remembers_a_bounded_number_of_texts() -> None:
    planner = PhrasePlanner()
    texts = [f'"open data" {n}' for n in range(300)]
    assert [planner.rewrite(text) for text in texts] == [rewrite_phrases(text) for text in texts]
    assert len(planner._texts) == 256
    assert planner.rewrite("no phrase") == "no phrase" and "no phrase" not in planner._texts


@pytest.fixture(scope="module")
def cern_index(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Iterator[TantivyIndex]:
    index = TantivyIndex(tmp_path_factory.mktemp("cern-phrases"))
    index.index_documents(cern_documents(corpus))
    index.commit()
    yield index
    index.close()


def hit_set(index: TantivyIndex, query: tantivy.Query) -> set[tuple[int, int]]:
    searcher = index._pinned_searcher()[0]
    return {(address.segment_ord, address.doc) for _score, address in searcher.search(query, 10_000).hits}


CERN_PHRASES = [
    '"open data"',
    '"collision data"',
    'title:"open data"',
    '"higgs boson" muon',
    '-"proton proton" cms',
    '"pp collisions"^3',
    '"cms open data" 2011',
    'description:"the cms experiment"',
    '"of the"',
    '"data set" OR "simulated events"',
    'physics:"collision data"',
    '"simulated dataset" run2011a',
    '"primary dataset" OR "jet energy"',
    '"for the" masterclass',
    '"the of"',  # words in the wrong order: pairs of the text and of the phrase differ
]


@pytest.mark.parametrize("text", CERN_PHRASES)
def test_phrases_from_pairs_find_the_same_records_as_phrase_queries(cern_index: TantivyIndex, text: str) -> None:
    syntax = search_text(text)
    rewritten = rewrite_phrases(syntax)
    assert rewritten != syntax
    as_phrases = hit_set(cern_index, cern_index._text_query(syntax))
    assert hit_set(cern_index, cern_index._text_query(rewritten)) == as_phrases
    assert cern_index.search(Query.parse(text, size=0)).total == len(as_phrases)


def test_most_phrases_of_the_corpus_match_something(cern_index: TantivyIndex) -> None:
    """The equivalence above is not the trivial one of two empty sets."""
    matched = [text for text in CERN_PHRASES if hit_set(cern_index, cern_index._text_query(search_text(text)))]
    assert len(matched) == len(CERN_PHRASES) - 1, matched


def test_a_phrase_matches_neither_across_a_dropped_token_nor_across_values(tmp_path: Path, record_factory: Any) -> None:
    index = TantivyIndex(tmp_path / "index")
    records = [
        record_factory(1, title=f"alpha beta {LONG_WORD} beta gamma", keywords=[]),
        record_factory(2, title="alpha beta gamma", keywords=[]),
        record_factory(3, title="delta alpha", keywords=["beta epsilon"]),
    ]
    index.index(records)
    index.commit()
    found = {
        text: {hit.id for hit in index.search(Query.parse(text, size=10)).hits}
        for text in ('"alpha beta gamma"', 'title:"beta gamma"', '"alpha beta"', '"alpha beta epsilon"')
    }
    assert found['"alpha beta gamma"'] == {records[1].id}
    assert found['title:"beta gamma"'] == {records[0].id, records[1].id}
    assert found['"alpha beta"'] == {records[0].id, records[1].id}
    assert found['"alpha beta epsilon"'] == set()  # "alpha" ends the title, "beta epsilon" is a keyword
    index.close()


ASCII_PHYSICS_PIECES = [
    *"abcXYZ019",
    *"-+*/_^.'>",
    "->",
    "-->",
    " ",
    ", ",
    "(",
    ")",
    "e+e-",
    "J/psi",
    "B0->K*mumu",
    "p_T",
    "3.5",
    "x" * 79,
    "y" * 80,
    "\t",
    "\n",
    "=",
    "\x1c",
]


UNICODE_PHYSICS_PIECES = [
    *"μéßİςΩ短٣²Ⅻǅﬁ\U0001d400ẞⰯև",  # letters and numbers, some that lower-case to more or other bytes
    *"×–—’“√°±∓🙂\u00a0\u2028\u200d",  # separators, and a joiner Python's `re` counts as one
    *"→−",  # the pattern's own non-ASCII joiners
    "Σ",  # lower-cased by its place in a word in Python, always to σ by tantivy
    *"\u0301\u093e\u0345",  # marks: tokens for tantivy, separators for Python's `re`
    "ä" * 41,  # a token of 82 bytes: over the limit, though 41 characters are not
]
"""Non-ASCII characters of every class the physics pattern tells apart, and of the kinds where the engines differ."""


def test_the_physics_runs_of_any_text_are_the_analysers_own() -> None:
    # the Python path must cut, lower-case and split exactly as tantivy's regex analyser does, or leave the text to it
    rng = random.Random(20261122)
    texts = ["".join(rng.choices(ASCII_PHYSICS_PIECES, k=rng.randint(0, 40))) for _ in range(3000)]
    texts += ["".join(rng.choices(ASCII_PHYSICS_PIECES + UNICODE_PHYSICS_PIECES, k=rng.randint(0, 30)))
              for _ in range(6000)]  # fmt: skip
    texts += ["", "   ", "a", "A->", "->a", "a->->b", "D*+ and D*- (e+e-)", "Pb-Pb at 5.02TeV", "x" * 80 + " z"]
    cut_in_python = 0
    for text in texts:
        runs = _physics_tokens().runs(text)
        if runs is not None:
            cut_in_python += 1
            assert runs == _analysed_runs("physics", text), text
        assert token_runs("physics", text) == _analysed_runs("physics", text), text
    assert cut_in_python > 5000


@pytest.mark.parametrize("text", ["ΣE_T", "e\u0301lan", "ka\u093e", "ab\u0345"])
def test_a_text_with_a_character_the_engines_read_differently_is_left_to_the_analyser(text: str) -> None:
    assert _physics_tokens().runs(text) is None
    assert token_runs("physics", text) == _analysed_runs("physics", text)


def test_the_physics_runs_of_real_texts_are_the_analysers_own(corpus: Path) -> None:
    checked = non_ascii = 0
    for document in cern_documents(corpus, step=5):
        for value in document["physics"]:
            assert token_runs("physics", value) == _analysed_runs("physics", value), document["id"]
            checked += 1
            non_ascii += not value.isascii() and _physics_tokens().runs(value) is not None
    assert checked > 1000 and non_ascii >= 5, (checked, non_ascii)  # few CERN texts are not ASCII
