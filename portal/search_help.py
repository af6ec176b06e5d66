"""The descriptions of the search parameters, shared by `/api/search` and `/api/facets` (and so by the OpenAPI)."""

from __future__ import annotations

from indexer.query import FACETABLE, PROJECTABLE

SEARCH_TEXT_HELP = (
    'Words, "phrases", AND/OR/-word and FIELD:value (title, description, keywords, experiment, collaboration, '
    "messenger, technique, target, keyword, doi, identifier, license, file_format, source, year, ...); "
    "energy:[1 TeV TO 100 TeV], energy:>=13TeV (overlap with the energy interval or √s; eV keV MeV GeV TeV PeV EeV), "
    "sqrt_s:13TeV, date:[2015 TO 2018-06]. Empty matches everything."
)
FILTER_HELP = (
    "field=value, field=low..high, energy=1TeV..100TeV, date=2015-01-01..2018-12-31 (overlap), sqrt_s=13TeV "
    "(repeatable; values of one field are OR-ed)."
)
FACET_HELP = (
    "Field to count values of (repeatable or comma-separated): " + ", ".join(FACETABLE) + "; or the histograms "
    "year_histogram (every year from the first to the last with a dataset) and energy_histogram (decades in GeV)."
)
FIELDS_HELP = "Comma-separated summary fields to return per hit (id and score always): " + ", ".join(PROJECTABLE) + "."
HIGHLIGHT_HELP = "Add per hit the matched fragments of title and description, with <mark> tags, HTML-escaped."
DISJUNCTIVE_HELP = (
    "Count each facet without the filters on its own field (year and year_histogram without year=, "
    "energy_histogram without energy=), with every other filter and the text: a filtered field's other values stay "
    "listed with the datasets each would add. Hits and total are unchanged."
)
