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
