"""Documented SPARQL questions, each saying what it counts: datasets (identity clusters, as the search counts its
hits) or records (catalogue entries: a dataset harvested from Zenodo and from CERN Open Data is one dataset, two
records). Tested as written (`tests/graphstore/test_sparql_clusters.py`).

A record's graph names its cluster: `?record dml:cluster ?dataset` (the record speaking for the cluster; the record
itself when it matched no other). A dataset counts when any of its records matches.
"""

from __future__ import annotations

MULTI_MESSENGER = """\
# Datasets whose messenger is neutrino or photon and whose energy range overlaps 1-100 TeV, per experiment:
# ?datasets counts datasets (identity clusters, as the search counts hits), ?records the catalogue records among them.
# Energies compare in joules through each unit's qudt:conversionMultiplier (1 TeV = 1.602176634E-7 J), so ranges in
# GeV, TeV or PeV compare correctly; an open bound counts as overlapping.
SELECT ?experimentConcept (SAMPLE(?label) AS ?experiment)
       (COUNT(DISTINCT ?dataset) AS ?datasets) (COUNT(DISTINCT ?record) AS ?records)
WHERE {
  VALUES ?messenger { <https://w3id.org/dmlake/vocab/messenger/neutrino>
                      <https://w3id.org/dmlake/vocab/messenger/photon> }
  ?record a dcat:Dataset ;
          dml:cluster ?dataset ;
          dml:messenger ?messenger ;
          dml:energyRange ?range .
  ?range qudt:unit/qudt:conversionMultiplier ?joulesPerUnit .
  OPTIONAL { ?range dml:minEnergy ?low }
  OPTIONAL { ?range dml:maxEnergy ?high }
  FILTER (BOUND(?low) || BOUND(?high))
  FILTER (!BOUND(?low) || ?low * ?joulesPerUnit <= 100 * 1.602176634E-7)
  FILTER (!BOUND(?high) || ?high * ?joulesPerUnit >= 1.602176634E-7)
  OPTIONAL { ?record dml:experiment ?experimentConcept .
             GRAPH <https://w3id.org/dmlake/vocab/> { ?experimentConcept skos:prefLabel ?label } }
}
GROUP BY ?experimentConcept
ORDER BY DESC(?datasets)
"""

TOTALS = """\
# The whole catalogue: ?records counts catalogue records; ?datasets counts datasets (identity clusters: the search's
# total).
SELECT (COUNT(DISTINCT ?record) AS ?records) (COUNT(DISTINCT ?dataset) AS ?datasets)
WHERE { ?record a dcat:Dataset ; dml:cluster ?dataset }
"""

QUESTIONS: dict[str, str] = {
    "multi-messenger": MULTI_MESSENGER,
    "totals": TOTALS,
}
"""The documented questions by name."""
