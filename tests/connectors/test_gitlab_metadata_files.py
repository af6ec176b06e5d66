"""Authors read from a project's CITATION.cff and codemeta.json (`connectors.gitlab_metadata_files`): people named
"Family, Given" with their ORCID and affiliation, organisations by name."""

from __future__ import annotations

import json

from connectors.gitlab_metadata_files import Author, read_citation_cff, read_codemeta

CITATION = b"""cff-version: 1.2.0
title: Event rates
authors:
  - family-names: Adhikari
    given-names: Govinda
    orcid: https://orcid.org/0000-0002-1825-0097
    affiliation: Yale University
  - family-names: Carlin
  - name: The COSINE-100 Collaboration
"""


def test_citation_cff_authors() -> None:
    assert read_citation_cff(CITATION).authors == [
        Author("Adhikari, Govinda", "person", "Govinda", "Adhikari", "0000-0002-1825-0097", "Yale University"),
        Author("Carlin", "person", None, "Carlin"),
        Author("The COSINE-100 Collaboration", "organization"),
    ]


def test_codemeta_authors() -> None:
    document = {
        "name": "Event rates",
        "author": [
            {
                "@type": "Person",
                "@id": "https://orcid.org/0000-0002-1825-0097",
                "givenName": "Govinda",
                "familyName": "Adhikari",
                "affiliation": {"@type": "Organization", "name": "Yale University"},
            },
            {"@type": "Person", "familyName": "Carlin", "affiliation": "SKKU"},
            {"@type": "Organization", "name": "The COSINE-100 Collaboration"},
            {"name": "Someone"},
        ],
    }
    assert read_codemeta(json.dumps(document).encode()).authors == [
        Author("Adhikari, Govinda", "person", "Govinda", "Adhikari", "0000-0002-1825-0097", "Yale University"),
        Author("Carlin", "person", None, "Carlin", None, "SKKU"),
        Author("The COSINE-100 Collaboration", "organization"),
        Author("Someone", "person"),
    ]
