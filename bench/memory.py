"""`python -m bench.memory`: which process of a harvest's tree grows with N, sampled every second.

For each size N it starts the sandbox daemon with N generated records of one portal kind (its own process, not
measured), runs `dmlake harvest` in a fresh home, and samples the resident set of every process of the harvest's
tree once a second with psutil, naming each by its role (the harvester, a mapping worker, the index follower,
multiprocessing's resource tracker). It prints each role's peak and where in the run it was reached, and writes
the samples as JSON under `bench/results/` so a curve can be drawn.

`--tracemalloc` runs the harvester process under `bench.memory_trace`, which writes the allocation sites that grew
most during the run to `bench/results/tracemalloc-KIND-N.txt`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench.__main__ import DMLAKE, REPO, start_sandbox

ROLE_NAMES = {"spawned": "mapping worker"}
"""A spawned child never seen running tantivy is a mapping worker."""


def role_of(process: psutil.Process, harvester_pid: int) -> str:
    if process.pid == harvester_pid:
        return "harvester"
    try:
        command = " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "gone"
    if "resource_tracker" in command:
        return "resource tracker"
    if "spawn_main" in command:
        # The index follower and the mapping workers are spawned alike; the follower is the one running tantivy's
        # threads (named by tantivy: the indexing thread, the segment updater, merge threads).
        return "index follower" if _runs_tantivy(process.pid) else "spawned"
    return "other"


def _runs_tantivy(pid: int) -> bool:
    try:
        names = [(task / "comm").read_text() for task in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:
        return False
    return any("tantivy" in name or name.startswith("segment_updater") for name in names)


def resident_parts(pid: int) -> tuple[float, float]:
    """(anonymous, file-backed) resident MiB: mapped files (tantivy's segments, SQLite's mmap) count in RSS too, but
    the kernel can drop them at will; the anonymous part is what the process itself holds."""
    anon = file = 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                anon = int(line.split()[1]) / 1024
            elif line.startswith("RssFile:"):
                file = int(line.split()[1]) / 1024
    except OSError:
        pass
    return anon, file


def resident_under(pid: int, directory: Path) -> float:
    """Resident MiB of the files under `directory` that the process maps (its /proc/PID/smaps): of the file-backed
    part, what the search index's segments take (the rest is mostly shared libraries)."""
    prefix = str(directory.resolve()).rstrip("/") + "/"
    total, inside = 0, False
    try:
        with open(f"/proc/{pid}/smaps") as lines:
            for line in lines:
                if line.startswith("Rss:"):
                    if inside:
                        total += int(line.split()[1])
                elif not line[:1].isupper():  # a mapping's header line: "start-end perms offset dev inode path"
                    fields = line.split(maxsplit=5)
                    inside = len(fields) == 6 and fields[5].startswith(prefix)
    except OSError:
        return 0.0
    return total / 1024


def sample_tree(harvester: psutil.Process, index_dir: Path) -> dict[int, tuple[str, float, float, float, float]]:
    """Every live process of the tree: pid → (role, RSS MiB, anonymous MiB, file-backed MiB, index files MiB)."""
    out: dict[int, tuple[str, float, float, float, float]] = {}
    try:
        tree = [harvester, *harvester.children(recursive=True)]
    except psutil.NoSuchProcess:
        return out
    for process in tree:
        try:
            rss = process.memory_info().rss / 2**20
            role = role_of(process, harvester.pid)
            index = resident_under(process.pid, index_dir) if role == "index follower" else 0.0
            out[process.pid] = (role, rss, *resident_parts(process.pid), index)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


def harvest_sampled(home: Path, sources_file: Path, kind: str, trace: Path | None) -> dict[str, Any]:
    home.mkdir(parents=True, exist_ok=True)
    out_file, err_file = home / "harvest.out", home / "harvest.err"
    started = time.monotonic()
    with out_file.open("wb") as out, err_file.open("wb") as err:
        command = DMLAKE if trace is None else [sys.executable, "-m", "bench.memory_trace", str(trace)]
        child = subprocess.Popen(
            [*command, "--home", str(home), "--config", str(sources_file), "harvest", kind],
            stdout=out, stderr=err, cwd=REPO,
        )  # fmt: skip
        harvester = psutil.Process(child.pid)
        per_pid: dict[int, dict[str, Any]] = {}
        while child.poll() is None:
            now = time.monotonic() - started
            for pid, (role, mib, anon, mapped, index) in sample_tree(harvester, home / "index").items():
                entry = per_pid.setdefault(
                    pid,
                    {"role": role, "first": now, "peak": 0.0, "peak_at": 0.0, "peak_anon": 0.0, "peak_index": 0.0,
                     "rss": []},
                )  # fmt: skip
                entry["peak_anon"] = max(entry["peak_anon"], anon)
                entry["peak_index"] = max(entry["peak_index"], index)
                if role != "gone" and entry["role"] in ("gone", "other", "spawned"):
                    entry["role"] = role  # the follower starts tantivy's threads some time after it starts
                if mib > entry["peak"]:
                    entry["peak"], entry["peak_at"] = mib, now
                entry["rss"].append((round(now, 1), round(mib, 1), round(anon, 1), round(mapped, 1), round(index, 1)))
            time.sleep(1.0)
    wall = time.monotonic() - started
    if child.returncode != 0:
        raise RuntimeError(f"dmlake harvest failed: {err_file.read_text(errors='replace')[-4000:]}")
    return {"wall_seconds": wall, "processes": {str(pid): entry for pid, entry in per_pid.items()}}


def summarise(result: dict[str, Any]) -> list[str]:
    lines = []
    wall = result["wall_seconds"]
    for pid, entry in sorted(result["processes"].items(), key=lambda kv: kv[1]["first"]):
        rss = entry["rss"]
        if not rss:
            continue
        quarter = [s[1] for s in rss if s[0] <= wall / 4] or [rss[0][1]]
        last = [s[1] for s in rss if s[0] >= 3 * wall / 4] or [rss[-1][1]]
        role = ROLE_NAMES.get(entry["role"], entry["role"])
        mapped = max((s[3] for s in rss if len(s) > 3), default=0.0)
        lines.append(
            f"  pid {pid:>7} {role:<16} started {entry['first']:6.1f} s  peak {entry['peak']:7.1f} MiB at "
            f"{entry['peak_at']:6.1f} s (anonymous {entry['peak_anon']:6.1f}, file-backed {mapped:6.1f}, "
            f"index files {entry.get('peak_index', 0.0):6.1f})  "
            f"first quarter max {max(quarter):7.1f}  last quarter max {max(last):7.1f}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", default="zenodo")
    parser.add_argument("--sizes", default="50000,150000,300000")
    parser.add_argument("--tracemalloc", action="store_true", help="the harvester writes a tracemalloc report")
    parser.add_argument("--label", default="", help="a word for the results file name (e.g. before, after)")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"kind": args.kind, "sizes": {}}
    folder = REPO / "bench" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    label = f"-{args.label}" if args.label else ""
    out = folder / f"memory-{args.kind}{label}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix=f"dmlake-memory-{size}-") as tmp:
            workdir = Path(tmp)
            sandbox, url = start_sandbox(args.kind, size, workdir)
            try:
                sources = workdir / "sources.toml"
                sources.write_text(
                    f'[sources.{args.kind}]\nkind = "{args.kind}"\nurl = "{url}"\n[sources.{args.kind}.limits]\n'
                    'concurrency = 8\nrequests_per_minute = "unlimited"\n'
                )
                trace = REPO / "bench" / "results" / f"tracemalloc-{args.kind}-{size}.txt" if args.tracemalloc else None
                result = harvest_sampled(workdir / "home", sources, args.kind, trace)
            finally:
                sandbox.terminate()
                sandbox.wait(timeout=30)
        results["sizes"][str(size)] = result
        print(f"{args.kind} {size:,}: {result['wall_seconds']:.0f} s", flush=True)
        print("\n".join(summarise(result)), flush=True)
        out.write_text(json.dumps(results))  # after each size: a long series stopped early keeps what it measured
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
