"""The notification settings of a sources file: `[notify]` and `[sources.NAME.notify]`, errors with line and key."""

from __future__ import annotations

import pytest

from harvester.config import NOTIFY_EVENTS, ConfigError, NotifySettings, SourceNotify, parse

SOURCE = """
[sources.zenodo]
kind = "zenodo"
url = "https://zenodo.org"
"""


def test_settings_are_read() -> None:
    text = (
        '[notify]\nsmtp_host = "smtp.example.org"\nsmtp_port = 587\nfrom = "lake@example.org"\nstarttls = true\n'
        'username = "lake"\npassword_env = "SMTP_PASSWORD"\npublic_url = "https://lake.example.org/"\n'
        + SOURCE
        + '[sources.zenodo.notify]\nemail = ["a@example.org", "b@example.org"]\nwebhook = "https://hooks.example.org/x"\n'
        'on = ["failure", "error_rate", "failure"]\nerror_rate_jump = 0.2\n'
    )
    config = parse(text, "s.toml")
    assert config.notify == NotifySettings(
        "smtp.example.org", 587, "lake@example.org", True, "lake", "SMTP_PASSWORD", "https://lake.example.org"
    )
    assert config.sources["zenodo"].notify == SourceNotify(
        ("a@example.org", "b@example.org"), "https://hooks.example.org/x", ("failure", "error_rate"), 0.2
    )


def test_defaults_notify_nobody() -> None:
    config = parse(SOURCE, "s.toml")
    assert config.sources["zenodo"].notify is None
    assert config.notify == NotifySettings()
    bare = parse(SOURCE + '[sources.zenodo.notify]\nemail = "dm@example.org"\n', "s.toml").sources["zenodo"].notify
    assert bare == SourceNotify(("dm@example.org",), None, NOTIFY_EVENTS, 0.05)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            '[sources.zenodo.notify]\nwebhok = "http://x.org"\n',
            "s.toml:7: sources.zenodo.notify.webhok: unknown key 'webhok'; did you mean 'webhook'?",
        ),
        (
            '[sources.zenodo.notify]\nemail = ["dm-at-example.org"]\n',
            's.toml:7: sources.zenodo.notify.email: "dm-at-example.org" is not an e-mail address',
        ),
        (
            '[sources.zenodo.notify]\nwebhook = "ftp://x.org"\n',
            "s.toml:7: sources.zenodo.notify.webhook: 'ftp://x.org' is not an http(s) URL",
        ),
        (
            '[sources.zenodo.notify]\non = ["deletions"]\n',
            "s.toml:7: sources.zenodo.notify.on.0: Input should be 'failure', 'pending_deletions' or 'error_rate'",
        ),
        (
            "[sources.zenodo.notify]\nerror_rate_jump = 0\n",
            "s.toml:7: sources.zenodo.notify.error_rate_jump: Input should be greater than 0",
        ),
        (
            '[notify]\nsmtp_hots = "x"\n',
            "s.toml:7: notify.smtp_hots: unknown key 'smtp_hots'; did you mean 'smtp_host'?",
        ),
        ('[notify]\nfrom = "nobody"\n', 's.toml:7: notify.from: "nobody" is not an e-mail address'),
        ("[notify]\nsmtp_port = 0\n", "s.toml:7: notify.smtp_port: Input should be greater than or equal to 1"),
    ],
)
def test_errors_name_line_and_key(lines: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(SOURCE + "\n" + lines, "s.toml")
    assert str(raised.value) == expected
