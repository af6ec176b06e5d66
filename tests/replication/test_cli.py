"""`dmlake replication …` without a Rucio: errors a data manager can act on, and an empty status."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from harvester.replication_cli import replication_app


def _run(home: Path, *arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(replication_app, list(arguments), env={"DMLAKE_HOME": str(home)})
    return result.exit_code, result.output


def test_sync_without_a_policy_says_what_to_write(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "sync", "--once")
    assert code == 2
    assert f"{tmp_path / 'replication.toml'}: no replication policy; write a [replication] table" in output


def test_a_policy_error_names_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('[replication]\nstaging_rse = "STAGING"\n[[replication.rule]]\ncopies = 2\n')
    code, output = _run(tmp_path, "sync", "--once", "--config", str(config))
    assert code == 2 and f"{config}: [replication] rule[0].rse_expression is missing" in output


def test_status_before_anything_was_replicated(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "status")
    assert code == 0 and "nothing replicated yet: run `dmlake replication sync`" in output
    code, output = _run(tmp_path, "status", "--json")
    assert code == 0 and output.strip() == "[]"
