"""The canonical model of a dataset release, its vocabularies and its standard views (RDF, DataCite, schema.org)."""

from ontology.model import (
    MODEL_VERSION,
    Agent,
    Availability,
    Checksum,
    Collision,
    Concept,
    Distribution,
    EnergyRange,
    Identifier,
    IdentifierScheme,
    Provenance,
    Quantity,
    Record,
    Replica,
    TemporalCoverage,
    record_id,
)

__all__ = [
    "MODEL_VERSION",
    "Agent",
    "Availability",
    "Checksum",
    "Collision",
    "Concept",
    "Distribution",
    "EnergyRange",
    "Identifier",
    "IdentifierScheme",
    "Provenance",
    "Quantity",
    "Record",
    "Replica",
    "TemporalCoverage",
    "record_id",
]
