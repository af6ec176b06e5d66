"""One DOI registrar at a time per catalogue: a second is refused, naming the holder; a dead holder is taken over."""

from __future__ import annotations

import subprocess
import sys

from doi_lab import DoiLab, assert_in_step

from dmlake.lake import Lake
from doi.lock import RegistrarLock


def test_second_registrar_refused_dead_holder_taken_over(lab: DoiLab) -> None:
    lake = Lake.open(lab.home)
    try:
        holder = RegistrarLock(lake.catalogue.engine)
        holder.acquire()  # this (live) test process holds the lease
        busy = lab.doi("reserve", check=False)
        assert busy.returncode == 3
        assert f"pid {holder.pid}" in busy.stderr and "another DOI registrar" in busy.stderr
        assert not lab.requests(), "a refused registrar sends nothing"
        holder.release()

        gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        dead = RegistrarLock(lake.catalogue.engine)
        dead.pid = int(gone.stdout)  # a holder that died without releasing (kill -9)
        dead.acquire()
    finally:
        lake.close()
    lab.doi("reserve")
    assert_in_step(lab)
    assert lab.doi("check").returncode == 0, "a check without --fix takes no lease"
