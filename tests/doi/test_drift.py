"""Acceptance 4 (issue 7): drift injected at DataCite (the replica) is reported by `dmlake doi check`, field by
field, and mended by `--fix`."""

from __future__ import annotations

import httpx
from doi_lab import DoiLab, assert_in_step, status


def test_drift_reported_and_mended(lab: DoiLab) -> None:
    lab.doi("reserve")
    lab.doi("publish", "--source", "dmdc")
    rows = [r for r in status(lab) if r["kind"] == "record"]
    findable = next(r for r in rows if r["intended"] == "findable")
    draft = next(r for r in rows if r["intended"] == "draft")
    theirs = lab.remote()
    # someone edits at DataCite (Fabrica): a title and the landing page of one DOI, hides another
    patched = {"titles": [{"title": "Edited at DataCite"}], "url": "https://elsewhere.example.org/x"}
    httpx.patch(f"{lab.endpoint}/_sandbox/dois/{findable['doi']}", json=patched, timeout=30).raise_for_status()
    httpx.patch(f"{lab.endpoint}/_sandbox/dois/{draft['doi']}", json={"publisher": {"name": "Someone"}},
                timeout=30).raise_for_status()  # fmt: skip
    concept = next(r for r in status(lab) if r["kind"] == "concept")
    httpx.patch(f"{lab.endpoint}/_sandbox/dois/{concept['doi']}", json={"state": "registered"}, timeout=30)

    checked = lab.doi("check", check=False)
    assert checked.returncode == 1
    lines = [line for line in checked.stdout.splitlines() if line.startswith("drift ")]
    assert {line.split()[1] + " " + line.split()[2].rstrip(":") for line in lines} == {
        f"{findable['doi']} titles",
        f"{findable['doi']} url",
        f"{draft['doi']} publisher",
        f"{concept['doi']} state",
    }
    assert "Edited at DataCite" in checked.stdout and "3 DOIs drifted (4 fields)" in checked.stdout

    lab.doi("check", "--fix")
    assert lab.doi("check").stdout.strip().endswith("0 DOIs drifted (0 fields)")
    mended = lab.remote()
    assert mended[findable["doi"]]["titles"] == theirs[findable["doi"]]["titles"]
    assert mended[findable["doi"]]["url"] == theirs[findable["doi"]]["url"]
    assert mended[draft["doi"]]["publisher"] == theirs[draft["doi"]]["publisher"]
    assert mended[concept["doi"]]["state"] == "findable"
    assert_in_step(lab)


def test_dois_unknown_to_us_are_reported_not_touched(lab: DoiLab) -> None:
    lab.doi("reserve")
    auth = ("DMLAKE.SANDBOX", "sandbox-password")
    for doi in ("10.80000/dmlake.kcdc-html.stray", "10.80000/another-project.1"):
        body = {"data": {"type": "dois", "attributes": {"doi": doi}}}
        httpx.post(f"{lab.endpoint}/dois", json=body, auth=auth, timeout=30).raise_for_status()
    for args in (("check",), ("check", "--fix")):
        checked = lab.doi(*args, check=False)
        assert checked.returncode == 1
        assert "drift 10.80000/dmlake.kcdc-html.stray (unknown to dmlake)" in checked.stdout
        assert "another-project" not in checked.stdout, "only our suffix scheme is ours"
        assert "1 DOIs under our prefix and suffix scheme are unknown to this catalogue" in checked.stdout
    assert "10.80000/dmlake.kcdc-html.stray" in lab.remote()
