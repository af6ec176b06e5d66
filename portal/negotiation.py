"""HTTP content negotiation: pick the record format a client's Accept header prefers."""

from __future__ import annotations

from collections.abc import Mapping

# The media type of each record format (the names `ontology.views.render` takes).
FORMAT_MEDIA = {
    "json": "application/json",
    "jsonld": "application/ld+json",
    "turtle": "text/turtle",
    "rdfxml": "application/rdf+xml",
    "ntriples": "application/n-triples",
    "datacite-xml": "application/vnd.datacite.datacite+xml",
    "datacite-json": "application/vnd.datacite.datacite+json",
    "schemaorg": "application/vnd.schemaorg.ld+json",
}


def _parse(accept: str) -> list[tuple[str, float, int]]:
    choices = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        choices.append((media.lower(), quality, position))
    return choices


def choose_format(accept: str, formats: Mapping[str, str]) -> str | None:
    """The format whose media type the client rates highest; JSON when it accepts anything or says nothing.

    Specific media types beat wildcards at equal quality; earlier entries win ties. None: nothing acceptable.
    """
    if not accept.strip():
        return "json"
    best: tuple[float, int, int, str] | None = None
    for media, quality, position in _parse(accept):
        if quality <= 0:
            continue
        for name, offered in formats.items():
            main, _, sub = media.partition("/")
            if media == offered:
                specificity = 2
            elif media == "*/*" or (sub == "*" and offered.startswith(main + "/")):
                specificity = 0 if media == "*/*" else 1
                if name != "json" and specificity == 0:
                    continue  # a bare */* means "anything": answer JSON, not the first format listed
            else:
                continue
            rank = (quality, specificity, -position, name)
            if best is None or rank[:3] > best[:3]:
                best = rank
    return None if best is None else best[3]
