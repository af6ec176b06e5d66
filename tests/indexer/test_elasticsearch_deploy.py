"""The development stack in `deploy/` holds together: every service runs something real, nothing secret is written
down, ports stay on 127.0.0.1, the image carries every package, and Elasticsearch gets the generated template."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from indexer.elasticsearch_template import DEFAULT_NAME, DEPLOYED_TEMPLATE

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
REPO = DEPLOY.parent


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())  # type: ignore[no-any-return]


def cli_commands() -> set[str]:
    import typer.main

    from harvester.cli import app

    return set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_the_services_and_their_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"elasticsearch", "es-template", "postgres", "dmlake-init", "portal", "harvester"}
    assert re.fullmatch(
        r"docker\.elastic\.co/elasticsearch/elasticsearch:8\.17\.\d+", services["elasticsearch"]["image"]
    )
    assert services["postgres"]["image"] == "postgres:15"
    for name in ("dmlake-init", "portal", "harvester"):
        build = services[name]["build"]
        assert build == {"context": "..", "dockerfile": "deploy/Dockerfile"}, name


def test_every_dmlake_service_runs_a_real_command(compose: dict[str, Any]) -> None:
    commands = cli_commands()
    services = compose["services"]
    assert services["dmlake-init"]["command"][0] in commands
    assert services["portal"]["command"][:1] == ["serve"] and "serve" in commands
    loop = services["harvester"]["command"][0]
    invoked = re.findall(r"(?:^|[;\s])dmlake (\w+)", loop)
    assert invoked == ["harvest"] and "harvest" in commands
    assert "index" in commands


def test_nothing_secret_is_written_down_and_ports_stay_local(compose: dict[str, Any]) -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    for variable in ("ELASTIC_PASSWORD", "POSTGRES_PASSWORD"):
        assert f"${{{variable}:?" in text  # compose refuses to start without it
        assert variable in (DEPLOY / ".env.example").read_text()
    for service in compose["services"].values():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), port
    assert compose["services"]["elasticsearch"]["environment"]["xpack.security.enabled"] == "true"


def test_elasticsearch_gets_the_generated_template(compose: dict[str, Any]) -> None:
    job = compose["services"]["es-template"]
    assert job["volumes"] == ["./elasticsearch/index-template.json:/template.json:ro"]
    assert (DEPLOY / "elasticsearch" / "index-template.json").resolve() == DEPLOYED_TEMPLATE.resolve()
    assert f"/_index_template/{DEFAULT_NAME}" in job["command"][0]


def test_the_image_carries_every_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, flags=re.MULTILINE))
    assert copied == packages
    allowed = {line[1:].rstrip("/") for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
               if line.startswith("!")}  # fmt: skip
    assert packages | {"pyproject.toml", "README.md"} <= allowed
    assert all((REPO / package).is_dir() for package in packages)
