"""The index document's speed-ups change no value: each shortcut against the straightforward way it replaced.

* `title_key` folds only a prefix of the title when that already gives the key's 32 bytes;
* `plain_text` and the title key collapse whitespace with `str.split` instead of `\\s+`;
* energies are searched only in texts containing "eV";
* file availabilities are turned into text once per distinct value, file sizes summed once;
* `normalise_format` and `energy_token` are cached;
* a day written `YYYY-MM-DD` becomes seconds through its ordinal instead of `datetime` parsing and arithmetic, and a
  date interval whose ends are one value converts it once;
* concept lists become label lists through one `dict.fromkeys` (empty lists at once, single concepts without a
  list), text lists are built from list displays rather than generators, and the record's DOI is read once.
"""

from __future__ import annotations

import html
import random
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from indexer import document, document_dates
from indexer.document import (
    energy_token,
    index_document,
    normalise_format,
    partial_date_timestamp,
    plain_text,
    title_key,
)
from ontology.model import (
    _PARTIAL_DATE,
    Availability,
    Concept,
    Distribution,
    Identifier,
    IdentifierScheme,
    Record,
    TemporalCoverage,
)
from ontology.vocabulary import concept

_SPACE = re.compile(r"\s+")
_INLINE_TAG = re.compile(r"</?(?:sup|sub|b|i|em|strong|span|a|u|small|code|tt)\b[^>]{0,1000}>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,1000}>")


def reference_title_key(title: str) -> tuple[int, int, int, int]:
    """`title_key` as it was: the whole title folded, whitespace collapsed by regular expression."""
    if title.isascii():
        folded = title.lower()
    else:
        folded = unicodedata.normalize("NFKD", title)
        folded = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    folded = _SPACE.sub(" ", folded)
    start = 0
    while start < len(folded) and not folded[start].isalnum():
        start += 1
    data = folded[start:].encode("utf-8")[:32].ljust(32, b"\0")
    return (
        int.from_bytes(data[0:8], "big"),
        int.from_bytes(data[8:16], "big"),
        int.from_bytes(data[16:24], "big"),
        int.from_bytes(data[24:32], "big"),
    )


def reference_plain_text(text: str) -> str:
    if "<" in text:
        text = _TAG.sub(" ", _INLINE_TAG.sub("", text))
    if "&" in text:
        text = html.unescape(text)
    return _SPACE.sub(" ", text).strip()


# Letters whose folding is special (ß → ss, ﬁ → fi, final sigma, İ with a dot), combining marks, and every kind of
# space `\s` matches, so prefixes, folding and collapsing meet at the 32-byte boundary in as many ways as possible.
ALPHABETS = (
    list("aZ9 .-_/:\t\n\x0b\x1c"),
    [*"aZ9 .-\t\n\u00e9\u0301\u0327\u00df\u03a3\u03c2\ufb01\u2460\u00a0\u3000\U0001d400√ÅÖ\x85\u2028", "ǅ", "İ"],
)


def test_title_key_equals_folding_the_whole_title() -> None:
    rng = random.Random(2026)
    for alphabet in ALPHABETS:
        for _ in range(30_000):
            title = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 140)))
            if rng.random() < 0.3:  # a long opening run that the key skips: the prefix falls short
                title = rng.choice([".", " ", "\t", "-", "\u0301", "\u3000"]) * rng.randint(0, 100) + title
            assert title_key(title) == reference_title_key(title), repr(title)


def test_plain_text_equals_the_regular_expressions() -> None:
    rng = random.Random(5)
    pieces = ["<p>", "</p>", "<sup>", "</sup>", "&amp;", "&lt;b&gt;", " ", "\t", "\n", "\xa0", "\u2003", "x", "B0", "<"]
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 15)))
        assert plain_text(text) == reference_plain_text(text), repr(text)


def test_generated_records_index_like_the_straightforward_computations(
    generated: Callable[..., Iterator[Record]],
) -> None:
    rng = random.Random(41)
    for i, record in enumerate(generated(1500, seed=41)):
        if i % 4 == 0:  # files with and without sizes and in every availability, repeated, in mixed order
            files = [
                Distribution(name=f"f{j}", size_bytes=rng.choice([None, 0, rng.randint(1, 10**12)]), availability=a)
                for j, a in enumerate(rng.choices(list(Availability), k=rng.randint(0, 8)))
            ]
            record = record.model_copy(update={"distributions": files, "size_bytes": None})
        doc = index_document(record)
        files = record.distributions
        assert doc["availability"] == list(dict.fromkeys(str(d.availability) for d in files))
        if record.size_bytes is None:
            sizes = [d.size_bytes for d in files if d.size_bytes is not None]
            assert doc["size_bytes"] == (sum(sizes) if sizes else None)
        formats = [*record.formats, *(d.format or d.media_type or "" for d in files)]
        uncached = normalise_format.__wrapped__
        assert doc["file_format"] == list(dict.fromkeys(f for f in map(uncached, formats) if f))
        description = reference_plain_text(record.description) if record.description else ""
        found = [
            n + u for t in (record.title, description, *record.keywords) for n, u in document._ENERGY_IN_TEXT.findall(t)
        ]
        tokens = [t for t in doc["physics"] if re.fullmatch(r"\d+(?:\.\d+)?[mkMGTP]?eV", t)]
        expected = [energy_token(doc["sqrt_s_gev"])] if doc["sqrt_s_gev"] is not None else []
        assert tokens == list(dict.fromkeys(expected + found))
        assert (doc["title_key_0"], doc["title_key_1"], doc["title_key_2"], doc["title_key_3"]) == (
            reference_title_key(record.title)
        )


def test_cached_helpers_answer_as_uncached() -> None:
    for value in ["root", "ROOT", ".h5", "text/csv; charset=utf-8", "", "  ", "application/x-hdf5", "Some Format!"]:
        assert normalise_format(value) == normalise_format.__wrapped__(value)
        assert normalise_format(value) == normalise_format(value)
    for gev in [13000.0, 13000, 0.9e3, 5020.0, 91.1876, 1e-6, 0.0, -0.0, 2.5e6]:
        assert energy_token(gev) == energy_token.__wrapped__(gev)


def _labels_the_straightforward_way(values: Sequence[Concept | None]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if value is not None:
            seen.setdefault(value.label, None)
    return list(seen)


def _unique_the_straightforward_way(values: Sequence[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def test_label_and_text_lists_are_the_straightforward_ones(generated: Callable[..., Iterator[Record]]) -> None:
    rng = random.Random(43)
    experiments = ["CMS", "ATLAS", "cms", "ALICE", "LHCb", "KASCADE"]
    schemes = [IdentifierScheme.DOI, IdentifierScheme.CONCEPT_DOI, IdentifierScheme.ARXIV, IdentifierScheme.URL]
    values = {
        IdentifierScheme.DOI: "10.5281/Zenodo.1",
        IdentifierScheme.CONCEPT_DOI: "10.5281/ZENODO.2",
        IdentifierScheme.ARXIV: "1207.7214",
        IdentifierScheme.URL: "https://example.org/A",
    }
    for i, record in enumerate(generated(800, seed=43)):
        if i % 2:  # the lists the generator leaves empty, filled, with repeats
            chosen = rng.choices(schemes, k=rng.randint(0, 5))
            record = record.model_copy(
                update={
                    "experiments": [concept("experiment", e) for e in rng.choices(experiments, k=rng.randint(0, 3))],
                    "collaboration": [concept("experiment", e) for e in rng.choices(experiments, k=rng.randint(0, 2))],
                    "accelerator": rng.choice([None, concept("accelerator", "LHC")]),
                    "subjects": [concept("messenger", m) for m in rng.choices(["photon", "neutrino"], k=2)],
                    "keywords": rng.choices(["Higgs", " Higgs ", "", "13 TeV", "jets"], k=rng.randint(0, 4)),
                    "observables": [Concept(label=o, raw=o.lower()) for o in rng.choices(["SIG", "DSIG/DPT"], k=2)],
                    "identifiers": [Identifier(scheme=s, value=values[s]) for s in chosen],
                    "data_level": rng.choice([None, concept("data-level", "level 2")]),
                }
            )
        doc = index_document(record)
        concept_fields: list[tuple[str, Sequence[Concept | None]]] = [
            ("experiment", record.experiments),
            ("collaboration", record.collaboration),
            ("messenger", record.messengers),
            ("technique", record.detection_technique),
            ("resource_category", record.resource_categories),
            ("target", record.targets),
            ("data_level", [record.data_level]),
            ("license", [record.license]),
            ("collision_type", [record.collision.type if record.collision else None]),
        ]
        for field, concepts in concept_fields:
            assert doc[field] == _labels_the_straightforward_way(concepts), field
        assert doc["keyword"] == _unique_the_straightforward_way([k.strip() for k in record.keywords])
        dois = [i.value.lower() for i in record.identifiers if i.scheme in document._DOI_SCHEMES]
        assert doc["doi"] == _unique_the_straightforward_way(dois)
        assert doc["identifier"] == _unique_the_straightforward_way([i.key() for i in record.identifiers])
        assert doc["keywords"] == _unique_the_straightforward_way(
            [*record.keywords, *(s.label for s in record.subjects)]
        )
        assert doc["observables"] == _unique_the_straightforward_way(
            [x for o in record.observables for x in (o.label, o.raw)]
        )
        accelerator = record.accelerator.label if record.accelerator else None
        assert doc["experiments"] == _unique_the_straightforward_way(
            [*doc["experiment"], *(e.raw for e in record.experiments), *doc["collaboration"], accelerator]
        )
        assert doc["summary"]["doi"] == doc["summary"]["records"][0]["doi"] == record.doi


def reference_partial_date_timestamp(value: str | None) -> int | None:
    """`partial_date_timestamp` as it was: every value through `datetime`."""
    if not value:
        return None
    try:
        if len(value) == 4:
            moment = datetime(int(value), 1, 1, tzinfo=UTC)
        elif len(value) == 7:
            moment = datetime(int(value[:4]), int(value[5:7]), 1, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(moment.timestamp())


def reference_day_period(value: str) -> tuple[int, int] | None:
    """`document_dates._period` of a 10-character value as it was."""
    try:
        day = datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(day.timestamp()), int((day + timedelta(days=1)).timestamp()) - 1


def _date_strings(rng: random.Random) -> list[str]:
    values = ["", "2011", "2011-05", "2011-05-17", "2011-13", "20x1", "2011-05-17T10:20:30Z", "2011-05-17T10:20"]
    values += ["2011-05-17T10:20:30.5+02:00", "1969-12-31", "1970-01-01", "0001-01-01", "0000-01-01", "2024-02-29"]
    values += ["2023-02-29", "2100-02-29", "2000-02-29", "2011-00-10", "2011-04-31", "2011-05-00", "2011-05-32"]
    values += ["9999-12-30", "9999-05-17", "2011-W01-1", "2011x05-17", "2011-05x17", " 011-05-17", "+011-05-17"]
    values += ["2011-05-1\u0663", "\u0662011-05-17", "2011-0\u00b2-17", "201１-05-17", "2011-05-17 ", "20110517"]
    for _ in range(3000):
        year = rng.choice([rng.randint(1, 9998), rng.randint(1900, 2100), rng.randint(1969, 1971)])
        month, day = rng.randint(0, 13), rng.randint(0, 32)
        values.append(f"{year:04d}-{month:02d}-{day:02d}")
    return values


def test_plain_days_convert_as_datetime_converts_them() -> None:
    for value in _date_strings(random.Random(47)):
        assert partial_date_timestamp(value) == reference_partial_date_timestamp(value), value
        if len(value) == 10:
            assert document_dates._period(value) == reference_day_period(value), value
    assert document_dates.is_plain_day("2011-05-17") and not document_dates.is_plain_day("2011-W01-1")


def test_the_date_interval_of_one_period_is_computed_once_and_equals_both_ends(record_factory: Any) -> None:
    rng = random.Random(53)
    values = [v for v in _date_strings(rng) if _PARTIAL_DATE.match(v) and document_dates._period(v) is not None]
    for i, value in enumerate(values[:400]):
        other = rng.choice(values)
        for coverage in (None, TemporalCoverage(start=value), TemporalCoverage(start=value, end=other)):
            record = record_factory(i, issued=value, temporal_coverage=coverage)
            fields = document_dates.date_interval_fields(record)
            start = coverage.start if coverage else value
            end = (coverage.end or coverage.start) if coverage else value
            first, last = document_dates._period(start), document_dates._period(end)
            assert first is not None and last is not None
            low, high = (first[0], last[1]) if first[0] <= last[1] else (last[0], first[1])
            assert fields == {"date_start_ts": low, "date_end_ts": high}
