"""The Zenodo mappers' speed-ups (REST and OAI-PMH) change no output: each shortcut checked against the slow way.

* HTML → text: `zenodo_fields.html_to_text` walks simple HTML itself (`markup.simple_html_pieces`) instead of
  through `_TextExtractor`'s handlers; it gives the blocks `HTMLParser` gives, on generated fragments made of the
  awkward pieces of `test_markup.py`, random characters, every CERN Open Data abstract and the descriptions of
  generated Zenodo records, and it declines exactly what `parse_html`'s fast path declines.
* Shared values: licences, resource types, publishers, communities, affiliations, vocabulary concepts, periods and
  what experiments imply (messengers, techniques, targets, accelerator) are built once and shared by the records that
  have them. Every Zenodo REST record of the corpus and generated ones (both shapes) and every Zenodo OAI-PMH
  record of the corpus and generated ones (`oai_dc`, `oai_datacite`, both profiles) map to the same JSON with the
  caches as with the uncached functions (which also catches a mapper changing a shared value in place); unmapped
  licences are still counted every time.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import orjson
import pytest
from html_pieces import AWKWARD_HTML_PIECES, cern_abstracts
from lxml import etree
from starlette.testclient import TestClient

from connectors import markup, zenodo_fields
from connectors.base import RawRecord
from connectors.markup import _dispatch_simple, simple_html_pieces
from connectors.oaipmh import OaiPmhConnector
from connectors.zenodo import ZenodoConnector
from connectors.zenodo_fields import _TextExtractor, html_to_text
from ontology import Record
from ontology.vocabulary import unmapped
from sandbox.replicas.oaipmh import wrap_oai_datacite
from sandbox.replicas.oaipmh_zenodo import GeneratedZenodoBase
from sandbox.replicas.zenodo import ZenodoReplica

RDM = "application/vnd.inveniordm.v1+json"
OAI = "http://www.openarchives.org/OAI/2.0/"

PIECES = AWKWARD_HTML_PIECES

AWKWARD = (
    "<p>a<br/>b</p><pre>  x\n  y</pre><ul><li>one</li><li>two &amp; three</li></ul>",
    "<p>p_T < 20 GeV, &lt;x&gt; &nbsp;&times; 3</p><script>ignored()</script><p>after</p>",
    "<div class='a>b'>text<!-- comment --></div> <a href=http://x/y>link</a> tail &amp",
    "<P>UPPER</P><BR><Li>item",
    "<pre><pre>a\n</pre>b<br>c</pre>  <li/><li>x<br />y</li><p/>",
    "a &amp<b>c</b> &lt<i>d</i> 1 < 2 &amp;< 3 <",
    "<STYLE>p{}</STYLE>",
    "<scripts>not raw text</scripts><styles/>",
    "\x00<p>nul\x00</p>",
)


def _htmlparser_blocks(html: str) -> list[tuple[str, bool]]:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.blocks


def _check(html: str) -> bool:
    """The fast blocks (when the fragment is simple) are HTMLParser's; True when the fast path took it."""
    fast = zenodo_fields._simple_blocks(html)
    assert (fast is not None) == _dispatch_simple(html, _TextExtractor()), html
    if fast is not None:
        assert fast == _htmlparser_blocks(html), html
    return fast is not None


def test_awkward_fragments() -> None:
    taken = [_check(html) for html in AWKWARD]
    assert taken == [True, False, False, True, True, True, False, True, True]


def test_generated_fragments() -> None:
    rng = random.Random(20261122)
    simple_pieces = [piece for piece in PIECES if simple_html_pieces(piece) is not None]
    taken = 0
    for _ in range(20_000):
        pool = PIECES if rng.random() < 0.5 else simple_pieces
        taken += _check("".join(rng.choice(pool) for _ in range(rng.randint(1, 12))))
    assert taken > 8_000  # the fast path was exercised, not only the fallback


def test_random_characters() -> None:
    rng = random.Random(23)
    alphabet = "<>/=\"' abplirAB&;#x1\n\t\r\f\v\xa0\x00!?-:._`"
    taken = sum(_check("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30)))) for _ in range(20_000))
    assert taken > 1_000


def test_every_cern_corpus_abstract(corpus: Path) -> None:
    abstracts = cern_abstracts(corpus)
    assert sum(_check(html) for html in abstracts) > 0.99 * len(abstracts)


def test_generated_zenodo_descriptions(monkeypatch: pytest.MonkeyPatch) -> None:
    replica = ZenodoReplica.generated(300, seed=29)
    descriptions = [replica.store.record(entry)["rdm"]["metadata"]["description"] for entry in replica.store.entries()]
    assert all(_check(html) for html in descriptions)
    fast = [html_to_text(html) for html in [*descriptions, *AWKWARD]]
    monkeypatch.setattr(zenodo_fields, "_simple_blocks", lambda html: None)
    monkeypatch.setattr(markup, "_dispatch_simple", lambda html, parser: False)
    assert fast == [html_to_text(html) for html in [*descriptions, *AWKWARD]]


# -- shared values --------------------------------------------------------------------------------------------------
Mapping = tuple[str, Callable[[], Record]]


def _rest(replica: ZenodoReplica, label: str) -> list[Mapping]:
    """Each record in both shapes, as the replica serves them (it writes the shape a capture lacks)."""
    client = TestClient(replica.app())
    out: list[Mapping] = []
    for entry in replica.store.entries():
        for media_type in ("application/json", RDM):
            response = client.get(f"/api/records/{entry.native_id}", headers={"Accept": media_type})
            assert response.status_code == 200, response.text
            raw = RawRecord(entry.native_id, response.content, media_type, "https://zenodo.org/api/records")
            out.append((f"{label} {entry.native_id} {media_type}", partial(ZenodoConnector.map_record, raw, "zenodo")))
    return out


def _oai(identifier: str, sets: tuple[str, ...], metadata: str) -> bytes:
    """A `<record>` as the harvest stores it (the envelope declares the `xsi` prefix the bodies use)."""
    specs = "".join(f"<setSpec>{spec}</setSpec>" for spec in sets)
    return (
        f'<record xmlns="{OAI}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><header>'
        f"<identifier>{identifier}</identifier><datestamp>2024-05-01T00:00:00Z</datestamp>{specs}</header>"
        f"<metadata>{metadata}</metadata></record>"
    ).encode()


def _oai_mapping(label: str, identifier: str, payload: bytes, profile: str) -> Mapping:
    raw = RawRecord(identifier, payload, f"application/xml; oai-profile={profile}", "https://zenodo.org/oai2d")
    return f"{label} {profile}", partial(OaiPmhConnector.map_record, raw, "zenodo-oai")


def _oai_corpus(corpus: Path) -> list[Mapping]:
    out = []
    for path in sorted((corpus / "zenodo" / "oai" / "extracted").glob("*__200.xml")):
        try:
            root = etree.parse(str(path)).getroot()
        except etree.XMLSyntaxError:  # a recording cut short (MANIFEST.md)
            continue
        for record in root.iter(f"{{{OAI}}}record"):
            identifier = record.findtext(f"{{{OAI}}}header/{{{OAI}}}identifier") or ""
            if record.find(f"{{{OAI}}}header").get("status") == "deleted":
                continue
            payload = etree.tostring(record, encoding="UTF-8", xml_declaration=True)
            out += [_oai_mapping(f"{path.name} {identifier}", identifier, payload, p) for p in ("zenodo", "generic")]
    return out


def _oai_generated(count: int) -> list[Mapping]:
    generated = GeneratedZenodoBase(count, seed=13)
    _, envelope = wrap_oai_datacite("CERN.ZENODO")
    out = []
    for index in range(count):
        identifier, bodies = generated.native_id(index), generated.record(index)["bodies"]
        for prefix, metadata in (("oai_dc", bodies["oai_dc"]), ("oai_datacite", envelope(bodies["datacite"]))):
            payload = _oai(identifier, generated.sets_of(index), metadata)
            out += [_oai_mapping(f"{prefix} {identifier}", identifier, payload, p) for p in ("zenodo", "generic")]
    return out


def _without_shared_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every connector module calls the uncached functions behind the caches of shared values."""
    cached = {
        zenodo_fields.shared_concept,
        zenodo_fields.shared_coverage,
        zenodo_fields.community_identifier,
        zenodo_fields.organisation,
        zenodo_fields._affiliation,
    }
    patched = 0
    for name, module in list(sys.modules.items()):
        if name.startswith("connectors."):
            for attribute, value in list(vars(module).items()):
                if any(value is function for function in cached):
                    monkeypatch.setattr(module, attribute, value.__wrapped__)
                    patched += 1
    assert patched >= 8  # zenodo_fields' own four and their importers'
    monkeypatch.setattr(zenodo_fields, "_MAPPED_LICENCES", {})
    monkeypatch.setattr(zenodo_fields, "_IMPLIED_PHYSICS", {})
    monkeypatch.setattr(zenodo_fields, "SHARED_VALUES", 0)  # license_for and _implied_physics remember none


def test_records_map_alike_with_shared_values_and_without(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus_replica = ZenodoReplica.from_corpus(corpus)
    assert corpus_replica is not None
    mappings = [
        *_rest(corpus_replica, "corpus"),
        *_rest(ZenodoReplica.generated(200, seed=37), "generated"),
        *_oai_corpus(corpus),
        *_oai_generated(100),
    ]
    assert len(mappings) > 1_400
    for _, map_record in mappings:  # fill the caches
        map_record()
    shared = [map_record().model_dump_json() for _, map_record in mappings]
    _without_shared_values(monkeypatch)
    for (label, map_record), expected in zip(mappings, shared, strict=True):
        assert map_record().model_dump_json() == expected, label


def test_shared_values_are_shared_and_unmapped_licences_still_counted() -> None:
    replica = ZenodoReplica.generated(2, seed=41)
    entries = list(replica.store.entries())
    records = []
    for entry in entries:
        rdm = replica.store.record(entry)["rdm"]
        rdm["metadata"]["rights"] = [{"id": "cc-by-4.0"}, {"id": "a-licence-spdx-does-not-know"}]
        raw = RawRecord(entry.native_id, orjson.dumps(rdm), RDM, "https://zenodo.org/api/records")
        records.append(ZenodoConnector.map_record(raw, "zenodo"))
    one, other = records
    assert one.license is not None and one.license.raw == "cc-by-4.0" and one.license is other.license
    assert one.publisher is other.publisher
    counted = unmapped().get(("license", "a-licence-spdx-does-not-know"), 0)
    mapped = zenodo_fields.license_for("a-licence-spdx-does-not-know")
    assert mapped is not None and not mapped.mapped
    zenodo_fields.license_for("a-licence-spdx-does-not-know")
    assert unmapped()[("license", "a-licence-spdx-does-not-know")] == counted + 2
