"""What a command defined outside `harvester/cli.py` needs from the `dmlake` command line: the lake of `--home`.

Such commands read the home from the root Typer context (the `dmlake` group, however deep the command sits):
importing `harvester.cli` instead would, when the CLI
runs as `python -m harvester.cli`, load a second copy of that module whose `--home` was never set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from dmlake.lake import Lake


def lake_of(ctx: typer.Context) -> Lake:
    from dmlake.lake import Lake

    home = ctx.find_root().params.get("home")
    return Lake.open(home)
