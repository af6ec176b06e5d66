"""The hardened XML parser: entity bombs, external entities and external DTDs are refused without any request."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.xmlsafe import XmlError, parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>&lol9;</responseDate></OAI-PMH>
"""


class Listener:
    """A TCP port that records whether anything connected to it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def test_a_real_oai_response_parses(corpus: Path) -> None:
    body = (corpus / "zenodo/oai/extracted/scythe-2026__identify__02__Identify__200.xml").read_bytes()
    root = parse_xml(body, "Identify of zenodo")
    assert root.findtext("{http://www.openarchives.org/OAI/2.0/}responseDate") == "2026-08-10T08:56:30Z"


def test_billion_laughs_is_refused_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(XmlError, match="DOCTYPE") as caught:
        parse_xml(BILLION_LAUGHS, "ListRecords page of evil-oai")
    assert caught.value.what == "ListRecords page of evil-oai"
    assert time.monotonic() - started < 1.0


def test_external_file_entity_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    payload = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        f'<r xmlns="http://www.openarchives.org/OAI/2.0/">&xxe;</r>'
    ).encode()
    with pytest.raises(XmlError) as caught:
        parse_xml(payload, "record oai:evil:1")
    assert "TOP-SECRET-CONTENT" not in str(caught.value)


def test_external_dtd_over_http_makes_no_request(listener: Listener) -> None:
    payload = (
        f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:{listener.port}/evil.dtd"><r>&remote;</r>'
    ).encode()
    with pytest.raises(XmlError):
        parse_xml(payload, "GetRecord of evil-oai")
    payload = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % ext SYSTEM "http://127.0.0.1:{listener.port}/x.dtd"> %ext;]>'
        f"<r>x</r>"
    ).encode()
    with pytest.raises(XmlError):
        parse_xml(payload, "GetRecord of evil-oai")
    payload = (
        f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:{listener.port}/plain.dtd"><r>fine text</r>'
    ).encode()
    with pytest.raises(XmlError, match="DOCTYPE"):
        parse_xml(payload, "GetRecord of evil-oai")
    time.sleep(0.5)  # a request, had one been made, would have been accepted by now
    assert listener.connections == 0


def test_malformed_and_empty_bodies_name_what_failed() -> None:
    with pytest.raises(XmlError, match=r"^ListRecords page 3 of zenodo-oai: not well-formed"):
        parse_xml(b"<OAI-PMH><ListRecords><record></OAI-PMH>", "ListRecords page 3 of zenodo-oai")
    with pytest.raises(XmlError, match="empty"):
        parse_xml(b"  \n", "Identify of kcdc-oai")


def test_predefined_and_character_references_still_work() -> None:
    root = parse_xml(b"<r>a &amp; b &#233; &lt;p&gt;</r>", "text")
    assert root.text == "a & b \u00e9 <p>"
