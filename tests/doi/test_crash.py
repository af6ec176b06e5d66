"""Acceptance 2 (issue 7): `kill -9` between DataCite's answer and our commit, at every step of the lifecycle, then a
rerun: exactly one DOI per record, in the right state.

The registrar's hook `DMLAKE_DOI_CRASH_AT=after-<action>` sends the process SIGKILL right after DataCite answered
that action, before the answer is committed: the worst moment, when DataCite has done something we have not recorded.
"""

from __future__ import annotations

import signal

from doi_lab import DoiLab, assert_in_step, live_ids, status
from lakes import edit


def killed_after(lab: DoiLab, action: str, *args: str, writes_made: int = 1) -> None:
    before = len([r for r in lab.requests() if r["method"] in ("POST", "PUT", "DELETE")])
    done = lab.doi(*args, check=False, DMLAKE_DOI_CRASH_AT=f"after-{action}")
    assert done.returncode == -signal.SIGKILL, f"expected a kill after {action}:\n{done.stdout}\n{done.stderr}"
    writes = [r for r in lab.requests() if r["method"] in ("POST", "PUT", "DELETE")]
    assert len(writes) == before + writes_made, "DataCite did the work (or, killed before the call, none); we died"
    assert all(w["status"] in (200, 201, 204) for w in writes)


def test_kill_between_datacite_and_commit_at_every_step(lab: DoiLab) -> None:
    # intent committed, DataCite never called
    killed_after(lab, "intent", "reserve", writes_made=0)
    # create: the first draft exists at DataCite, its row does not know
    killed_after(lab, "create", "reserve")
    lab.doi("reserve")
    rows = assert_in_step(lab)
    assert len([r for r in rows if r["kind"] == "record"]) == len(live_ids(lab, "dmdc")) + len(
        live_ids(lab, "kcdc-html")
    )
    created = [r for r in lab.requests() if r["method"] == "POST" and r["status"] == 201]
    assert len(created) == len(rows), "one create per DOI, none repeated after the crash"

    # publish: the first DOI is findable at DataCite, the others only approved
    killed_after(lab, "publish", "publish", "--source", "dmdc")
    lab.doi("reserve")
    rows = assert_in_step(lab)
    dmdc = set(live_ids(lab, "dmdc"))
    assert all(r["intended"] == "findable" for r in rows if r["key"] in dmdc or r["kind"] == "concept")

    # update: a record changed at its source; DataCite took the new metadata, our fingerprint did not
    kcdc = live_ids(lab, "kcdc-html")
    published, draft = kcdc[0], kcdc[1]
    lab.doi("publish", published)
    edit(lab.portals, "kcdc-html", "edit", ids=[published.rsplit("/", 1)[1]])
    lab.harvest()
    killed_after(lab, "update", "reserve")
    lab.doi("reserve")
    assert_in_step(lab)
    assert lab.doi("check").stdout.strip().endswith("0 DOIs drifted (0 fields)")

    # hide and withdraw: a findable and a draft record tombstoned; each crash, then the rerun finishes both
    edit(lab.portals, "kcdc-html", "delete", ids=[published.rsplit("/", 1)[1], draft.rsplit("/", 1)[1]])
    lab.harvest(full=True, confirm_deletions=True)
    killed_after(lab, "hide", "reserve")
    killed_after(lab, "delete", "reserve")
    lab.doi("reserve")
    rows = assert_in_step(lab)
    by_key = {r["key"]: r for r in rows}
    assert by_key[published]["intended"] == "registered" and by_key[draft]["intended"] == "deleted"
    assert {r["doi"] for r in status(lab) if r["intended"] != "deleted"} == set(lab.remote())


def test_kill_at_every_step_of_a_release_with_file_dois(lab: DoiLab) -> None:
    """The same at every step of the parts' lifecycle: only DMDC releases get DOIs here, each with its data files',
    and a release's parts are written before the release, so every first write of a run is a part's."""
    policy = (lab.home / "doi.toml").read_text().replace("[doi]\n", '[doi]\nkinds = ["gitlab"]\n')
    (lab.home / "doi.toml").write_text(policy)
    lab.parts_policy('dois = "files"')
    killed_after(lab, "intent", "reserve", writes_made=0)
    killed_after(lab, "create", "reserve")
    first = next(b for b in lab.bodies() if b["method"] == "POST")
    assert "/f." in first["attributes"]["doi"], "the crash hit a file's create"
    lab.doi("reserve")
    rows = assert_in_step(lab)
    parts = [r for r in rows if r["kind"] == "file"]
    assert parts and {r["parent_key"] for r in parts} == set(live_ids(lab, "dmdc"))
    created = [r for r in lab.requests() if r["method"] == "POST" and r["status"] == 201]
    assert len(created) == len(rows), "one create per DOI, the part's too, none repeated after the crash"

    # withdraw: a draft release loses a file; the draft part is deleted at DataCite, our row does not know
    release = parts[0]["parent_key"]
    record = lab.record(release)
    lost = next(d for d in record.distributions if f"file:{d.name}" == parts[0]["part_key"])
    lab.store(record.model_copy(update={"distributions": [d for d in record.distributions if d is not lost]}))
    killed_after(lab, "delete", "reserve")
    lab.doi("reserve")
    by_key = {r["key"]: r for r in assert_in_step(lab)}
    assert by_key[parts[0]["key"]]["intended"] == "deleted"

    # publish: the first part is findable at DataCite, the rest approved only
    killed_after(lab, "publish", "publish", "--source", "dmdc")
    lab.doi("reserve")
    rows = assert_in_step(lab)
    assert all(r["intended"] == "findable" for r in rows if r["live"] and r["kind"] in ("record", "file"))

    # update: a file's description changes at the source; only its part's metadata changes
    record = lab.record(release)
    changed = next(d for d in record.distributions if d.role == "data")
    described = changed.model_copy(update={"description": "Event list after the 2026 recalibration"})
    lab.store(record.model_copy(update={"distributions": [described if d is changed else d
                                                          for d in record.distributions]}))  # fmt: skip
    killed_after(lab, "update", "reserve")
    lab.doi("reserve")
    assert_in_step(lab)
    assert lab.doi("check").stdout.strip().endswith("0 DOIs drifted (0 fields)")

    # hide: a published release loses a file; the findable part is hidden at DataCite, our row does not know
    record = lab.record(release)
    lab.store(record.model_copy(update={"distributions": [d for d in record.distributions if d.name != changed.name]}))
    killed_after(lab, "hide", "reserve")
    lab.doi("reserve")
    rows = assert_in_step(lab)
    hidden = next(r for r in rows if r["part_key"] == f"file:{changed.name}" and r["parent_key"] == release)
    assert hidden["intended"] == "registered" and not hidden["live"]
    assert len({(r["parent_key"], r["part_key"]) for r in rows if r["kind"] == "file"}) == len(
        [r for r in rows if r["kind"] == "file"]
    ), "one row, one DOI per part"
