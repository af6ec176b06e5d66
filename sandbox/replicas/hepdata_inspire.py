"""SIDE FILE, not corpus data: the publication metadata hepdata.net takes from INSPIRE for the corpus submissions.

The HEPData submission format carries no publication metadata (title, collaboration, arXiv id, journal DOI, year):
hepdata.net fetches it from INSPIRE when a record is created. The replica needs it to answer as hepdata.net does,
so it is kept here, small and apart, with where each value was read. Only values that could be checked in public
material are listed; a value that could not be checked is left out rather than guessed, and the replica then
answers as HEPData does for a missing INSPIRE field (the key is absent, or `None` where HEPData defaults to it).

Sources read (through the project's public-material search, November 2026):

* [hd-page] https://www.hepdata.net/record/ins1396331: the record page and its schema.org JSON-LD
  (`@id https://doi.org/10.17182/hepdata.73066.v2`, `isBasedOn` `https://doi.org/10.1007/JHEP03(2016)159`,
  creator "LHCb Collaboration", heading "Measurements of prompt charm production cross-sections in $pp$
  collisions at $\\sqrt{s}=13$ TeV", journal line "JHEP 1603 (2016) 159, 2016").
* [arxiv] https://ar5iv.labs.arxiv.org/html/1510.01707: LHCb-PAPER-2015-041, "Measurements of prompt charm production
  cross-sections in pp collisions at √s = 13 TeV", published in JHEP 03 (2016) 159.
* [corpus] the submission itself: `record_ids` of ins1396331 (inspire 1396331, cds 2057627, durham 6576).

INSPIRE 1512299 (the Belle single-file submission): no public page that states its INSPIRE metadata (title,
collaboration, arXiv id, DOI, HEPData record id) could be found, so none is given. Its HEPData record id is
assigned by the replica (see `REPLICA_ASSIGNED_RECIDS`).
"""

from __future__ import annotations

from typing import Any

HEPDATA_RECIDS: dict[str, int] = {
    # [hd-page]: the record DOI 10.17182/hepdata.73066.v2 names HEPData record 73066 for INSPIRE 1396331.
    "1396331": 73066,
}
"""HEPData publication record ids that could be verified, by INSPIRE id."""

REPLICA_ASSIGNED_RECIDS: dict[str, int] = {
    # Not verifiable: assigned by the replica from a range far above real HEPData ids so it cannot be mistaken.
    "1512299": 9_000_001,
}
"""HEPData record ids the replica assigns because the real ones could not be verified."""

PUBLICATIONS: dict[str, dict[str, Any]] = {
    "1396331": {
        "title": "Measurements of prompt charm production cross-sections in $pp$ collisions at $\\sqrt{s}=13$ TeV",
        # [hd-page] heading; [arxiv] title
        "collaborations": ["LHCb"],  # [hd-page] creator "LHCb Collaboration"
        "arxiv_id": "arXiv:1510.01707",  # [arxiv]; HEPData writes INSPIRE's eprint as 'arXiv:' + number
        "doi": "10.1007/JHEP03(2016)159",  # [hd-page] JSON-LD isBasedOn; [arxiv] "Published in JHEP 03 (2016) 159"
        "journal_info": "JHEP 1603 (2016) 159",  # [hd-page] journal line
        "year": "2016",  # [hd-page] journal line
    },
    "1512299": {},
}
"""INSPIRE-derived publication metadata by INSPIRE id: only verified values (see the module docstring)."""


def publication(inspire_id: str) -> dict[str, Any]:
    """The verified INSPIRE metadata of a corpus record (empty when nothing could be verified)."""
    return dict(PUBLICATIONS.get(inspire_id, {}))


def hepdata_recid(inspire_id: str, fallback: int) -> tuple[int, bool]:
    """The HEPData record id of a corpus record and whether it is the real one (False: replica-assigned)."""
    if inspire_id in HEPDATA_RECIDS:
        return HEPDATA_RECIDS[inspire_id], True
    return REPLICA_ASSIGNED_RECIDS.get(inspire_id, fallback), False
