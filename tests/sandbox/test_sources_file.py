"""The sources file `dmlake sandbox up` writes is one `dmlake` reads back: kinds, URLs and connector options."""

from __future__ import annotations

import pytest

from connectors import registry
from harvester.config import parse
from sandbox.server import sources_toml


def test_options_round_trip_through_the_config_parser() -> None:
    text = sources_toml(
        {
            "zenodo": ("zenodo", "http://127.0.0.1:8001"),
            "hepdata-like": (
                "hepdata",
                "http://127.0.0.1:8002",
                {"prefix": 'oai_"dc"', "sets": ["user-escape2020", "software"], "page": 3, "strict": True},
            ),
        }
    )
    config = parse(text, "<sandbox>", sorted(registry()))
    assert config.sources["zenodo"].spec.url == "http://127.0.0.1:8001"
    assert dict(config.sources["zenodo"].spec.options) == {}
    assert config.sources["hepdata-like"].spec.kind == "hepdata"
    assert dict(config.sources["hepdata-like"].spec.options) == {
        "prefix": 'oai_"dc"',
        "sets": ["user-escape2020", "software"],
        "page": 3,
        "strict": True,
    }


def test_an_option_a_sources_file_cannot_hold_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="dict"):
        sources_toml({"x": ("zenodo", "http://127.0.0.1:1", {"nested": {"a": 1}})})
