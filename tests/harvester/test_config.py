"""The sources file: every error names the file, line and key and says what would work; a source without a request
rate gets the polite default of its host or kind, and no limit at all has to be asked for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connectors import registry
from connectors.base import Limits, SourceSpec
from connectors.http import POLITE_REQUESTS_PER_MINUTE, POLITE_REQUESTS_PER_MINUTE_BY_HOST, polite_limits
from dmlake import where
from doi import policy as doi_policy
from harvester.config import ConfigError, RateOrigin, Source, load, parse
from replication import policy as replication_policy

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
    rates = {name: source.spec.limits.requests_per_minute for name, source in config.sources.items()}
    assert rates == {
        "cernopendata": 60,
        "zenodo": 30,
        "zenodo-physics": 30,
        "hepdata": 60,
        "kcdc": 60,
        "zenodo-oai": 30,
        "cernopendata-oai": 60,
    }
    # written out, not left to the defaults: the file documents the choice (and agrees with the defaults)
    assert {str(source.rate_origin) for source in config.sources.values()} == {"set in the file"}
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


def test_every_sources_example_in_the_readme_is_a_valid_sources_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every TOML example of the README loads: sources files through the config loader, the DOI policy
    (`HOME/doi.toml`, a `[doi]` table) and the replication policy (`HOME/replication.toml`, with its `[where]`
    settings) through their own."""
    monkeypatch.delenv("DMLAKE_SITES", raising=False)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    examples = re.findall(r"```toml\n(.*?)```", readme, flags=re.S)
    assert len(examples) >= 2
    kinds: set[str] = set()
    policies = replications = 0
    for text in examples:
        if text.lstrip().startswith("[doi]"):
            policy_file = tmp_path / "doi.toml"
            policy_file.write_text(text, encoding="utf-8")
            assert doi_policy.load(policy_file).prefix
            policies += 1
            continue
        if text.lstrip().startswith("[replication]"):
            policy_file = tmp_path / "replication.toml"
            policy_file.write_text(text, encoding="utf-8")
            replication = replication_policy.load(policy_file)
            assert replication.staging_rse and replication.rules
            assert where.preferred_sites(home=tmp_path) == ["SITE_B"]
            replications += 1
            continue
        config = parse(text, "README.md", sorted(registry()))
        kinds |= {source.spec.kind for source in config.sources.values()}
    assert {"cernopendata", "oaipmh", "gitlab", "kcdc"} <= kinds
    assert policies == 2
    assert replications == 1


# -- request rates: omitted means the polite default, "unlimited" must be written --------------------------------
def source_with(limits: str, kind: str = "zenodo", url: str = "https://zenodo.org") -> Source:
    limits_table = f"\n[sources.a.limits]\n{limits}\n" if limits else ""
    return parse(f'[sources.a]\nkind = "{kind}"\nurl = "{url}"\n{limits_table}', "sources.toml", KINDS).sources["a"]


@pytest.mark.parametrize(
    ("kind", "url", "rate", "origin"),
    [
        ("zenodo", "https://zenodo.org", 30, "default for host zenodo.org"),
        ("cernopendata", "https://opendata.cern.ch", 60, "default for host opendata.cern.ch"),
        ("hepdata", "https://www.hepdata.net", 60, "default for host www.hepdata.net"),
        ("gitlab", "https://gitlab.com", 600, "default for host gitlab.com"),
        # the kind's default when the host has none (a mirror, a self-hosted GitLab, a replica)
        ("gitlab", "https://gitlab.example.org", 600, "default for kind gitlab"),
        ("hepdata", "http://127.0.0.1:8002", 60, "default for kind hepdata"),
        ("cernopendata", "http://127.0.0.1:8003", 60, "default for kind cernopendata"),
        ("zenodo", "https://sandbox.zenodo.example", 30, "default for kind zenodo"),
        # a portal reached through another kind is as safe: the host's default wins over the kind's
        ("oaipmh", "https://zenodo.org/oai2d", 30, "default for host zenodo.org"),
        ("oaipmh", "https://opendata.cern.ch/oai2d", 60, "default for host opendata.cern.ch"),
        ("oaipmh", "https://ZENODO.org/oai2d", 30, "default for host zenodo.org"),
        # nothing known about the host or the kind: no rate to guess
        ("oaipmh", "https://repository.example.org/oai", None, "no default for kind oaipmh or its host"),
        ("kcdc", "https://kcdc.iap.kit.edu", None, "no default for kind kcdc or its host"),
    ],
)
def test_omitted_rate_is_the_polite_default_of_the_host_else_the_kind(
    kind: str, url: str, rate: float | None, origin: str
) -> None:
    for limits in ("", "concurrency = 2"):  # no limits table at all, or one without requests_per_minute
        source = source_with(limits, kind, url)
        assert source.spec.limits.requests_per_minute == rate
        assert str(source.rate_origin) == origin
        # the same rate the shared client's own helper picks, so the two can never drift apart
        assert polite_limits(kind, url=url).requests_per_minute == rate
    assert source.spec.limits.concurrency == 2  # the other keys of a table without a rate are kept


def test_every_kind_with_a_default_rate_is_polite_without_limits() -> None:
    for kind, rate in POLITE_REQUESTS_PER_MINUTE.items():
        source = source_with("", kind, "https://portal.example.org")
        assert (source.spec.limits.requests_per_minute, source.rate_origin) == (rate, RateOrigin("kind", kind))
    for host, rate in POLITE_REQUESTS_PER_MINUTE_BY_HOST.items():
        source = source_with("", "oaipmh", f"https://{host}/oai2d")
        assert (source.spec.limits.requests_per_minute, source.rate_origin) == (rate, RateOrigin("host", host))


def test_an_explicit_rate_is_kept_above_or_below_the_default() -> None:
    for written, rate in (("5", 5), ("600", 600), ("0.5", 0.5), ("1e3", 1000)):
        source = source_with(f"requests_per_minute = {written}")
        assert source.spec.limits.requests_per_minute == rate
        assert source.rate_origin == RateOrigin("file")
    # a rate in the file counts for an OAI-PMH source of a host without a default too
    assert (
        source_with("requests_per_minute = 12", "oaipmh", "https://x.example/oai").spec.limits.requests_per_minute == 12
    )


def test_unlimited_must_be_written_and_means_no_limit_at_the_client() -> None:
    source = source_with('requests_per_minute = "unlimited"\nconcurrency = 3')
    assert source.spec.limits == Limits(requests_per_minute=None, concurrency=3)
    assert str(source.rate_origin) == "set in the file"
    assert source_with('requests_per_minute = "unlimited"', "gitlab", "https://gitlab.com").spec.limits == Limits()


@pytest.mark.parametrize(
    ("written", "quoted"),
    [
        ('"fast"', '"fast"'),
        ("0", "0"),
        ("-1", "-1"),
        ("-0.5", "-0.5"),
        ("inf", "inf"),
        ("nan", "nan"),
        ("true", "true"),
        ("[60]", "[60]"),
        ('"Unlimited"', '"Unlimited"'),
        ('"none"', '"none"'),
    ],
)
def test_a_rate_that_is_not_one_names_file_line_and_key(written: str, quoted: str) -> None:
    text = (
        '[sources.a]\nkind = "zenodo"\nurl = "https://zenodo.org"\n\n'
        f"[sources.a.limits]\nconcurrency = 1\nrequests_per_minute = {written}\n"
    )
    assert error_of(text) == (
        f"sources.toml:7: sources.a.limits.requests_per_minute: {quoted} is not a request rate: "
        'give requests per minute above 0 (e.g. 60), or "unlimited" for no limit'
    )


def test_a_quoted_number_is_refused_with_what_to_write_instead() -> None:
    message = error_of(
        '[sources.a]\nkind = "zenodo"\nurl = "https://zenodo.org"\n[sources.a.limits]\nrequests_per_minute = "60"\n'
    )
    assert message == (
        'sources.toml:5: sources.a.limits.requests_per_minute: "60" is text: '
        'write the number without quotes, or "unlimited" for no limit'
    )


def test_a_bad_rate_in_the_second_source_points_at_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        '[sources.a]\nkind = "zenodo"\nurl = "https://zenodo.org"\n[sources.a.limits]\nrequests_per_minute = 10\n\n'
        '[sources.b]\nkind = "hepdata"\nurl = "https://www.hepdata.net"\n[sources.b.limits]\nrequests_per_minute = 0\n'
    )
    with pytest.raises(ConfigError) as caught:
        load(path, KINDS)
    assert str(caught.value).startswith(f"{path}:11: sources.b.limits.requests_per_minute: 0 is not a request rate")


def test_sources_built_in_code_say_their_rate_was_given() -> None:
    assert str(Source(SourceSpec("a", "zenodo", "https://zenodo.org"), True, 0.1, None).rate_origin) == "as given"
