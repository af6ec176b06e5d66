"""The template's analysers cut text as tantivy's do: the same tokens for the CERN corpus and physics notation.

Elasticsearch runs its `pattern` tokenizers with `java.util.regex`, so the check runs the template's patterns
(with the template's flags and group) in a real Java VM, followed by the two filters that are plain Java in Lucene
(`length`, counting UTF-16 units; `lowercase`, `Character.toLowerCase` per code point), and compares the tokens
with tantivy's tokenizers and the same filters. ASCII folding and Porter2 stemming are Lucene's and tantivy's
ports of the same algorithms (Lucene's ASCIIFoldingFilter, Snowball English) and are not re-run here.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tantivy
from es_testing import cern_documents

from indexer.document import TEXT_FIELDS, AnalyzerName
from indexer.elasticsearch_template import TOKEN_LIMITS, analysis
from indexer.tantivy_schema import analyzers

JAVA_SOURCE = r"""
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import java.util.regex.*;

public class Tokens {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        int flags = 0;
        for (String flag : args[2].split("\\|")) {
            if (flag.equals("UNICODE_CHARACTER_CLASS")) flags |= Pattern.UNICODE_CHARACTER_CLASS;
            else if (flag.equals("CASE_INSENSITIVE")) flags |= Pattern.CASE_INSENSITIVE;
        }
        Pattern pattern = Pattern.compile(args[1], flags);
        int max = Integer.parseInt(args[3]);
        StringBuilder out = new StringBuilder();
        for (String line : Files.readAllLines(Path.of(args[4]), StandardCharsets.UTF_8)) {
            String text = new String(HexFormat.of().parseHex(line), StandardCharsets.UTF_8);
            List<String> tokens = new ArrayList<>();
            if (mode.equals("keyword")) {
                tokens.add(text);
            } else if (mode.equals("split")) {          // PatternTokenizer, group -1
                Matcher m = pattern.matcher(text);
                int start = 0;
                while (m.find()) {
                    if (m.start() > start) tokens.add(text.substring(start, m.start()));
                    start = m.end();
                }
                if (start < text.length()) tokens.add(text.substring(start));
            } else {                                    // PatternTokenizer, group 0
                Matcher m = pattern.matcher(text);
                while (m.find()) if (m.end() > m.start()) tokens.add(m.group());
            }
            StringJoiner joined = new StringJoiner(" ");
            for (String token : tokens) {
                if (token.length() > max) continue;        // LengthFilter: UTF-16 units
                StringBuilder lower = new StringBuilder();
                token.codePoints().forEach(c -> lower.appendCodePoint(Character.toLowerCase(c)));
                joined.add(HexFormat.of().formatHex(lower.toString().getBytes(StandardCharsets.UTF_8)));
            }
            out.append(joined).append('\n');
        }
        System.out.print(out);
    }
}
"""

TRICKY = [
    "Angular analysis of B0->K*mumu and e+e- → μ+μ− in Pb-Pb, J/psi p_T at 13TeV (pp).",
    "√s = 13 TeV, √sNN = 5.02 TeV; D*+ → D0π+; Λc+; B_s^0 → J/ψ φ; K0S; ϒ(1S)",
    "/DoubleMu/Run2011A-12Oct2013-v1/AOD  10.7483/OPENDATA.CMS.A342.9982 arxiv:1207.7214",
    "Élan of neutrino oscillations — naïve “quotes” ‘single’ Straße ΣΑΣ Ωmega ﬁne ½ ²³ Ⅻ",
    "tab\tseparated\u00a0nbsp\u2007figure\u202fnarrow\u3000ideographic\x0bvertical\x0cform\rreturn end",
    "x" * 39 + " " + "y" * 40 + " " + "z" * 79 + " " + "w" * 80,
    "a" * 249 + " " + "b" * 250,
    "日本語のテキスト 한국어 текст на русском עִבְרִית العربية",
    "e+e-→hadrons; pp→tt̄; p̄p; γγ→H; νμ→ντ; 3.5 TeV/c; 0.9-2.76TeV; x_F > 0.1",
]


def tantivy_tokens(name: AnalyzerName) -> tantivy.TextAnalyzer:
    """tantivy's tokenizer for `name` with the length limit and lower-casing (no folding, no stemming)."""
    pattern = analysis()["tokenizer"]["dmlake_physics_tokenizer"]["pattern"]
    tokenizer = {
        "prose": tantivy.Tokenizer.simple(),
        "physics": tantivy.Tokenizer.regex(pattern),
        "identifier": tantivy.Tokenizer.whitespace(),
        "exact": tantivy.Tokenizer.raw(),
    }[name]
    return (
        tantivy.TextAnalyzerBuilder(tokenizer)
        .filter(tantivy.Filter.remove_long(TOKEN_LIMITS[name]))
        .filter(tantivy.Filter.lowercase())
        .build()
    )


def java_arguments(name: AnalyzerName) -> tuple[str, str, str]:
    """(mode, pattern, flags) of the template's tokenizer for `name`."""
    if name == "exact":
        return "keyword", "", ""
    tokenizer = analysis()["tokenizer"][f"dmlake_{name}_tokenizer"]
    mode = "group" if tokenizer.get("group") == 0 else "split"
    return mode, tokenizer["pattern"], tokenizer.get("flags", "")


@pytest.fixture(scope="module")
def java(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("needs a JDK (javac and java) to run the template's patterns with java.util.regex")
    folder = tmp_path_factory.mktemp("java-tokens")
    (folder / "Tokens.java").write_text(JAVA_SOURCE)
    subprocess.run(["javac", "Tokens.java"], cwd=folder, check=True, capture_output=True, timeout=120)
    yield folder


@pytest.fixture(scope="module")
def texts(corpus: Path) -> dict[AnalyzerName, list[str]]:
    """Per analyser, the values of its fields in 1,500 real CERN records, and the tricky strings."""
    by_analyzer: dict[AnalyzerName, list[str]] = {name: list(TRICKY) for name in TOKEN_LIMITS}
    for document in cern_documents(corpus, step=5):
        for field, spec in TEXT_FIELDS.items():
            by_analyzer[spec.analyzer].extend(
                v.replace("\n", " ").replace("\r", " ") for v in document.get(field) or []
            )
    return by_analyzer


def run_java(folder: Path, name: AnalyzerName, lines: list[str]) -> list[list[str]]:
    mode, pattern, flags = java_arguments(name)
    data = folder / f"{name}.hex"
    data.write_text("\n".join(line.encode("utf-8").hex() for line in lines) + "\n")
    done = subprocess.run(
        ["java", "-cp", str(folder), "Tokens", mode, pattern, flags or "-", str(TOKEN_LIMITS[name] - 1), str(data)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return [[bytes.fromhex(t).decode("utf-8") for t in row.split()] for row in done.stdout.decode().split("\n")[:-1]]


@pytest.mark.parametrize("name", ["prose", "physics", "identifier", "exact"])
def test_java_tokens_equal_tantivy_tokens(java: Path, texts: dict[AnalyzerName, list[str]], name: AnalyzerName) -> None:
    lines = [text for text in dict.fromkeys(texts[name]) if text.strip()]
    assert len(lines) > 500
    got = run_java(java, name, lines)
    analyzer = tantivy_tokens(name)
    differences: list[Any] = []
    for text, tokens in zip(lines, got, strict=True):
        expected = [str(t) for t in analyzer.analyze(text)]
        if tokens != expected:
            differences.append((text[:120], expected[:12], tokens[:12]))
    assert not differences, f"{len(differences)} of {len(lines)} texts cut differently, e.g. {differences[:3]}"


@pytest.mark.parametrize("name", ["prose", "physics", "identifier", "exact"])
def test_the_length_limits_are_tantivys(name: AnalyzerName) -> None:
    """`TOKEN_LIMITS` (the template's `length` filters) are the limits of `indexer.tantivy_schema`'s analysers."""
    limit = TOKEN_LIMITS[name]
    keep, drop = "k" * (limit - 1), "d" * limit
    tokens = [str(t) for t in analyzers()[name].analyze(f"{keep} {drop}" if name != "exact" else keep)]
    assert keep in tokens and drop not in tokens
    if name == "exact":
        assert [str(t) for t in analyzers()[name].analyze(drop)] == []
