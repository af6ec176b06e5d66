"""A harvest's children (mapping workers, the index follower) start without running the harvester's `__main__`
module again (spawn would import it in each)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_SCRIPT = textwrap.dedent(
    """
    import importlib.util, multiprocessing, sys
    from concurrent.futures import ProcessPoolExecutor
    from datetime import UTC, datetime

    sys.path.insert(0, sys.argv[1])
    # as `python -m marked_main` would: spawn re-imports the main module by this name in every child
    sys.modules["__main__"].__spec__ = importlib.util.find_spec("marked_main")

    from connectors.base import RawRecord
    from connectors.zenodo import ZenodoConnector
    from harvester.catalogue import Rejected
    from harvester.mapping import Mapper

    if sys.argv[2] == "plain-spawn":  # the control: what multiprocessing's spawn does
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            pool.submit(len, "x").result()
    elif sys.argv[2] == "follower":
        from dmlake.follow import IndexFollower
        from dmlake.lake import Lake

        lake = Lake.open(sys.argv[3])  # a catalogue and an index for the follower to follow
        try:
            follower = IndexFollower(lake.home.path, lake.home.database_url).start()
            applied, clean = follower.finish(timeout=60)
        finally:
            lake.close()
        assert clean and applied == 0, (applied, clean)
    else:
        raws = [RawRecord(str(n), b"not json", "application/json", "x") for n in range(32)]
        mapper = Mapper(workers=1)
        try:
            outcomes = mapper.map_page(ZenodoConnector, raws, "zenodo", 1, datetime.now(UTC))
            assert mapper._pool is not None, "the page was mapped inline, not by a worker"
        finally:
            mapper.close()
        assert all(isinstance(o, Rejected) and o.field == "payload" for o in outcomes), outcomes
    """
)


def _run(tmp_path: Path, mode: str) -> list[str]:
    marks = tmp_path / "imported-by"
    (tmp_path / "marked_main.py").write_text(
        f"import os\nwith open({str(marks)!r}, 'a') as f:\n    f.write(f'{{os.getpid()}}\\n')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path), mode, str(tmp_path / "home")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return marks.read_text().split() if marks.exists() else []


def test_a_plain_spawn_child_imports_the_main_module_again(tmp_path: Path) -> None:
    assert len(_run(tmp_path, "plain-spawn")) == 1  # the control: the mark below would show the re-import


def test_mapping_workers_do_not_import_the_main_module(tmp_path: Path) -> None:
    assert _run(tmp_path, "mapper") == []


def test_the_index_follower_does_not_import_the_main_module(tmp_path: Path) -> None:
    assert _run(tmp_path, "follower") == []
