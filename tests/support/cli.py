"""Running `dmlake` as a person does: a real process, in a given home, with a wide terminal (Rich does not wrap)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENV = {"COLUMNS": "200", "PATH": "/usr/bin:/bin"}


def dmlake(home: Path, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "harvester.cli", "--home", str(home), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
    )
    if check:
        assert done.returncode == 0, f"dmlake {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done
