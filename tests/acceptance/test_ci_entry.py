"""CI must fail, not skip, when the shared corpus and standards are missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_ci_run_fails_without_shared(tmp_path: Path) -> None:
    clone = tmp_path / "project"
    (clone / ".ci").mkdir(parents=True)
    shutil.copy(REPO / ".ci" / "run", clone / ".ci" / "run")
    done = subprocess.run([str(clone / ".ci" / "run")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "../shared/corpus/MANIFEST.md is missing" in done.stderr


def test_the_suite_refuses_to_run_without_shared(tmp_path: Path) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text("def test_nothing_to_see():\n    assert True\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "--rootdir",
            str(REPO),
            "-c",
            str(REPO / "pyproject.toml"),
            "--confcutdir",
            str(REPO / "tests"),
            str(REPO / "tests" / "conftest.py"),
            str(probe),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "DMLAKE_SHARED": str(tmp_path / "no-shared-here")},
    )
    assert done.returncode != 0
    assert "the shared corpus and standards are missing" in done.stdout + done.stderr
