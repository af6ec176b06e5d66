"""The CERN Open Data fixture records of ../shared/corpus, read in place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def cern_records_by_recid(corpus: Path) -> dict[str, dict[str, Any]]:
    """Every record of `cernopendata/records/*.json` (each file a JSON array), by recid as text."""
    records: dict[str, dict[str, Any]] = {}
    for path in sorted((corpus / "cernopendata" / "records").glob("*.json")):
        records.update((str(r["recid"]), r) for r in json.loads(path.read_text(encoding="utf-8")))
    return records
