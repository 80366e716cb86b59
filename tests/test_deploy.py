"""deploy/ is documentation a deployer copies, so it must parse and agree with the image."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import Settings
from tests.test_dockerfile import DOCKERFILE, _args, _command_words

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "kubernetes"


def _documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def _one(kind: str) -> dict[str, Any]:
    (found,) = [d for d in _documents() if d["kind"] == kind]
    return found


def _image_name() -> str:
    """The name the Dockerfile's build line tags the image with."""
    match = re.search(r"docker build -t (\S+) \.", DOCKERFILE.read_text())
    assert match, "the Dockerfile says how to build and tag the image"
    return match.group(1)


def _exposed_port() -> int:
    (port,) = {int(p.split("/")[0]) for a in _args("EXPOSE") for p in a.split()}
    return port


def _container(doc: dict[str, Any]) -> dict[str, Any]:
    (container,) = doc["spec"]["template"]["spec"]["containers"]
    return dict(container)


def test_every_manifest_is_valid_yaml_with_a_kind() -> None:
    docs = _documents()
    assert {d["kind"] for d in docs} == {"Deployment", "Service", "Secret", "Job"}
    assert all(d.get("apiVersion") and d.get("metadata", {}).get("name") for d in docs)


def test_deployment_runs_several_replicas_of_the_image_as_built() -> None:
    deployment = _one("Deployment")
    assert deployment["spec"]["replicas"] >= 2
    container = _container(deployment)
    assert container["image"].split(":")[0] == _image_name()
    # On PostgreSQL each replica runs serve with a worker process; the port stays the
    # image's PORT, which its health check and the probes below use.
    assert "command" not in container
    words = container.get("args") or _command_words(_args("CMD")[-1])
    assert words[:2] == ["allybot", "serve"] and "--port" not in words
    assert words[words.index("--workers") + 1] == "1"
    assert [p["containerPort"] for p in container["ports"]] == [_exposed_port()]
    assert {e["name"] for e in container.get("env", [])}.isdisjoint({"PORT", "DATABASE_URL"})
    assert "postgresql://" in _one("Secret")["stringData"]["DATABASE_URL"]


@pytest.mark.parametrize("probe", ["readinessProbe", "livenessProbe"])
def test_probes_ask_healthz_on_the_served_port(probe: str) -> None:
    check = _container(_one("Deployment"))[probe]["httpGet"]
    assert (check["path"], check["port"]) == ("/healthz", _exposed_port())


def test_grace_period_covers_the_shutdown() -> None:
    from allybot.cli import SHUTDOWN_SECONDS

    spec = _one("Deployment")["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] > SHUTDOWN_SECONDS


def test_runs_as_the_images_user() -> None:
    (user,) = _args("USER")
    uid = int(user.split(":")[0])
    for kind in ("Deployment", "Job"):
        context = _one(kind)["spec"]["template"]["spec"]["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] == uid


def test_service_routes_to_the_served_port() -> None:
    service = _one("Service")
    assert [p["targetPort"] for p in service["spec"]["ports"]] == [_exposed_port()]
    labels = _one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


def test_migration_job_runs_allybot_migrate_with_the_same_image() -> None:
    container = _container(_one("Job"))
    assert container["command"] == ["allybot", "migrate"]
    assert container["image"] == _container(_one("Deployment"))["image"]


def test_settings_named_are_allybots_and_secrets_exist() -> None:
    known = {name.upper() for name in Settings.model_fields} | {"PORT"}
    secret = _one("Secret")
    keys = set(secret["stringData"])
    assert keys <= known
    assert not ({"SLACK_BOT_TOKEN"} & keys and {"SLACK_CLIENT_ID"} & keys), "one mode only"
    for kind in ("Deployment", "Job"):
        container = _container(_one(kind))
        for env in container.get("env", []):
            assert env["name"] in known
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["name"] == secret["metadata"]["name"] and ref["key"] in keys
        for source in container.get("envFrom", []):
            assert source["secretRef"]["name"] == secret["metadata"]["name"]
    assert json.dumps(secret).count("replace-with") >= 3, "placeholders, never real secrets"
