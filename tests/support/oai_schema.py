"""The OAI-PMH 2.0 response schema, read offline from ../shared/standards (its remote imports resolved locally)."""

from __future__ import annotations

from pathlib import Path

from lxml import etree


class LocalSchemas(etree.Resolver):
    """Resolve the schemas' remote imports (Dublin Core, xml.xsd) to the local copies in ../shared/standards."""

    def __init__(self, standards: Path) -> None:
        super().__init__()
        self.files = {p.name: p for p in standards.rglob("*.xsd")}

    def resolve(self, url: str | None, pubid: str | None, context: object) -> object:
        name = (url or "").rsplit("/", 1)[-1]
        if url and url.startswith("http") and name in self.files:
            return self.resolve_filename(str(self.files[name]), context)
        return None


def oai_pmh_schema(standards: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(LocalSchemas(standards))
    return etree.XMLSchema(etree.parse(str(standards / "oai-pmh" / "bundle.xsd"), parser))
