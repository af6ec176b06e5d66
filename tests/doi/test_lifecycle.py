"""Acceptance 1 (issue 7): harvested GitLab/DMDC and KCDC records get draft DOIs, become findable on publish and
registered when tombstoned; DataCite's (the replica's) state equals ours after every step."""

from __future__ import annotations

from doi_lab import PUBLIC_URL, DoiLab, assert_in_step, live_ids, resolves, status
from lakes import edit

from ontology.model import RECORD_ID_BASE


def test_drafts_publish_and_hide(lab: DoiLab) -> None:
    lab.doi("reserve")
    rows = assert_in_step(lab)
    records = {r["key"]: r for r in rows if r["kind"] == "record"}
    dmdc, kcdc = live_ids(lab, "dmdc"), live_ids(lab, "kcdc-html")
    assert set(records) == set(dmdc) | set(kcdc), "every GitLab/DMDC and KCDC record gets exactly one DOI"
    assert all(r["intended"] == "draft" for r in rows)
    remote = lab.remote()
    for key, row in records.items():
        assert remote[row["doi"]]["url"] == f"{PUBLIC_URL}/records/{key.removeprefix(RECORD_ID_BASE)}"
        assert resolves(lab, row["doi"]) is None, "a draft does not resolve"

    # versioned releases: a concept DOI, version DOIs `.vN` pointing at it, the concept listing each version
    concepts = [r for r in rows if r["kind"] == "concept"]
    assert concepts, "the DMDC corpus has tagged projects"
    for concept in concepts:
        versions = [r for r in rows if r["kind"] == "record" and r["doi"].startswith(concept["doi"] + ".v")]
        assert versions
        for version in versions:
            relations = remote[version["doi"]]["relatedIdentifiers"]
            assert {"relatedIdentifier": concept["doi"], "relatedIdentifierType": "DOI",
                    "relationType": "IsVersionOf"} in relations  # fmt: skip
        has = {r["relatedIdentifier"] for r in remote[concept["doi"]]["relatedIdentifiers"]
               if r["relationType"] == "HasVersion"}  # fmt: skip
        assert has == {v["doi"] for v in versions}

    # a data manager publishes one source and one record of another
    lab.doi("publish", "--source", "dmdc")
    chosen, untouched = kcdc[0], kcdc[1]
    lab.doi("publish", chosen)
    rows = assert_in_step(lab)
    by_key = {r["key"]: r for r in rows}
    assert all(by_key[k]["intended"] == "findable" for k in dmdc)
    assert all(r["intended"] == "findable" for r in rows if r["kind"] == "concept")
    assert by_key[chosen]["intended"] == "findable" and by_key[untouched]["intended"] == "draft"
    assert resolves(lab, by_key[chosen]["doi"]) == lab.remote()[by_key[chosen]["doi"]]["url"]
    assert resolves(lab, by_key[untouched]["doi"]) is None

    # a change of the record at its source reaches DataCite's metadata
    before = lab.remote()[by_key[chosen]["doi"]]
    native = chosen.rsplit("/", 1)[1]
    assert edit(lab.portals, "kcdc-html", "edit", ids=[native]) == [native]
    lab.harvest()
    lab.doi("reserve")
    after = lab.remote()[by_key[chosen]["doi"]]
    assert after != before and after["state"] == "findable"
    assert lab.doi("check").stdout.strip().endswith("0 DOIs drifted (0 fields)")

    # tombstones: the findable DOI is hidden (registered, still resolving), the draft is withdrawn
    edit(lab.portals, "kcdc-html", "delete", ids=[native, untouched.rsplit("/", 1)[1]])
    lab.harvest(full=True, confirm_deletions=True)  # a data manager confirms what the deletion guard holds back
    assert chosen not in live_ids(lab, "kcdc-html")
    lab.doi("reserve")
    rows = assert_in_step(lab)
    by_key = {r["key"]: r for r in rows}
    assert by_key[chosen]["intended"] == "registered" and not by_key[chosen]["live"]
    assert by_key[untouched]["intended"] == "deleted"
    assert resolves(lab, by_key[chosen]["doi"]) is not None, "a registered DOI still resolves"
    assert lab.remote()[by_key[chosen]["doi"]]["isActive"] is False

    # running again changes nothing at DataCite: every call is idempotent
    writes = [r for r in lab.requests() if r["method"] in ("POST", "PUT", "DELETE")]
    lab.doi("reserve")
    assert [r for r in lab.requests() if r["method"] in ("POST", "PUT", "DELETE")] == writes


def test_a_public_concept_lists_only_public_versions(lab: DoiLab) -> None:
    lab.doi("reserve")
    rows = status(lab)
    concept = next(r for r in rows if r["kind"] == "concept" and
                   len([v for v in rows if v["doi"].startswith(r["doi"] + ".v")]) >= 2)  # fmt: skip
    versions = sorted((r for r in rows if r["doi"].startswith(concept["doi"] + ".v")), key=lambda r: r["doi"])

    def listed() -> set[str]:
        relations = lab.remote()[concept["doi"]]["relatedIdentifiers"]
        return {r["relatedIdentifier"] for r in relations if r["relationType"] == "HasVersion"}

    assert listed() == {v["doi"] for v in versions}, "a draft concept lists every version"
    lab.doi("publish", versions[0]["key"])
    assert lab.remote()[concept["doi"]]["state"] == "findable"
    assert listed() == {versions[0]["doi"]}, "a findable concept points at no draft"
    lab.doi("publish", versions[1]["key"])
    assert listed() == {versions[0]["doi"], versions[1]["doi"]}
    assert_in_step(lab)
    assert lab.doi("check").returncode == 0
