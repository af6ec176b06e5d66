"""Each harvested record's URL (its GetRecord request) is built with the constant parts encoded once; it must be
the URL `OaiClient.url_for` builds, for every identifier of the corpus and awkward ones, whatever the base URL."""

from __future__ import annotations

import re
from pathlib import Path

from connectors.base import SourceSpec
from connectors.oaipmh import OaiPmhConnector


def test_record_urls_are_what_url_for_builds(corpus: Path) -> None:
    identifiers = {"oai:zenodo.org:1", "oai:x:a b&c=d/é?#%+", "", " ", "oai:opendata.cern.ch:recid/123"}
    for path in corpus.rglob("*.xml"):
        identifiers |= set(re.findall(r"<identifier>([^<]*)</identifier>", path.read_text(errors="replace")))
    assert len(identifiers) > 300
    for url in ("https://zenodo.org/oai2d", "http://127.0.0.1:1/oai?x=1"):
        for prefix in ("oai_dc", "oai_datacite", "a b&c"):
            connector = OaiPmhConnector(SourceSpec("s", "oaipmh", url, {"metadata_prefix": prefix}), None)
            for identifier in identifiers:
                expected = connector.client.url_for(verb="GetRecord", identifier=identifier, metadataPrefix=prefix)
                assert connector._record_url(identifier) == expected
    assert (
        connector._record_url("oai:x:1")
        == "http://127.0.0.1:1/oai?x=1&verb=GetRecord&identifier=oai%3Ax%3A1&metadataPrefix=a+b%26c"
    )
