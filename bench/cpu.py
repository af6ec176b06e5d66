"""CPU accounting for the benchmarks: what a client or a process tree spent, a figure the machine's load hardly moves.

Wall-clock rates on a machine shared with other jobs move by 2-4× with their load; the CPU seconds a process spends
on the same work move far less, so the benchmarks record CPU milliseconds per record next to every rate.
"""

from __future__ import annotations

import resource

import psutil


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


class TreeCpu:
    """CPU of a process and its descendants, sampled until it ends (a child's CPU is read while it lives)."""

    def __init__(self, root: int) -> None:
        self.root = psutil.Process(root)
        self.seen: dict[int, tuple[float, float, str]] = {}  # pid → (create time, CPU seconds, command line)

    def sample(self) -> None:
        try:
            tree = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        for process in tree:
            try:
                with process.oneshot():
                    known = self.seen.get(process.pid)
                    command = known[2] if known else " ".join(process.cmdline())
                    self.seen[process.pid] = (process.create_time(), process_cpu(process), command)
            except psutil.Error:
                continue

    def by_role(self) -> dict[str, float]:
        """CPU seconds per role: the harvest's main process (`harvester.cli`, or the root), the index follower (the
        first process it spawns, before any page), the mapping workers, and anything else (a launcher,
        multiprocessing's resource tracker)."""
        roles: dict[str, float] = {}
        spawned = sorted((created, pid) for pid, (created, _, cmd) in self.seen.items() if "spawn_main" in cmd)
        follower = spawned[0][1] if spawned else None
        for pid, (_, seconds, command) in self.seen.items():
            if pid == self.root.pid or "harvester.cli" in command:
                role = "main"
            elif pid == follower:
                role = "index follower"
            elif "spawn_main" in command:
                role = "mapping workers"
            else:
                role = "other"
            roles[role] = roles.get(role, 0.0) + seconds
        return roles
