"""Record ids as people and HTTP paths give them: the full URI (percent-encoded as stored, or decoded as a path
arrives) and the short SOURCE/NATIVE_ID form all name the same stored record."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from dmlake.lake import normalise_record_id
from ontology.model import record_id

STORED = [
    record_id("cernopendata-oai", "oai:cernopendata.cern:15"),
    record_id("dmdc", "dmdc/cosine/cosine-100-public@v1.0"),
    record_id("kcdc-html", "KASCADE ROOT 2024"),
    record_id("cernopendata", "28001"),
]


@pytest.mark.parametrize("stored", STORED)
def test_every_spelling_of_an_id_names_the_stored_one(stored: str) -> None:
    decoded = unquote(stored)  # what a server sees in /api/records/{id:path}
    short = decoded.split("/record/", 1)[1]
    assert normalise_record_id(stored) == stored
    assert normalise_record_id(decoded) == stored
    assert normalise_record_id(f"  {short} ") == stored


def test_a_text_without_source_and_native_id_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="is not a record id"):
        normalise_record_id("28001")
