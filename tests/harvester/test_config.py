"""The sources file: every error names the file, line and key and says what would work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connectors import registry
from harvester.config import ConfigError, load, parse

KINDS = sorted(registry())


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text, "sources.toml", KINDS)
    return str(caught.value)


def test_default_config_names_the_real_portals() -> None:
    config = load(None, KINDS)
    urls = {name: source.spec.url for name, source in config.sources.items()}
    assert urls == {
        "cernopendata": "https://opendata.cern.ch",
        "zenodo": "https://zenodo.org",
        "zenodo-physics": "https://zenodo.org",
        "hepdata": "https://www.hepdata.net",
        "kcdc": "https://kcdc.iap.kit.edu",
        "zenodo-oai": "https://zenodo.org/oai2d",
        "cernopendata-oai": "https://opendata.cern.ch/oai2d",
    }
    assert all(source.spec.limits.requests_per_minute for source in config.sources.values())
    # the OAI-PMH routes to portals that have a REST source are off: the same records twice would be duplicates
    assert {name for name, source in config.sources.items() if not source.enabled} == {"zenodo-oai", "cernopendata-oai"}


def test_a_valid_file_with_options_and_limits(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(
        '[sources.cod]\nkind = "cernopendata"\nurl = "http://127.0.0.1:9/"\n'
        "[sources.cod.options]\nsize = 500\n[sources.cod.limits]\nconcurrency = 8\nrequests_per_minute = 600\n"
    )
    config = load(path, KINDS)
    spec = config.sources["cod"].spec
    assert spec.url == "http://127.0.0.1:9"
    assert spec.options == {"size": 500}
    assert (spec.limits.concurrency, spec.limits.requests_per_minute) == (8, 600)


def test_misspelt_key_names_line_and_suggests() -> None:
    message = error_of('[sources.a]\nkind = "zenodo"\nurl = "https://z"\n\n[sources.a.limits]\nconcurency = 2\n')
    assert (
        message == "sources.toml:6: sources.a.limits.concurency: unknown key 'concurency'; did you mean 'concurrency'?"
    )


def test_unknown_kind_lists_the_known_ones() -> None:
    message = error_of('[sources.a]\nkind = "zenodoo"\nurl = "https://z"\n')
    assert message.startswith(
        "sources.toml:2: [sources.a] kind = 'zenodoo' is not a connector kind; did you mean 'zenodo'?"
    )


def test_missing_url_and_bad_url_and_bad_numbers() -> None:
    assert error_of('[sources.a]\nkind = "zenodo"\n') == "sources.toml:1: sources.a.url: is required"
    assert "'ftp://x' is not an http(s) URL" in error_of('[sources.a]\nkind = "zenodo"\nurl = "ftp://x"\n')
    message = error_of('[sources.a]\nkind = "zenodo"\nurl = "https://z"\n[sources.a.limits]\nconcurrency = 0\n')
    assert message.startswith("sources.toml:5: sources.a.limits.concurrency:")


def test_broken_toml_is_reported_with_position() -> None:
    assert "not valid TOML" in error_of("[sources.a\nkind=1")


def test_selecting_an_unknown_source_lists_configured_ones() -> None:
    config = load(None, KINDS)
    with pytest.raises(
        ConfigError, match="no source named 'cern'; configured: cernopendata, zenodo, zenodo-physics, hepdata"
    ):
        config.select(["cern"])


def test_every_sources_example_in_the_readme_is_a_valid_sources_file() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    examples = re.findall(r"```toml\n(.*?)```", readme, flags=re.S)
    assert len(examples) >= 2
    kinds: set[str] = set()
    for text in examples:
        config = parse(text, "README.md", sorted(registry()))
        kinds |= {source.spec.kind for source in config.sources.values()}
    assert {"cernopendata", "oaipmh", "gitlab", "kcdc"} <= kinds
