"""A malformed value of a GitLab (DMDC-style) project bundle is quarantined by a `MappingError` naming where it is.

The harvest quarantines a record under the field its `MappingError` names; any other exception is reported as a
mapper bug ("(mapper)"). The bundles the connector builds from the replica (the corpus group: COSINE-100 and its
synthetic companions; generated projects), one with citation files the replica does not serve (codemeta.json,
.zenodo.json), one without its descriptor, and one composed of the GitLab documentation's example answers
(`corpus/gitlab/docs-examples`), are mutated: every value of the bundle, and every value of each file the project
holds (the descriptor, CITATION.cff, codemeta.json, .zenodo.json, parsed and written back in its own format), in
turn replaced by a value of another type or an odd string. Each mutant must map or fail with a `MappingError`
whose field names the value: a path of the bundle (`project.topics`, `documents['dmdc.json']`), or `<file>` /
`<file>:<JSON path>` for a value in one of the files (`CITATION.cff:$.date-released`). Files that do not parse,
or parse to the wrong type, are errors naming the file. Explicit cases pin the field and message of each cause
found, and what is passed over rather than refused.
"""

from __future__ import annotations

import copy
import json
import random
import re
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from malformed import ODD_VALUES, Outcomes, mutants, names_a_field

from connectors.base import HarvestState, Limits, MappingError, RawRecord, SourceSpec
from connectors.gitlab import GitLabConnector
from connectors.gitlab_mapping import BUNDLE_FORMAT, BUNDLE_MEDIA_TYPE
from connectors.http import HttpClient
from ontology import Record
from sandbox.replicas.gitlab import SANDBOX_TOKEN, GitLabReplica
from sandbox.server import start

SEED = 23
COSINE = "dmdc/cosine/cosine100-6years-modulation@v1.0"
CRESST = "dmdc/cresst/cresst-dataset-000001@v2.0"
"""The corpus group's project with every part: two versions, a release, a Git LFS file and a CITATION.cff."""
DOCS_EXAMPLE = "h5bp/html5-boilerplate@v1.0.0"

MISSING = ("missing",)
WHERE = re.compile(r"^project \S+(?: at (?:tag|branch) .*?)?: ")
"""The project (and ref) most messages start with; an absent value's message says "missing" right after it."""

CODEMETA: dict[str, Any] = {
    "@context": "https://w3id.org/codemeta/3.0",
    "@type": "SoftwareSourceCode",
    "name": "Event rates of the CRESST sandbox dataset",
    "description": "Rates per 15-day bin.",
    "version": "2.0",
    "identifier": "https://doi.org/10.5281/zenodo.1234567",
    "license": ["https://spdx.org/licenses/CC-BY-4.0"],
    "datePublished": "2024-04-01",
    "keywords": ["dark matter", "CaWO4"],
    "author": [
        {
            "@type": "Person",
            "@id": "https://orcid.org/0000-0002-1825-0097",
            "givenName": "Jane",
            "familyName": "Doe",
            "affiliation": {"@type": "Organization", "name": "Sandbox Institute"},
        },
        {"@type": "Organization", "name": "The CRESST Collaboration"},
    ],
    "referencePublication": [{"@id": "https://doi.org/10.1126/sciadv.adv6503"}, {"identifier": "arXiv:2409.13226"}],
}
"""A codemeta.json for the mutations (no project of the replica holds one), with every field the reader reads."""

ZENODO_JSON: dict[str, Any] = {
    "title": "Event rates of the CRESST sandbox dataset",
    "description": "Rates per 15-day bin.",
    "version": "2.0",
    "doi": "10.5281/zenodo.1234568",
    "license": {"id": "CC-BY-4.0"},
    "publication_date": "2024-04-01",
    "keywords": ["dark matter"],
    "creators": [
        {"name": "Doe, Jane", "orcid": "0000-0002-1825-0097", "affiliation": "Sandbox Institute"},
        {"name": "CRESST Collaboration"},
    ],
    "related_identifiers": [
        {"identifier": "10.1126/sciadv.adv6503", "relation": "isSupplementTo"},
        {"identifier": "arXiv:2409.13226", "relation": "references"},
    ],
}
"""A .zenodo.json for the mutations, likewise."""


# -- bundles ----------------------------------------------------------------------------------------------------------


Bundle = tuple[str, str, dict[str, Any]]
"""(label, native id, the bundle as JSON)."""


def _harvest(replica: GitLabReplica, label: str) -> list[Bundle]:
    """Every record the connector fetches from the replica (with the token, so the private subgroup's too)."""
    out = []
    with (
        pytest.MonkeyPatch.context() as patch,
        start({"dmdc": replica}) as running,
        HttpClient(Limits(), sleep=lambda seconds: None) as http,
    ):
        patch.setenv("DMLAKE_TEST_GITLAB_TOKEN", SANDBOX_TOKEN)
        spec = SourceSpec(
            "dmdc", "gitlab", running.urls["dmdc"], {"group": "dmdc", "token_env": "DMLAKE_TEST_GITLAB_TOKEN"}
        )
        for page in GitLabConnector(spec, http).pages(HarvestState(full=True)):
            assert not page.failures, page.failures
            out += [(f"{label}/{raw.native_id}", raw.native_id, orjson.loads(raw.payload)) for raw in page.records]
    return out


def _docs_example(corpus: Path) -> Bundle:
    """A bundle as the connector composes one, of GitLab's documented example answers (project, subgroup, root group,
    tag and release) and a client library's recorded repository tree; the project has no descriptor."""
    examples = corpus / "gitlab" / "docs-examples"

    def example(name: str) -> Any:
        return json.loads((examples / name).read_text())

    project = example("groups_projects__GET_groups_id_projects.json")[0]
    tag = example("repository_tags__GET_projects_id_repository_tags.json")[0]
    tree = json.loads((corpus / "gitlab" / "client-fixtures_NARKOZ-gitlab" / "tree.json").read_text())
    bundle = {
        "format": BUNDLE_FORMAT,
        "api_url": "https://gitlab.example.com/api/v4",
        "root_group": example("groups_details__GET_groups_id_with_projects_false.json"),
        "group": example("groups_subgroups__GET_groups_id_subgroups.json")[0],
        "project": project,
        "ref": {"kind": "tag", "name": tag["name"], "commit": tag["commit"]["id"]},
        "tag": tag,
        "release": example("releases__GET_projects_id_releases.json")[0],
        "versions": [tag["name"]],
        "tree": [
            {"path": e["name"], "id": e["id"], "size": 1024, "sha256": None, "lfs": None}
            for e in tree
            if e["type"] == "blob"
        ],
        "documents": {},
        "descriptor_name": "dmdc.json",
    }
    native_id = f"{project['path_with_namespace']}@{tag['name']}"
    assert native_id == DOCS_EXAMPLE
    return "docs-example", native_id, bundle


@pytest.fixture(scope="module")
def bundles(corpus: Path) -> list[Bundle]:
    replica = GitLabReplica.from_corpus(corpus, broken_descriptor=True)
    assert replica is not None
    served = _harvest(replica, "corpus") + _harvest(GitLabReplica.generated(6, seed=SEED), "generated")
    (_, native_id, cresst) = next(b for b in served if b[0] == f"corpus/{CRESST}")
    with_files = copy.deepcopy(cresst)
    with_files["documents"]["codemeta.json"] = json.dumps(CODEMETA, indent=2)
    with_files["documents"][".zenodo.json"] = json.dumps(ZENODO_JSON, indent=2)
    without_descriptor = copy.deepcopy(with_files)
    del without_descriptor["documents"]["dmdc.json"]
    extra = [
        (f"{CRESST}+citation-files", native_id, with_files),
        (f"{CRESST}-descriptor", native_id, without_descriptor),
    ]
    return [*served, *extra, _docs_example(corpus)]


def _pick(bundles: list[Bundle], label: str) -> tuple[str, dict[str, Any]]:
    """A deep copy of one bundle, to change."""
    (found,) = [(native_id, data) for name, native_id, data in bundles if name == label]
    return found[0], copy.deepcopy(found[1])


def _map(native_id: str, bundle: dict[str, Any]) -> Record:
    raw = RawRecord(native_id, orjson.dumps(bundle), BUNDLE_MEDIA_TYPE, "https://gitlab.dmdc.example.org/x")
    return GitLabConnector.map_record(raw, "dmdc")


def _error(native_id: str, bundle: dict[str, Any]) -> MappingError:
    with pytest.raises(MappingError) as caught:
        _map(native_id, bundle)
    return caught.value


# -- what a field names ---------------------------------------------------------------------------------------------


def _parse(name: str, text: Any) -> Any:
    """A project file's content as its format reads it (YAML for CITATION.cff, JSON for the others)."""
    return yaml.safe_load(text) if name.endswith(".cff") else json.loads(text)


def _write(name: str, document: Any) -> str:
    if name.endswith(".cff"):
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    return json.dumps(document, indent=2, ensure_ascii=False)


def _names_where_it_is(bundle: dict[str, Any], error: MappingError) -> bool:
    """`names_a_field` for a bundle: the field is a path of the bundle, or `<file>` or `<file>:<JSON path>` of one
    of the project's files (the path then read in the parsed file); "missing" may follow the project's name."""
    message = WHERE.sub("", error.message, count=1)
    documents = bundle.get("documents") if isinstance(bundle.get("documents"), dict) else {}
    file_name, _, json_path = error.field.partition(":")
    if file_name in documents:
        inner = json_path.removeprefix("$")
        if not inner:
            return True
        return names_a_field(_parse(file_name, documents[file_name]), MappingError(inner, message), MISSING)
    return names_a_field(bundle, MappingError(error.field, message), MISSING)


# -- every value, mutated -------------------------------------------------------------------------------------------


def test_every_mutated_value_maps_or_names_where_it_is(bundles: list[Bundle]) -> None:
    rng = random.Random(SEED)
    outcomes = Outcomes()

    def one_odd_value() -> list[Any]:
        return [rng.choice(ODD_VALUES)]

    for label, native_id, original in bundles:
        bundle = copy.deepcopy(original)
        attempt = partial(_map, native_id, bundle)
        named = partial(_names_where_it_is, bundle)
        for path, odd in mutants(bundle, one_odd_value):
            outcomes.attempt(f"{label} {path} = {odd!r}", attempt, named)
        documents = bundle["documents"]
        for name, text in list(documents.items()):
            document = _parse(name, text)
            for path, odd in mutants(document, one_odd_value):
                documents[name] = _write(name, document)
                outcomes.attempt(f"{label} {name} {path} = {odd!r}", attempt, named)
            documents[name] = text
    outcomes.assert_every_one_named(mapped_over=3000, quarantined_over=1000)


def test_the_bundles_map_before_they_are_mutated(bundles: list[Bundle]) -> None:
    """The mutations start from records that map (all but the replica's deliberately broken descriptor)."""
    failing = []
    for label, native_id, bundle in bundles:
        try:
            _map(native_id, bundle)
        except MappingError as error:
            failing.append((label, error.field))
    assert failing == [("corpus/dmdc/darkside/darkside-dataset-000005@v1.0", "dmdc.json:$.resources[1].category")]
    kinds = [label.split("/")[0] for label, _, _ in bundles]
    # the corpus group's six public and private versions, eight generated ones, and the three composed here
    assert (kinds.count("corpus"), kinds.count("generated"), len(kinds)) == (6, 8, 17)


# -- the project's files --------------------------------------------------------------------------------------------

CRESST_WHERE = "project dmdc/cresst/cresst-dataset-000001 at tag v2.0"


@pytest.mark.parametrize("name", ["dmdc.json", "CITATION.cff"])
@pytest.mark.parametrize("content", [42, ["x"], {"a": 1}])
def test_a_project_file_that_is_not_text_is_named(bundles: list[Bundle], name: str, content: Any) -> None:
    native_id, bundle = _pick(bundles, f"corpus/{CRESST}")
    bundle["documents"][name] = content
    error = _error(native_id, bundle)
    assert (error.field, error.message) == (
        f"documents[{name!r}]",
        f"expected the text of {name}, got {type(content).__name__}",
    )


@pytest.mark.parametrize(
    ("name", "text", "field", "words"),
    [
        ("dmdc.json", '{"title": ', "dmdc.json:$", "the descriptor is not JSON (Expecting value"),
        ("dmdc.json", '[{"title": "x"}]', "dmdc.json:$", "the descriptor is a JSON array, not a JSON object"),
        ("dmdc.json", '"x"', "dmdc.json:$", "the descriptor is text, not a JSON object"),
        ("dmdc.json", "null", "dmdc.json:$", "the descriptor is null, not a JSON object"),
        ("dmdc.json", '{"data_level": ' + "1" * 5000 + "}", "dmdc.json:$", "the descriptor is not JSON (Exceeds"),
        ("dmdc.json", "[" * 100_000, "dmdc.json:$", "the descriptor is nested too deeply to read"),
        ("CITATION.cff", "title: [unclosed", "CITATION.cff", "not YAML (while parsing"),
        ("CITATION.cff", "- a\n- b\n", "CITATION.cff", "expected a YAML mapping, got list"),
        ("CITATION.cff", "", "CITATION.cff", "expected a YAML mapping, got nothing (an empty file)"),
        ("CITATION.cff", "just words", "CITATION.cff", "expected a YAML mapping, got text"),
        ("CITATION.cff", "date-released: 2024-13-01\n", "CITATION.cff", "a value YAML cannot read (month must be"),
        ("CITATION.cff", "title: !!bool maybe\n", "CITATION.cff", "a value YAML cannot read ('maybe')"),
        ("CITATION.cff", "title: !!timestamp x\n", "CITATION.cff", "a value YAML cannot read ('NoneType'"),
        ("CITATION.cff", "[" * 1000, "CITATION.cff", "a value YAML cannot read (nested too deeply)"),
        ("codemeta.json", "{", "codemeta.json", "not JSON (Expecting property name"),
        ("codemeta.json", "[]", "codemeta.json", "expected a JSON object, got list"),
        ("codemeta.json", "[" * 100_000, "codemeta.json", "not JSON (nested too deeply)"),
        (".zenodo.json", "42", ".zenodo.json", "expected a JSON object, got number"),
        (".zenodo.json", '{"version": ' + "9" * 5000 + "}", ".zenodo.json", "not JSON (Exceeds the limit"),
    ],
)
def test_a_project_file_that_cannot_be_read_is_named(
    bundles: list[Bundle], name: str, text: str, field: str, words: str
) -> None:
    """As before, a file that does not parse, or is not a mapping, quarantines the record under the file's name:
    the mapper has no way to publish a record and warn about it, and a record that silently lacked what its
    citation file says would look complete."""
    native_id, bundle = _pick(bundles, f"{CRESST}+citation-files")
    bundle["documents"][name] = text
    error = _error(native_id, bundle)
    assert error.field == field
    assert error.message.startswith(f"{CRESST_WHERE}: {words}"), error.message


# -- the bundle's own values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        (("project", "topics"), True, "project.topics", "expected a list of topics, got bool"),
        (("project", "topics"), "dark-matter", "project.topics", "expected a list of topics, got str"),
        (("versions",), 42, "versions", "expected a list of tag names, got int"),
        (("release", "assets", "links"), "x", "release.assets.links", "expected a list of links, got str"),
        (("release", "assets", "sources"), {"a": 1}, "release.assets.sources", "expected a list of archives, got dict"),
        (("descriptor_name",), 42, "descriptor_name", "expected text, got int"),
        (("api_url",), ["x"], "api_url", "expected text, got list"),
    ],
)
def test_a_value_of_the_wrong_type_is_named(
    bundles: list[Bundle], path: tuple[str, ...], value: Any, field: str, message: str
) -> None:
    native_id, bundle = _pick(bundles, f"corpus/{CRESST}")
    container = bundle
    for step in path[:-1]:
        container = container[step]
    container[path[-1]] = value
    error = _error(native_id, bundle)
    assert (error.field, error.message) == (field, message)


def test_topics_fall_back_to_the_tag_list_which_is_checked_too(bundles: list[Bundle]) -> None:
    native_id, bundle = _pick(bundles, f"corpus/{CRESST}")
    bundle["project"]["topics"] = []
    bundle["project"]["tag_list"] = ["legacy-topic"]
    assert "legacy-topic" in _map(native_id, bundle).keywords
    bundle["project"]["tag_list"] = "legacy-topic"
    error = _error(native_id, bundle)
    assert (error.field, error.message) == ("project.tag_list", "expected a list of topics, got str")


@pytest.mark.parametrize(
    ("label", "change", "field"),
    [
        (f"corpus/{CRESST}", lambda b: b["project"].update(created_at="yesterday"), "project.created_at"),
        (f"corpus/{CRESST}", lambda b: b["release"].update(released_at="yesterday"), "release.released_at"),
        (
            "corpus/dmdc/anais/anais-dataset-000003",  # untagged: the default branch's last activity is `modified`
            lambda b: b["project"].update(last_activity_at="yesterday"),
            "project.last_activity_at",
        ),
        (
            f"corpus/{CRESST}",
            lambda b: b.update(release=None) or b["tag"].update(created_at="yesterday"),
            "tag.created_at",
        ),
        (
            f"corpus/{CRESST}",
            lambda b: (
                b.update(release=None)
                or b["tag"].update(created_at=None)
                or b["tag"]["commit"].update(committed_date="yesterday")
            ),
            "tag.commit.committed_date",
        ),
    ],
)
def test_a_date_that_is_not_a_date_is_named_where_it_is(
    bundles: list[Bundle], label: str, change: Any, field: str
) -> None:
    native_id, bundle = _pick(bundles, label)
    change(bundle)
    error = _error(native_id, bundle)
    assert error.field == field
    assert error.message.endswith(": 'yesterday' is not an ISO 8601 date"), error.message


def test_a_date_of_a_citation_file_is_named_in_the_file(bundles: list[Bundle]) -> None:
    """With no release or tag date, `issued` comes from the files; a date the model refuses is named where it is."""
    native_id, bundle = _pick(bundles, f"{CRESST}+citation-files")
    bundle.update(release=None, tag=None)
    assert _map(native_id, bundle).issued == "2024-02-02"  # CITATION.cff's date-released, the first file read
    bundle["documents"]["CITATION.cff"] = bundle["documents"]["CITATION.cff"].replace(
        "date-released: 2024-02-02", "date-released: '2024-13-01'"
    )
    error = _error(native_id, bundle)
    assert (error.field, error.message) == (
        "CITATION.cff:$.date-released",
        f"{CRESST_WHERE}: '2024-13-01' is not an ISO 8601 date",
    )


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda tree: tree[3].update(sha256="not hex"), "tree[3].sha256",
         "data/background.csv: 'not hex' is not a sha256 (64 hexadecimal digits)"),
        (lambda tree: tree[3].update(sha256=["x"]), "tree[3].sha256", "data/background.csv: expected text, got list"),
        (lambda tree: tree[5]["lfs"].update(oid="sha256:xyz"), "tree[5].lfs.oid",
         "data/waveforms.h5: 'xyz' is not a sha256 (64 hexadecimal digits)"),
        (lambda tree: tree[5]["lfs"].update(oid="md5:abc"), "tree[5].lfs.oid",
         "data/waveforms.h5: 'md5:abc' is not a sha256 LFS oid"),
        (lambda tree: tree[5]["lfs"].pop("oid"), "tree[5].lfs.oid",
         "missing: the Git LFS pointer of data/waveforms.h5 has no oid"),
        (lambda tree: tree[5]["lfs"].update(size=-1), "tree[5].lfs.size",
         "data/waveforms.h5: -1 is not a size in bytes"),
    ],
)  # fmt: skip
def test_a_file_checksum_or_size_that_is_not_one_is_named(
    bundles: list[Bundle], change: Any, field: str, message: str
) -> None:
    native_id, bundle = _pick(bundles, f"corpus/{CRESST}")
    assert bundle["tree"][3]["path"] == "data/background.csv" and bundle["tree"][5]["lfs"] is not None
    change(bundle["tree"])
    error = _error(native_id, bundle)
    assert (error.field, error.message) == (field, f"{CRESST_WHERE}: {message}")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda link: link.update(name=""), "release.assets.links[0].name", "expected a non-empty string, got ''"),
        (lambda link: link.pop("name"), "release.assets.links[0].name", "missing: expected a non-empty string"),
        (lambda link: link.update(direct_asset_url=42), "release.assets.links[0].direct_asset_url",
         "expected text, got int"),
        (lambda link: link.update(direct_asset_url=None, url=None), "release.assets.links[0].url",
         "missing: expected a non-empty string"),
    ],
)  # fmt: skip
def test_a_release_link_without_a_name_or_url_is_named(
    bundles: list[Bundle], change: Any, field: str, message: str
) -> None:
    native_id, bundle = _pick(bundles, f"corpus/{CRESST}")
    change(bundle["release"]["assets"]["links"][0])
    error = _error(native_id, bundle)
    assert (error.field, error.message) == (field, message)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda b: b["project"].update(path_with_namespace="dmdc/other/x"), "project.path_with_namespace",
         "the bundle is dmdc/other/x@v2.0 but was fetched as dmdc/cresst/cresst-dataset-000001@v2.0"),
        (lambda b: b["ref"].update(name="v9.0"), "ref.name",
         f"the bundle is {CRESST.replace('v2.0', 'v9.0')} but was fetched as {CRESST}"),
        (lambda b: b["ref"].update(name=2.0), "ref.name",
         "the bundle is dmdc/cresst/cresst-dataset-000001 but was fetched as dmdc/cresst/cresst-dataset-000001@v2.0"),
        (lambda b: b["ref"].update(kind="branch"), "ref.kind",
         "the bundle is dmdc/cresst/cresst-dataset-000001 but was fetched as dmdc/cresst/cresst-dataset-000001@v2.0"),
    ],
)  # fmt: skip
def test_a_bundle_that_is_not_the_version_fetched_names_the_value_that_differs(
    bundles: list[Bundle], change: Any, field: str, message: str
) -> None:
    native_id, bundle = _pick(bundles, f"corpus/{CRESST}")
    change(bundle)
    error = _error(native_id, bundle)
    assert (error.field, error.message) == (field, message)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda b: b["project"].pop("path_with_namespace"), "project.path_with_namespace",
         "missing: expected a non-empty string"),
        (lambda b: b["project"].update(web_url=42), "project.web_url", "expected text, got int"),
        (lambda b: b.update(ref={}), "ref.kind", "missing: expected 'tag' or 'branch'"),
        (lambda b: b.pop("ref"), "ref", "missing: expected a JSON object"),
        (lambda b: b["tree"][0].pop("path"), "tree[0].path", "missing: expected a non-empty string"),
    ],
)  # fmt: skip
def test_an_absent_value_is_called_missing(bundles: list[Bundle], change: Any, field: str, message: str) -> None:
    native_id, bundle = _pick(bundles, f"corpus/{CRESST}")
    change(bundle)
    error = _error(native_id, bundle)
    assert (error.field, error.message) == (field, message)


def test_an_energy_range_whose_max_is_below_its_min_is_named_in_the_descriptor(bundles: list[Bundle]) -> None:
    """The schema cannot compare two values; the model refuses the range, so the mapper names the descriptor's."""
    native_id, bundle = _pick(bundles, f"corpus/{CRESST}")
    descriptor = json.loads(bundle["documents"]["dmdc.json"])
    descriptor["energy_range"] = {"min": 40, "max": 1.5, "unit": "keV"}
    bundle["documents"]["dmdc.json"] = json.dumps(descriptor)
    error = _error(native_id, bundle)
    assert (error.field, error.message) == (
        "dmdc.json:$.energy_range.max",
        f"{CRESST_WHERE}: the energy range's max (1.5) is below its min (40)",
    )


# -- identifiers read from the project's files ----------------------------------------------------------------------


def _edit(bundle: dict[str, Any], name: str, change: Any) -> None:
    """Change one of the bundle's files through its parsed content, written back in its own format."""
    document = _parse(name, bundle["documents"][name])
    change(document)
    bundle["documents"][name] = _write(name, document)


@pytest.mark.parametrize(
    ("name", "change", "field", "message"),
    [
        ("dmdc.json", lambda d: d["citable_resources"].insert(0, {"type": "doi", "value": "not-a-doi"}),
         "dmdc.json:$.citable_resources[0].value", "'not-a-doi' is not a valid doi identifier"),
        ("dmdc.json", lambda d: d["citable_resources"].append({"type": "inspire", "value": "x"}),
         "dmdc.json:$.citable_resources[1].value", "'x' is not a valid inspire identifier"),
        ("CITATION.cff", lambda d: d.update({"doi": "doi-less"}), "CITATION.cff:$.doi", "'doi-less' is not a DOI"),
        ("CITATION.cff",
         lambda d: d.update({"identifiers": [{"type": "url", "value": "x"}, {"type": "doi", "value": "no"}]}),
         "CITATION.cff:$.identifiers[1].value", "'no' is not a DOI"),
        ("CITATION.cff", lambda d: d.update({"preferred-citation": {"doi": "10.1/x"}}),
         "CITATION.cff:$.preferred-citation.doi", "'10.1/x' is not a valid doi identifier"),
        ("codemeta.json", lambda d: d["referencePublication"][1].update(identifier="10.1/y"),
         "codemeta.json:$.referencePublication[1].identifier", "'10.1/y' is not a valid doi identifier"),
        ("codemeta.json", lambda d: d.update(referencePublication={"@id": "doi:10.2/z"}),
         "codemeta.json:$.referencePublication.@id", "'10.2/z' is not a valid doi identifier"),
        (".zenodo.json", lambda d: d["related_identifiers"][1].update(identifier="10.3/w"),
         ".zenodo.json:$.related_identifiers[1].identifier", "'10.3/w' is not a valid doi identifier"),
    ],
)  # fmt: skip
def test_an_identifier_of_a_project_file_that_is_not_one_is_named_in_the_file(
    bundles: list[Bundle], name: str, change: Any, field: str, message: str
) -> None:
    native_id, bundle = _pick(bundles, f"{CRESST}+citation-files")
    _edit(bundle, name, change)
    error = _error(native_id, bundle)
    assert (error.field, error.message) == (field, f"{CRESST_WHERE}: {message}")


def test_the_doi_of_codemeta_is_named_at_its_identifier(bundles: list[Bundle]) -> None:
    native_id, bundle = _pick(bundles, f"{CRESST}-descriptor")
    _edit(bundle, "codemeta.json", lambda d: d.update(identifier="https://doi.org/nope"))
    error = _error(native_id, bundle)
    assert (error.field, error.message) == ("codemeta.json:$.identifier", f"{CRESST_WHERE}: 'nope' is not a DOI")


# -- what is passed over, not refused ---------------------------------------------------------------------------------


def test_a_citation_file_list_of_the_wrong_type_is_ignored_like_its_other_fields(bundles: list[Bundle]) -> None:
    """The citation files' convention (`gitlab_metadata_files`): a field of the wrong type is as good as absent."""
    native_id, bundle = _pick(bundles, f"corpus/{CRESST}")
    assert [a.name for a in _map(native_id, bundle).creators] == ["Doe, Jane"]
    _edit(bundle, "CITATION.cff", lambda d: d.update(authors=True, identifiers=2.5, version=["1"]))
    record = _map(native_id, bundle)
    assert [a.name for a in record.creators] == ["CRESST Collaboration"]  # the collaboration, as with no authors

    native_id, bundle = _pick(bundles, f"{CRESST}-descriptor")
    _edit(bundle, "CITATION.cff", lambda d: d.update(authors=None))
    _edit(bundle, ".zenodo.json", lambda d: d.update(related_identifiers=2.5))
    _edit(bundle, "codemeta.json", lambda d: d.update(author=[], referencePublication=None))
    expected = {"Doe, Jane", "CRESST Collaboration"}
    untouched = _map(native_id, bundle)
    assert {a.name for a in untouched.creators} == expected and not untouched.references  # from .zenodo.json
    _edit(bundle, ".zenodo.json", lambda d: d.update(creators=42))
    assert [a.name for a in _map(native_id, bundle).creators] == ["CRESST Collaboration"]


def test_optional_gitlab_values_that_are_blank_are_passed_over(bundles: list[Bundle]) -> None:
    native_id, bundle = _pick(bundles, f"corpus/{CRESST}")
    record = _map(native_id, bundle)
    archives = [d.name for d in record.distributions if d.role == "auxiliary" and d.name.startswith("cresst")]
    assert len(archives) == 4 and record.is_part_of and record.publisher is not None

    sources = bundle["release"]["assets"]["sources"]
    sources[0]["url"], sources[1]["url"] = "", sources[1]["url"] + "/"  # no file name left in either
    bundle["group"]["web_url"] = " "
    bundle["root_group"].update(full_name="", name="")
    record = _map(native_id, bundle)
    assert [d.name for d in record.distributions if d.name in archives] == archives[2:]
    assert record.is_part_of == [] and record.publisher is None

    native_id, bundle = _pick(bundles, "docs-example")  # no descriptor: the collaboration is the group's name
    assert [c.label for c in _map(native_id, bundle).collaboration] == ["Foobar Group"]
    bundle["group"] = None
    assert [c.label for c in _map(native_id, bundle).collaboration] == ["Experimental"]  # the namespace's
    bundle["project"]["namespace"]["name"] = {"a": 1}
    assert _map(native_id, bundle).collaboration == []
