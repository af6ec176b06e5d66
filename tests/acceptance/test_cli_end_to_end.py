"""The commands a person types, as real processes: sandbox up (corpus layout with other files around it, or
generated), sources, harvest, search, show, runs, sandbox down — each in its own home."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli import dmlake

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def corpus_dir(corpus: Path, tmp_path: Path) -> Path:
    """A folder in the corpus layout, holding a few real record files (links, not copies) and unrelated files."""
    root = tmp_path / "my-corpus"
    records = root / "cernopendata" / "records"
    records.mkdir(parents=True)
    for source in sorted((corpus / "cernopendata" / "records").glob("*.json"))[:3]:
        (records / source.name).symlink_to(source)
    (records / "NOTES.md").write_text("not a record file\n")
    (records / "broken.json.bak").write_bytes(b"\x00\x01")
    (root / "README.txt").write_text("other things live here too\n")
    (root / "zenodo").mkdir()
    (root / "zenodo" / "unrelated.csv").write_text("a,b\n1,2\n")
    return root


def test_sandbox_from_a_corpus_folder_then_harvest_search_show(corpus_dir: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    expected = sum(len(json.loads(p.read_text())) for p in (corpus_dir / "cernopendata" / "records").glob("*.json"))
    try:
        up = dmlake(home, "sandbox", "up", "--corpus", str(corpus_dir))
        assert "cernopendata" in up.stdout and "http://127.0.0.1:" in up.stdout
        assert "zenodo" not in up.stdout.split("sources file")[0], "no Zenodo records in this folder: no Zenodo replica"
        assert (home / "sources.toml").exists()
        assert "cernopendata" in dmlake(home, "sources").stdout
        assert "cernopendata" in dmlake(home, "sandbox", "status").stdout

        harvested = dmlake(home, "harvest")
        assert "succeeded" in harvested.stdout
        result = json.loads(dmlake(home, "search", "", "--facet", "source", "--json", "--size", "3").stdout)
        # the CERN records are served twice, as the portal does: its REST API and its OAI-PMH server; each dataset
        # is found once, with both records as its provenance, the REST API's speaking for it
        assert result["total"] == expected
        assert sorted(result["facets"]["source"], key=lambda f: f["value"]) == [
            {"value": "cernopendata", "count": expected},
            {"value": "cernopendata-oai", "count": expected},
        ]
        for hit in result["hits"]:
            assert [r["source"] for r in hit["records"]] == ["cernopendata", "cernopendata-oai"]
            assert hit["id"] == hit["records"][0]["id"]

        record_id = result["hits"][0]["id"]
        short = record_id.split("/record/", 1)[1]
        assert json.loads(dmlake(home, "show", short).stdout)["id"] == record_id
        assert "dcat:Dataset" in dmlake(home, "show", short, "--format", "turtle").stdout
        assert "<resource" in dmlake(home, "show", record_id, "--format", "datacite-xml").stdout
        assert '"@context"' in dmlake(home, "show", short, "--format", "jsonld").stdout
        missing = dmlake(home, "show", "cernopendata/0", check=False)
        assert missing.returncode == 1 and "no record" in missing.stderr

        again = dmlake(home, "harvest")
        assert "incremental" in again.stdout or "full" in again.stdout
        runs = dmlake(home, "runs").stdout
        assert runs.count("succeeded") == 4  # two sources, harvested twice
    finally:
        dmlake(home, "sandbox", "down", check=False)
    assert "no sandbox is running" in dmlake(home, "sandbox", "status").stdout


def test_generated_sandbox_writes_the_sources_file_asked_for(tmp_path: Path) -> None:
    home = tmp_path / "home"
    sources = tmp_path / "sandbox-sources.toml"
    try:
        dmlake(home, "sandbox", "up", "--generate", "50", "--kinds", "zenodo,hepdata", "--sources-out", str(sources))
        text = sources.read_text()
        assert "[sources.zenodo]" in text and "[sources.hepdata]" in text and "cernopendata" not in text
        second = dmlake(home, "sandbox", "up", "--generate", "5", check=False)
        assert second.returncode == 1 and "already runs" in second.stderr
        harvested = dmlake(home, "--config", str(sources), "harvest")
        assert harvested.stdout.count("succeeded") == 2
    finally:
        dmlake(home, "sandbox", "down", check=False)


def test_errors_are_for_people(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bad = tmp_path / "bad.toml"
    bad.write_text('[sources.z]\nkind = "zenodo"\nurl = "http://127.0.0.1:9"\n[sources.z.limits]\nconcurency = 2\n')
    done = dmlake(home, "--config", str(bad), "harvest", check=False)
    assert done.returncode == 1
    assert (
        "bad.toml:5: sources.z.limits.concurency: unknown key 'concurency'; did you mean 'concurrency'?" in done.stderr
    )
    assert "Traceback" not in done.stderr
    done = dmlake(home, "search", "x", "--filter", "year=20..10", check=False)
    assert done.returncode == 2 and "empty" in done.stderr
    bad.write_text('[sources.z]\nkind = "zenodo"\nurl = "http://127.0.0.1:9"\n[sources.z.options]\npage_size = 500\n')
    done = dmlake(home, "--config", str(bad), "harvest", check=False)
    assert done.returncode == 1 and "page_size" in done.stderr and "Traceback" not in done.stderr
