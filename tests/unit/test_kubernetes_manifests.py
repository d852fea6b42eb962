"""The Kubernetes manifests in deploy/kubernetes/ agree with the code: the entry points exist,
ports and probes are the ones the services open, every setting they name is a real one and
the ones production needs are all there, and each address names a Service that exists."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml

from common.settings import Settings
from deploy.local import ADDRESS_SETTINGS, PROCESSES

MANIFESTS = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
SETTING_NAMES = {f"PHOTOSHARE_{f.name.upper()}" for f in dataclasses.fields(Settings)}
# What a production process cannot do without (the rest have usable defaults).
REQUIRED = {
    "PHOTOSHARE_BACKEND",
    "PHOTOSHARE_SECRET",
    *ADDRESS_SETTINGS.values(),
    "PHOTOSHARE_CASSANDRA_HOSTS",
    "PHOTOSHARE_REDIS_URL",
    "PHOTOSHARE_KAFKA_BOOTSTRAP",
    "PHOTOSHARE_S3_ENDPOINT",
    "PHOTOSHARE_S3_ACCESS_KEY",
    "PHOTOSHARE_S3_SECRET_KEY",
    "PHOTOSHARE_MEDIA_PUBLIC_URL",
}


def documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    found: list[dict[str, Any]] = []
    for name in kustomization["resources"]:
        found.extend(d for d in yaml.safe_load_all((MANIFESTS / name).read_text()) if d)
    return found


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents() if d["kind"] == kind}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    [only] = deployment["spec"]["template"]["spec"]["containers"]
    assert isinstance(only, dict)
    return only


def settings_given() -> dict[str, str]:
    values: dict[str, str] = {}
    values.update(of_kind("ConfigMap")["photoshare"]["data"])
    values.update(of_kind("Secret")["photoshare"]["stringData"])
    return values


def test_every_process_has_a_deployment_of_an_entry_point_that_exists() -> None:
    modules = {container(d)["args"][0] for d in of_kind("Deployment").values()}
    assert modules == set(PROCESSES)
    for module in modules:
        assert importlib.util.find_spec(f"{module}.__main__") is not None


def test_settings_are_real_and_production_has_what_it_needs() -> None:
    given = settings_given()
    assert set(given) <= SETTING_NAMES, set(given) - SETTING_NAMES
    assert given["PHOTOSHARE_BACKEND"] == "production"
    assert set(given) >= REQUIRED, REQUIRED - set(given)
    for deployment in of_kind("Deployment").values():
        spec = container(deployment)
        sources = {next(iter(s.values()))["name"] for s in spec["envFrom"]}
        assert sources == {"photoshare"}  # both the ConfigMap and the Secret
        assert {e["name"] for e in spec.get("env", ())} <= SETTING_NAMES
    # The values parse the way the processes will parse them.
    Settings.from_env({**given, "PHOTOSHARE_LISTEN_ADDR": "0.0.0.0:1"})


@pytest.mark.parametrize("module", sorted(ADDRESS_SETTINGS))
def test_grpc_services_listen_probe_and_are_found_where_clients_look(module: str) -> None:
    default = getattr(Settings(), ADDRESS_SETTINGS[module].removeprefix("PHOTOSHARE_").lower())
    port = int(default.rpartition(":")[2])
    [deployment] = [d for d in of_kind("Deployment").values() if container(d)["args"] == [module]]
    spec = container(deployment)
    assert {"name": "grpc", "containerPort": port} in spec["ports"]
    env = {e["name"]: e.get("value") for e in spec["env"]}
    assert env["PHOTOSHARE_LISTEN_ADDR"] == f"0.0.0.0:{port}"
    for probe in ("readinessProbe", "livenessProbe"):
        # "" is the whole server: SERVING once its stores are open (common/server.py).
        assert spec[probe]["grpc"] == {"port": port, "service": ""}
    # Clients resolve a headless Service of that name to every ready pod.
    address = settings_given()[ADDRESS_SETTINGS[module]]
    host, _, service_port = address.removeprefix("dns:///").rpartition(":")
    service = of_kind("Service")[host]
    assert service["spec"]["clusterIP"] == "None"
    assert {"name": "grpc", "port": port, "targetPort": "grpc"} in service["spec"]["ports"]
    assert int(service_port) == port
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_http_listeners_are_exposed_and_the_gateway_probes_its_health() -> None:
    defaults = Settings()
    gateway = container(of_kind("Deployment")["gateway"])
    assert {"name": "http", "containerPort": defaults.http_port} in gateway["ports"]
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    media = container(of_kind("Deployment")["media-svc"])
    assert {"name": "http", "containerPort": defaults.media_http_port} in media["ports"]
    services = of_kind("Service")
    assert services["gateway"]["spec"]["type"] == "LoadBalancer"
    assert services["media-http"]["spec"]["type"] == "LoadBalancer"


def test_every_pod_serves_metrics_where_prometheus_looks() -> None:
    port = Settings().metrics_port
    for name, deployment in of_kind("Deployment").items():
        assert {"name": "metrics", "containerPort": port} in container(deployment)["ports"], name
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(port)


def test_stateless_services_scale_and_every_one_has_a_disruption_budget() -> None:
    deployments = of_kind("Deployment")
    autoscalers = of_kind("HorizontalPodAutoscaler")
    budgets = of_kind("PodDisruptionBudget")
    assert set(budgets) == set(deployments)
    assert set(autoscalers) == set(deployments)
    for name, deployment in deployments.items():
        assert deployment["spec"]["replicas"] >= 2
        target = autoscalers[name]["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", name)
        assert budgets[name]["spec"]["minAvailable"] == 1
        requests = container(deployment)["resources"]["requests"]
        assert {"cpu", "memory"} <= set(requests)
