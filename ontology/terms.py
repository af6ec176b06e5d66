"""Namespaces and the few external code lists the RDF views point into (EU authority tables, IANA, SPDX, ADMS).

Kept apart from the builder so the JSON-LD context, the SHACL shapes and the tests name terms the same way.
"""

from __future__ import annotations

from typing import Any

from rdflib import Namespace, URIRef

RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
OWL = Namespace("http://www.w3.org/2002/07/owl#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
DCT = Namespace("http://purl.org/dc/terms/")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
ADMS = Namespace("http://www.w3.org/ns/adms#")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
ORG = Namespace("http://www.w3.org/ns/org#")
PROV = Namespace("http://www.w3.org/ns/prov#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
QUDT = Namespace("http://qudt.org/schema/qudt/")
UNIT = Namespace("http://qudt.org/vocab/unit/")
DMLU = Namespace("https://w3id.org/dmlake/unit/")
DML = Namespace("https://w3id.org/dmlake/ns#")
VOCAB = Namespace("https://w3id.org/dmlake/vocab/")
SCHEMA = Namespace("http://schema.org/")
"""schema.org as its own context, SOSO and Google read it: http, not rdflib's `SDO` (https)."""

PREFIXES: dict[str, Namespace] = {
    "rdf": RDF,
    "rdfs": RDFS,
    "xsd": XSD,
    "owl": OWL,
    "skos": SKOS,
    "dct": DCT,
    "dcat": DCAT,
    "dcatap": DCATAP,
    "adms": ADMS,
    "foaf": FOAF,
    "org": ORG,
    "prov": PROV,
    "spdx": SPDX,
    "qudt": QUDT,
    "unit": UNIT,
    "dmlu": DMLU,
    "dml": DML,
}

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
EU_DATA_THEME_SCHEME = URIRef(EU_AUTHORITY + "data-theme")
EU_DATA_THEME_SCIENCE = URIRef(EU_AUTHORITY + "data-theme/TECH")
"""Every dmlake record is research data; DCAT-AP asks for a theme from the EU data-theme table."""
EU_FILE_TYPE = EU_AUTHORITY + "file-type/"
EU_LANGUAGE = EU_AUTHORITY + "language/"
EU_ACCESS_RIGHT = EU_AUTHORITY + "access-right/"
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
ADMS_LICENCE_TYPE = "http://purl.org/adms/licencetype/"
DCAT_AP_301 = URIRef("https://semiceu.github.io/DCAT-AP/releases/3.0.1/")

DMLAKE_AGENT = URIRef("https://w3id.org/dmlake/agent/dmlake")
MAPPING_BASE = "https://w3id.org/dmlake/mapping/"
SOURCE_BASE = "https://w3id.org/dmlake/source/"

ACCESS_RIGHTS = {
    "open": ("PUBLIC", "public"),
    "restricted": ("RESTRICTED", "restricted"),
    # The EU table has no embargo; during an embargo the data are not public.
    "embargoed": ("NON_PUBLIC", "non-public"),
    "closed": ("NON_PUBLIC", "non-public"),
}

ISO_639_1_TO_EU = {
    "en": "ENG", "de": "DEU", "fr": "FRA", "it": "ITA", "es": "SPA", "pt": "POR", "nl": "NLD", "pl": "POL",
    "cs": "CES", "sk": "SLK", "sl": "SLV", "hr": "HRV", "hu": "HUN", "ro": "RON", "bg": "BUL", "el": "ELL",
    "da": "DAN", "sv": "SWE", "fi": "FIN", "et": "EST", "lv": "LAV", "lt": "LIT", "ga": "GLE", "mt": "MLT",
    "ru": "RUS", "uk": "UKR", "zh": "ZHO", "ja": "JPN", "ko": "KOR", "la": "LAT", "no": "NOR", "tr": "TUR",
}  # fmt: skip

# file extension or format name → (EU file-type code or None, IANA media type or None)
FILE_TYPES: dict[str, tuple[str | None, str | None]] = {
    "json": ("JSON", "application/json"),
    "csv": ("CSV", "text/csv"),
    "tsv": ("TSV", "text/tab-separated-values"),
    "yaml": ("YAML", "application/yaml"),
    "yml": ("YAML", "application/yaml"),
    "xml": ("XML", "application/xml"),
    "pdf": ("PDF", "application/pdf"),
    "zip": ("ZIP", "application/zip"),
    "tar": ("TAR", None),
    "tgz": ("TAR_GZ", None),
    "tar.gz": ("TAR_GZ", None),
    "tar.xz": ("TAR_XZ", None),
    "gz": ("GZIP", "application/gzip"),
    "gzip": ("GZIP", "application/gzip"),
    "txt": ("TXT", "text/plain"),
    "text": ("TXT", "text/plain"),
    "html": ("HTML", "text/html"),
    "htm": ("HTML", "text/html"),
    "png": ("PNG", "image/png"),
    "jpg": ("JPEG", "image/jpeg"),
    "jpeg": ("JPEG", "image/jpeg"),
    "gif": ("GIF", "image/gif"),
    "svg": ("SVG", "image/svg+xml"),
    "tif": ("TIFF", "image/tiff"),
    "tiff": ("TIFF", "image/tiff"),
    "xlsx": ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "h5": ("HDF", None),
    "hdf5": ("HDF", None),
    "hdf": ("HDF", None),
    "nc": ("NETCDF", None),
    "netcdf": ("NETCDF", None),
    "ttl": ("RDF_TURTLE", "text/turtle"),
    "rdf": ("RDF_XML", "application/rdf+xml"),
    "jsonld": ("JSON_LD", "application/ld+json"),
    "nt": ("RDF_N_TRIPLES", "application/n-triples"),
    "bin": ("BIN", "application/octet-stream"),
    "md": (None, "text/markdown"),
    "parquet": (None, "application/vnd.apache.parquet"),
}

FORMAT_LABELS = {"root": "ROOT", "aod": "AOD", "miniaod": "MINIAOD", "nanoaod": "NANOAOD", "dst": "DST"}

# SPDX licence id → ADMS licence types (only where the licence family makes the type certain)
_LICENCE_TYPES = (
    ("CC0-", ("PublicDomain",)),
    ("CC-PDDC", ("PublicDomain",)),
    ("PDDL-", ("PublicDomain",)),
    ("CC-BY-NC-ND-", ("Attribution", "NonCommercialUse", "NoDerivativeWork")),
    ("CC-BY-NC-SA-", ("Attribution", "NonCommercialUse", "ShareAlike")),
    ("CC-BY-NC-", ("Attribution", "NonCommercialUse")),
    ("CC-BY-ND-", ("Attribution", "NoDerivativeWork")),
    ("CC-BY-SA-", ("Attribution", "ShareAlike")),
    ("CC-BY-", ("Attribution",)),
    ("ODbL-", ("Attribution", "ShareAlike")),
    ("ODC-By-", ("Attribution",)),
)


def licence_types(spdx_id: str) -> tuple[str, ...]:
    for prefix, types in _LICENCE_TYPES:
        if spdx_id.startswith(prefix):
            return types
    return ()


def iana_registered(media_type: str) -> bool:
    """Whether a media type can name an IANA registry entry (experimental `x-` subtypes cannot)."""
    kind, _, subtype = media_type.partition("/")
    return bool(kind and subtype) and not subtype.startswith(("x-", "x.")) and "/" not in subtype


class Terms:
    """A namespace whose terms are built once: `Namespace.__getattr__` makes a new URIRef on every access, which was a
    third of the time of building a record's triples; and `DCT.title` is not `str.title` here."""

    def __init__(self, namespace: Namespace) -> None:
        self._namespace = namespace

    def __getattr__(self, name: str) -> URIRef:
        if name.startswith("__"):
            raise AttributeError(name)
        term = URIRef(self._namespace + name)
        setattr(self, name, term)
        return term

    def __getitem__(self, name: str) -> URIRef:
        return self.__getattr__(name)

    def __str__(self) -> str:
        return str(self._namespace)

    def __repr__(self) -> Any:
        return f"Terms({str(self._namespace)!r})"
