"""`dmlake sandbox up` serves the DataCite replica too and points the home's DOI policy at it, so the README's DOI
commands work on the sandbox as typed; `dmlake sandbox down` removes what `up` wrote and nothing of the user's.
Everything through the installed `dmlake` console command, as a data manager runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx

DMLAKE = Path(sys.executable).parent / "dmlake"
ENV = {"COLUMNS": "200", "PATH": "/usr/bin:/bin"}  # no DATACITE_* variables: the secrets file `up` wrote is used


def dmlake(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(DMLAKE), "--home", str(home), *args], capture_output=True, text=True, timeout=600,
                          env=ENV)  # fmt: skip
    if check:
        assert done.returncode == 0, f"dmlake {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def test_sandbox_up_serves_datacite_and_the_doi_commands_reach_it(corpus: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    try:
        up = dmlake(home, "sandbox", "up", "--corpus", str(corpus), "--kinds", "dmdc,kcdc-html").stdout
        policy = tomllib.loads((home / "doi.toml").read_text())["doi"]
        endpoint = policy["endpoint"]
        assert endpoint.startswith("http://127.0.0.1:") and f"datacite replica (DOIs, not a source): {endpoint}" in up
        assert f"DOI policy for it: {home / 'doi.toml'}" in up and "try: dmlake doi reserve ·" in up
        assert "DATACITE_USERNAME=DMLAKE.SANDBOX DATACITE_PASSWORD=sandbox-password" in up
        assert policy["prefix"] == "10.80000" and Path(policy["secrets_file"]).stat().st_mode & 0o077 == 0
        sources = (home / "sources.toml").read_text()
        assert "[sources.datacite]" not in sources, "DataCite is a service dmlake writes to, not a source to harvest"
        assert f"# datacite replica (DOIs, not a source): {endpoint}" in sources
        assert set(tomllib.loads(sources)["sources"]) == {"dmdc", "kcdc-html"}
        assert "datacite" in dmlake(home, "sandbox", "status").stdout

        # the README's lifecycle, as typed
        assert dmlake(home, "harvest").stdout.count("succeeded") == 2
        reserved = dmlake(home, "doi", "reserve").stdout
        assert "reserved 10.80000/dmlake.dmdc." in reserved and "0 failed" in reserved
        dmlake(home, "doi", "publish", "--source", "dmdc")
        rows = json.loads(dmlake(home, "doi", "status", "--json").stdout)
        remote = httpx.get(f"{endpoint}/_sandbox/dois", timeout=30).json()
        assert {r["doi"]: r["confirmed"] for r in rows} == {doi: d["state"] for doi, d in remote.items()}
        findable = next(r for r in rows if r["source"] == "dmdc" and r["kind"] == "record")
        assert findable["confirmed"] == "findable"
        resolved = httpx.get(f"{endpoint}/resolve/{findable['doi']}", timeout=30)
        assert resolved.status_code == 302 and resolved.headers["location"].startswith("http://127.0.0.1:8000/records/")
        assert dmlake(home, "doi", "check").stdout.strip().endswith("0 DOIs drifted (0 fields)")
    finally:
        down = dmlake(home, "sandbox", "down", check=False)
    assert f"removed {home / 'doi.toml'}" in down.stdout
    assert not (home / "doi.toml").exists() and not (home / "sandbox-datacite.secrets").exists()


def test_a_doi_policy_of_the_users_own_is_left_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    own = '[doi]\nendpoint = "https://api.test.datacite.org"\nprefix = "10.12345"\n'
    (home / "doi.toml").write_text(own)
    try:
        up = dmlake(home, "sandbox", "up", "--generate", "3", "--kinds", "zenodo").stdout
        assert "(the home's own doi.toml is left alone)" in up
        assert f"try: dmlake doi reserve --config {home / 'sandbox-doi.toml'}" in up
        sandbox_policy = tomllib.loads((home / "sandbox-doi.toml").read_text())["doi"]
        assert sandbox_policy["endpoint"].startswith("http://127.0.0.1:")
        assert httpx.get(f"{sandbox_policy['endpoint']}/dois", timeout=30).json()["meta"]["total"] == 0
    finally:
        dmlake(home, "sandbox", "down", check=False)
    assert (home / "doi.toml").read_text() == own
    assert not (home / "sandbox-doi.toml").exists()


def test_no_datacite_serves_the_portals_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    try:
        up = dmlake(home, "sandbox", "up", "--generate", "3", "--kinds", "zenodo", "--no-datacite").stdout
        assert "datacite replica" not in up and not (home / "doi.toml").exists()
        assert [line.split()[0] for line in dmlake(home, "sandbox", "status").stdout.splitlines()] == ["zenodo"]
    finally:
        dmlake(home, "sandbox", "down", check=False)
