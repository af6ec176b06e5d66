"""The index follower hands back the pages of the index files it maps (`harvester.heap.page_out_files`): what a
merge read stops counting in its resident set, and nothing outside the index directory is touched."""

from __future__ import annotations

import mmap
import os
from pathlib import Path

from harvester import heap

MIB = 2**20


def _mapped_file(folder: Path, name: str, size: int) -> tuple[mmap.mmap, int]:
    """A file of `size` bytes mapped read-only and read through, so all its pages are resident in this process."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("wb") as out:
        out.write(os.urandom(size))
        out.flush()
        os.fsync(out.fileno())  # clean pages, as tantivy leaves its segment files once committed
    with path.open("rb") as handle:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    for offset in range(0, size, mmap.PAGESIZE):
        mapped[offset]  # touching a page maps it
    return mapped, _resident_kib(path)


def _resident_kib(path: Path) -> int:
    """Resident KiB of this process's mappings of `path` (/proc/self/smaps)."""
    total, current = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if "-" in fields[0] and len(fields) >= 5 and ":" not in fields[0]:
            current = len(fields) == 6 and fields[5] == str(path)
        elif current and line.startswith("Rss:"):
            total += int(fields[1])
    return total


def test_the_pages_of_files_in_the_directory_leave_the_resident_set(tmp_path: Path) -> None:
    index = tmp_path / "index"
    elsewhere = tmp_path / "index-other"  # a sibling whose name starts alike is not inside the directory
    segment, before = _mapped_file(index, "segment.idx", 8 * MIB)
    other, other_before = _mapped_file(elsewhere, "segment.idx", 4 * MIB)
    assert before >= 8 * 1024 * 0.9 and other_before >= 4 * 1024 * 0.9
    assert heap.page_out_files(index) == 1
    assert _resident_kib(index / "segment.idx") < before / 4
    assert _resident_kib(elsewhere / "segment.idx") == other_before
    # the data is still there: a page read again comes back from the file
    assert segment[: 4 * MIB] == (index / "segment.idx").read_bytes()[: 4 * MIB]
    segment.close()
    other.close()


def test_mapped_ranges_reads_the_maps_format(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    maps = tmp_path / "maps"
    maps.write_text(
        f"7f0000000000-7f0000001000 r--s 00000000 fd:01 11 {index}/a.store\n"
        f"7f0000002000-7f0000004000 r--s 00000000 fd:01 12 {index}/b c.pos (deleted)\n"
        f"7f0000005000-7f0000006000 r--s 00000000 fd:01 13 {index}x/a.store\n"
        "7f0000007000-7f0000008000 rw-p 00000000 00:00 0 \n"
        "7f0000009000-7f000000a000 r-xp 00000000 fd:01 14 /usr/lib/libc.so.6\n"
    )
    assert heap.mapped_ranges(index, maps=str(maps)) == [
        (0x7F0000000000, 0x7F0000001000),
        (0x7F0000002000, 0x7F0000004000),
    ]
    assert heap.mapped_ranges(index, maps=str(tmp_path / "missing")) == []


def test_a_directory_nothing_maps_is_left_alone(tmp_path: Path) -> None:
    assert heap.page_out_files(tmp_path / "nothing-here") == 0
