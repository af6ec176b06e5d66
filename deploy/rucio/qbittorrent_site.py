"""One qbittorrent-nox per site: the data mover behind Rucio's upstream `bittorrent` transfer tool.

Each instance has its own profile folder (so nothing is written to the home directory), listens on loopback only,
speaks plain TCP (the default µTP made a 1 GiB loopback transfer ~10× slower) and accepts several connections from
one IP (all sites share 127.0.0.1). The WebUI password is written as qBittorrent's own PBKDF2 hash, so the set-up
does not depend on the version's default or temporary admin password.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
USERNAME = "rucio"
PASSWORD = "rucio-qbt-secret"


class QBittorrentUnavailable(RuntimeError):
    """qbittorrent-nox is not installed."""


def executable() -> str:
    found = shutil.which("qbittorrent-nox")
    if found is None:
        raise QBittorrentUnavailable(
            "qbittorrent-nox is not installed: run scripts/setup.sh (as root or with password-less sudo), "
            "or `sudo apt-get install -y --no-install-recommends qbittorrent-nox`"
        )
    return found


def password_pbkdf2(password: str, salt: bytes | None = None) -> str:
    """qBittorrent's `WebUI\\Password_PBKDF2` value: PBKDF2-HMAC-SHA512, 100000 iterations, 16-byte salt."""
    salt = os.urandom(16) if salt is None else salt
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 100_000, 64)
    return f"@ByteArray({base64.b64encode(salt).decode()}:{base64.b64encode(key).decode()})"


@dataclass(frozen=True)
class QBittorrentSite:
    rse: str
    profile: Path  # qbittorrent-nox --profile: config, torrent state and logs of this site's instance
    webui_port: int
    bittorrent_port: int

    @property
    def management_address(self) -> str:
        return f"http://127.0.0.1:{self.webui_port}/"

    @property
    def log(self) -> Path:
        return self.profile / "qbittorrent-nox.out"

    def write_config(self) -> None:
        """(Re)write the config: ports are chosen afresh at every start, the torrents kept in the profile stay."""
        config = self.profile / "qBittorrent" / "config" / "qBittorrent.conf"
        config.parent.mkdir(parents=True, exist_ok=True)
        downloads = self.profile / "downloads"
        downloads.mkdir(exist_ok=True)
        template = string.Template((TEMPLATES / "qBittorrent.conf").read_text())
        config.write_text(
            template.substitute(
                bittorrent_port=self.bittorrent_port,
                webui_port=self.webui_port,
                downloads=downloads,
                username=USERNAME,
                password_pbkdf2=password_pbkdf2(PASSWORD),
            )
        )

    def command(self) -> list[str]:
        return [executable(), f"--profile={self.profile}"]

    def environment(self) -> dict[str, str]:
        # HOME and XDG folders inside the profile too: no stray ~/.config, ~/.local or ~/.cache of the caller's
        home = self.profile / "home"
        home.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_CACHE_HOME": str(home / ".cache"),
        }

    def wait_ready(self, pid_alive: Callable[[], bool], timeout: float = 30.0) -> str:
        """Log in to the WebUI and check it listens where configured; returns qBittorrent's version.

        `pid_alive` tells whether the instance still runs, so a dead one is reported at once."""
        import qbittorrentapi  # the server environment's package; imported late so `down` works without it

        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if not pid_alive():
                raise RuntimeError(f"qbittorrent-nox for {self.rse} exited at start: see {self.log}")
            client = qbittorrentapi.Client(
                host=self.management_address, username=USERNAME, password=PASSWORD, REQUESTS_ARGS={"timeout": 5}
            )
            try:
                client.auth_log_in()
                preferences = client.app_preferences()
            except (qbittorrentapi.APIConnectionError, qbittorrentapi.LoginFailed) as error:
                last_error = error
                time.sleep(0.2)
                continue
            if preferences["listen_port"] != self.bittorrent_port or preferences["bittorrent_protocol"] != 1:
                raise RuntimeError(
                    f"qbittorrent-nox for {self.rse} did not take its config {self.profile}: listen port "
                    f"{preferences['listen_port']} (wanted {self.bittorrent_port}), protocol "
                    f"{preferences['bittorrent_protocol']} (wanted 1 = TCP)"
                )
            return str(client.app.version)
        raise RuntimeError(
            f"qbittorrent-nox for {self.rse} did not answer on {self.management_address} within {timeout:.0f} s "
            f"({last_error}): see {self.log}"
        )
