"""Shared test set-up: where the real corpus and the external standards are.

The suite reads `../shared/` in place (never copies it). Without it the suite cannot check what it promises, so a
missing `../shared` is an error that stops the run, not a reason to skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DMLAKE_SHARED", REPO.parent / "shared")).resolve()
CORPUS = SHARED / "corpus"
STANDARDS = SHARED / "standards"


def pytest_configure(config: pytest.Config) -> None:
    missing = [p for p in (CORPUS / "MANIFEST.md", STANDARDS / "VALIDATORS.md") if not p.is_file()]
    if missing:
        raise pytest.UsageError(
            f"the shared corpus and standards are missing ({', '.join(map(str, missing))}). "
            f"Put the shared folder beside the repository (../shared) or set DMLAKE_SHARED."
        )


@pytest.fixture(scope="session")
def corpus() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def standards() -> Path:
    return STANDARDS
