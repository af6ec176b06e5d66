"""Where the external standards (DCAT-AP SHACL, DataCite XSD and JSON schema, schema.org and SOSO shapes) are.

They are read in place, never copied into the repository or fetched: `$DMLAKE_STANDARDS`, else
`../shared/standards` beside the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
MARKER = Path("dcat-ap/3.0.1/html-shacl/shapes.ttl")


class StandardsNotFound(FileNotFoundError):
    """The shared standards folder is not where dmlake looks for it, or lacks a file."""


def standards_dir() -> Path:
    """`$DMLAKE_STANDARDS`, else `../shared/standards` beside the repository; checked to hold the DCAT-AP shapes."""
    configured = os.environ.get("DMLAKE_STANDARDS")
    path = Path(configured) if configured else REPOSITORY.parent / "shared" / "standards"
    if not (path / MARKER).is_file():
        origin = "from DMLAKE_STANDARDS" if configured else "the default location; DMLAKE_STANDARDS is not set"
        raise StandardsNotFound(
            f"the external standards are not at {path} ({origin}): expected {MARKER} there. "
            "Set DMLAKE_STANDARDS to the folder holding dcat-ap/, datacite/, schemaorg/ and soso/."
        )
    return path


def standard(relative: str | Path) -> Path:
    """A file of the standards folder, with an error naming the folder if it is missing."""
    folder = standards_dir()
    path = folder / relative
    if not path.is_file():
        raise StandardsNotFound(f"{relative} is missing from the standards folder {folder}")
    return path
