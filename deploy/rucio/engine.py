"""The local stack's Rucio daemons, run in one process: each daemon's own work function, once per loop.

This is how Rucio's own test suite drives the daemons. The stock loop-mode executables are not used: the loop-mode
conveyor poller does not look at a request again for 600 s after polling it (`get_and_mark_next`'s
`processed_at_delay`, not configurable), so a transfer not finished at its first poll would be seen done ten
minutes late. In once mode requests are not marked, and every loop polls every submitted transfer.

One loop: judge-evaluator (rules of files attached to datasets that already have rules), conveyor submitter,
poller and finisher (the transfers), the qBittorrent janitor, judge-cleaner (expired and deleted rules) and, every
few loops, minos and the necromancer (replicas declared bad are copied again from a good one), the undertaker
(expired DIDs) and the reaper (deletes unlocked replicas: each RSE has greedyDeletion).
An exception in one daemon's turn is logged and the loop goes on. Run by the stack controller (stack.py), with
RUCIO_CONFIG, RUCIO_HOME and TMPDIR set to the stack's.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rucio.common.logging import setup_logging
from rucio.daemons.badreplicas import minos, necromancer
from rucio.daemons.common import run_daemon
from rucio.daemons.conveyor import finisher, poller, submitter
from rucio.daemons.judge import cleaner, evaluator
from rucio.daemons.reaper import reaper
from rucio.daemons.undertaker import undertaker

LOG = logging.getLogger("rucio-engine")


@dataclass
class Turn:
    name: str
    run: Callable[[], object]
    every: int = 1  # run in every n-th loop


def once(module: Any, graceful_stop: Any, **arguments: Any) -> Callable[[], object]:
    """One turn of a daemon's work function through Rucio's own run_daemon, without a partition wait.

    Several daemons hard-code a partition wait in their entry points (judge evaluator and cleaner 1 s, minos and
    necromancer 10 s) even in once mode; calling their work function the way the entry point does, minus the wait,
    keeps a loop short."""
    return lambda: run_daemon(
        once=True,
        graceful_stop=graceful_stop,
        executable=module.DAEMON_NAME,
        partition_wait_time=0,
        sleep_time=60,
        run_once_fnc=functools.partial(module.run_once, **arguments),
    )


def daemon_turns(reaper_every: int) -> list[Turn]:
    # paused DIDs and rules persist from loop to loop, as in the loop-mode daemons
    paused_dids: dict[Any, Any] = {}
    paused_rules: dict[Any, Any] = {}
    paused_expired: dict[Any, Any] = {}
    return [
        Turn("judge-evaluator", once(evaluator, evaluator.graceful_stop, did_limit=1000, paused_dids=paused_dids)),
        Turn("conveyor-submitter", lambda: submitter.submitter(once=True, partition_wait_time=0)),
        Turn("conveyor-poller", lambda: poller.poller(once=True, older_than=0, partition_wait_time=0)),
        Turn("conveyor-finisher", lambda: finisher.finisher(once=True, partition_wait_time=0)),
        Turn("qbittorrent-janitor", QBittorrentJanitor()),
        Turn("judge-cleaner", once(cleaner, cleaner.graceful_stop, paused_rules=paused_rules)),
        # bad replicas: minos turns declared bad PFNs into bad replicas, the necromancer has them copied again from
        # a good replica (or declares the file lost when there is none)
        Turn("minos", once(minos, minos.graceful_stop, bulk=1000), every=reaper_every),
        Turn("necromancer", once(necromancer, necromancer.graceful_stop, bulk=1000), every=reaper_every),
        Turn(
            "undertaker",
            once(undertaker, undertaker.graceful_stop, paused_dids=paused_expired, chunk_size=10),
            every=reaper_every,
        ),
        Turn(
            "reaper",
            lambda: reaper.reaper(once=True, rses=[], include_rses=None, exclude_rses=None),
            every=reaper_every,
        ),
    ]


def stop_daemons() -> None:
    """Make a daemon call in progress return at its next check."""
    for module in (submitter, poller, finisher, reaper):
        module.GRACEFUL_STOP.set()
    for module in (evaluator, cleaner, undertaker, minos, necromancer):
        module.graceful_stop.set()


class QBittorrentJanitor:
    """Forgets finished torrents (their files stay) once no submitted transfer uses them.

    The reaper deletes a replica's file but never tells qBittorrent. A torrent's hash depends only on the file's
    scope:name and merkle tree, so replicating the same file to that RSE again would find the stale torrent
    complete and the replica would be marked AVAILABLE with no file on disk (observed). Dropping finished torrents
    that no SUBMITTED bittorrent request refers to prevents that; a seeding source stays while a transfer needs it.

    It also introduces the peers of every unfinished transfer to each other again. The transfer tool adds the
    torrent (qBittorrent adds it asynchronously) and at once tells each side the other's address; when qBittorrent
    has not registered the torrent yet, that introduction is lost, and with no tracker on loopback the download
    never starts (observed on a loaded machine: one of two copies of a file stayed SUBMITTED for minutes). Adding a
    known peer again is harmless.
    """

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.listen: dict[str, str] = {}  # management address -> "ip:port" of its BitTorrent listener

    def __call__(self) -> None:
        import qbittorrentapi
        from rucio.common.config import get_rse_credentials
        from rucio.core.rse import list_rse_attributes, list_rses
        from rucio.db.sqla import models
        from rucio.db.sqla.constants import RequestState
        from rucio.db.sqla.session import get_session
        from sqlalchemy import select

        session = get_session()
        try:
            in_use = {
                external_id
                for (external_id,) in session.execute(
                    select(models.Request.external_id).where(
                        models.Request.state == RequestState.SUBMITTED, models.Request.transfertool == "bittorrent"
                    )
                )
            }
            credentials = get_rse_credentials()
            rses = [
                (rse["rse"], rse["id"], list_rse_attributes(rse["id"], session=session))
                for rse in list_rses(session=session)
            ]
        finally:
            session.remove()
        holders: dict[str, list[tuple[str, Any, bool]]] = {}  # torrent hash -> (address, client, downloading)
        for name, rse_id, rse_attributes in rses:
            address = rse_attributes.get("qbittorrent_management_address")
            credential = credentials.get(rse_id)
            if not address or not credential:
                continue
            client = self.clients.get(address)
            if client is None:
                client = qbittorrentapi.Client(
                    host=address,
                    username=credential["qbittorrent_username"],
                    password=credential["qbittorrent_password"],
                    FORCE_SCHEME_FROM_HOST=True,
                    REQUESTS_ARGS={"timeout": 10},
                )
                self.clients[address] = client
            try:
                torrents = client.torrents_info()
                finished = [t.hash for t in torrents if t.progress >= 1 and t.hash not in in_use]
                if finished:
                    client.torrents_delete(delete_files=False, torrent_hashes=finished)
                    LOG.info("qbittorrent-janitor: forgot %d finished torrents on %s", len(finished), name)
                for torrent in torrents:
                    if torrent.hash in in_use:
                        holders.setdefault(torrent.hash, []).append((address, client, torrent.progress < 1))
            except qbittorrentapi.APIError as error:  # one site's qBittorrent down must not stop the others' cleaning
                LOG.warning("qbittorrent-janitor: qBittorrent of %s at %s: %s", name, address, error)
        self.introduce(holders)

    def introduce(self, holders: dict[str, list[tuple[str, Any, bool]]]) -> None:
        """Each qBittorrent holding a torrent of an unfinished transfer is given the others' addresses again."""
        import qbittorrentapi

        for torrent_hash, sides in holders.items():
            if len(sides) < 2 or not any(downloading for _, _, downloading in sides):
                continue
            for address, client, _ in sides:
                others = [self._listener(a, c) for a, c, _ in sides if a != address]
                try:
                    client.torrents_add_peers(torrent_hashes=[torrent_hash], peers=others)
                except qbittorrentapi.APIError as error:
                    LOG.warning("qbittorrent-janitor: peers for %s at %s: %s", torrent_hash, address, error)

    def _listener(self, address: str, client: Any) -> str:
        if address not in self.listen:
            port = client.app_preferences()["listen_port"]
            host = urlsplit(address if "//" in address else f"http://{address}").hostname or "127.0.0.1"
            self.listen[address] = f"{host}:{port}"
        return self.listen[address]


class Engine:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stopping = False
        self.turns = daemon_turns(args.reaper_every)

    def request_stop(self, signum: int, _frame: object) -> None:
        LOG.info("rucio-engine: signal %d, stopping after the current daemon turn", signum)
        self.stopping = True
        stop_daemons()

    def run(self) -> None:
        loop = 0
        while not self.stopping and (self.args.iterations == 0 or loop < self.args.iterations):
            started = time.monotonic()
            if self.owner_gone():
                self.take_the_stack_down()
                return
            self.beat(loop)
            for turn in self.turns:
                if self.stopping:
                    break
                if loop % turn.every:
                    continue
                try:
                    turn.run()
                except Exception:
                    LOG.exception("rucio-engine: %s failed in loop %d; the engine goes on", turn.name, loop)
            loop += 1
            time.sleep(max(0.0, self.args.interval - (time.monotonic() - started)))
        LOG.info("rucio-engine stopped after %d loops", loop)

    def beat(self, loop: int) -> None:
        """The heartbeat file: the controller waits for the first one, `stack.py status` shows its age."""
        if self.args.heartbeat is None:
            return
        partial = self.args.heartbeat.with_suffix(".tmp")
        partial.write_text(json.dumps({"loop": loop, "time": time.time(), "pid": os.getpid()}))
        partial.replace(self.args.heartbeat)

    def owner_gone(self) -> bool:
        owner = self.args.owner_pid
        if owner is None:
            return False
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def take_the_stack_down(self) -> None:
        """The process that started the stack (a test session) died without stopping it: stop it ourselves."""
        LOG.warning("rucio-engine: owner process %d is gone; stopping the stack %s", self.args.owner_pid, self.args.dir)
        controller = Path(__file__).resolve().parent / "stack.py"
        subprocess.Popen(
            [sys.executable, str(controller), "down", "--dir", str(self.args.dir)]
            + (["--remove"] if self.args.remove_with_owner else []),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, required=True, help="the stack directory")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds from the start of one loop to the next")
    parser.add_argument("--reaper-every", type=int, default=3, help="run the undertaker and reaper every n loops")
    parser.add_argument("--iterations", type=int, default=0, help="stop after n loops (0: run until SIGTERM)")
    parser.add_argument("--heartbeat", type=Path, help="file rewritten at the start of every loop")
    parser.add_argument("--owner-pid", type=int, help="stop the whole stack when this process is gone")
    parser.add_argument("--remove-with-owner", action="store_true", help="and then remove the stack directory")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    setup_logging(process_name="rucio-engine")
    engine = Engine(args)
    signal.signal(signal.SIGTERM, engine.request_stop)
    signal.signal(signal.SIGINT, engine.request_stop)
    LOG.info("rucio-engine started: interval %.1f s, reaper every %d loops", args.interval, args.reaper_every)
    engine.run()


if __name__ == "__main__":
    main()
