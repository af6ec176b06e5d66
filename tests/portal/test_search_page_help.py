"""The search page's field-syntax help: every example it offers (and puts into the box when clicked) is a search the
API accepts, and every field it lists is one the API's own description names; the page's scripts are served."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from importlib import resources

import pytest
from fastapi.testclient import TestClient

from dmlake.lake import Lake
from portal.app import create_app
from portal.search_help import SEARCH_TEXT_HELP
from sandbox.generated_records import generated_records

PAGE = (resources.files("portal") / "static" / "index.html").read_text(encoding="utf-8")
EXAMPLES = [html.unescape(e) for e in re.findall(r'<button type="button" class="example"><code>(.*?)</code>', PAGE)]
FIELDS = re.findall(r'<th scope="row"><code>(\w+):</code></th>', PAGE)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    lake = Lake.open(tmp_path_factory.mktemp("help-home"))
    lake.index.index(generated_records(200, seed=5))
    lake.index.commit()
    yield TestClient(create_app(lake))
    lake.close()


def test_the_help_lists_fields_and_examples() -> None:
    assert len(EXAMPLES) >= 20 and len(FIELDS) >= 14
    assert {example.split(":", 1)[0] for example in EXAMPLES} == set(FIELDS)


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_is_a_search_the_api_accepts(client: TestClient, example: str) -> None:
    answer = client.get("/api/search", params={"q": example, "size": 0})
    assert answer.status_code == 200, answer.json()


def test_every_listed_field_is_in_the_apis_description() -> None:
    described = set(re.findall(r"(\w+):", SEARCH_TEXT_HELP)) | set(re.findall(r"\b(\w+)\b", SEARCH_TEXT_HELP))
    assert set(FIELDS) <= described, set(FIELDS) - described


@pytest.mark.parametrize("script", ["app.js", "dom.js", "facets.js", "histogram.js", "hits.js"])
def test_the_page_modules_are_served_as_javascript(client: TestClient, script: str) -> None:
    answer = client.get(f"/static/{script}")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/javascript")
    imported = re.findall(r'from "\./([\w.]+)"', answer.text)
    assert all(client.get(f"/static/{name}").status_code == 200 for name in imported)
