"""`python -m sandbox --state FILE [--corpus DIR | --generate N] [--services datacite] [--sources-out FILE]`: the
sandbox daemon.

Started detached by `dmlake sandbox up`; serves the replicas until SIGTERM (`dmlake sandbox down`).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from sandbox import build_replicas, build_services
from sandbox.server import run_daemon


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--state", type=Path, required=True)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--corpus", type=Path)
    source.add_argument("--generate", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", default="")
    parser.add_argument("--sources-out", type=Path)
    parser.add_argument("--services", default="", help="Comma-separated service replicas (datacite) to serve too.")
    args = parser.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k] or None
    replicas = build_replicas(corpus=args.corpus, generate=args.generate, seed=args.seed, kinds=kinds)
    replicas |= build_services([s for s in args.services.split(",") if s])
    # uvicorn stops on SIGTERM itself; SIGINT too. Make SIGHUP (terminal closed) stop it the same way.
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(0))
    run_daemon(replicas, args.state, args.sources_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
