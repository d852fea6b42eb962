"""deploy.local's plan of processes: replicas on the production backends, each with an
address and a Kafka name of its own, and every client given the whole list."""

from __future__ import annotations

import pytest

from common.settings import ConfigError, Settings
from deploy.local import plan_processes


def plan(env: dict[str, str]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    shared, processes = plan_processes(env, Settings.from_env(env))
    return shared, {name: {"module": p.module, **p.env} for name, p in processes.items()}


def test_one_process_per_service_by_default() -> None:
    shared, processes = plan({})
    assert shared == {}
    assert list(processes) == ["graph_svc", "post_svc", "media_svc", "feed_svc", "gateway"]
    assert all(p["module"] == name for name, p in processes.items())
    # Each serves its metrics on a port of its own, from the configured one up.
    ports = {name: p["PHOTOSHARE_METRICS_PORT"] for name, p in processes.items()}
    assert ports == {
        "gateway": "9100",
        "graph_svc": "9101",
        "post_svc": "9102",
        "media_svc": "9103",
        "feed_svc": "9104",
    }


def test_replicas_listen_apart_and_every_client_gets_the_list() -> None:
    env = {"PHOTOSHARE_BACKEND": "production", "PHOTOSHARE_REPLICAS": "2"}
    shared, processes = plan({**env, "PHOTOSHARE_REPLICAS_FEED_SVC": "3"})
    replicated = ("graph_svc", "post_svc", "media_svc", "gateway")
    expected = {*replicated, *(f"{m}-2" for m in replicated)}
    assert set(processes) == expected | {"feed_svc", "feed_svc-2", "feed_svc-3"}
    feeds = shared["PHOTOSHARE_FEED_ADDR"].split(",")
    assert feeds[0] == "127.0.0.1:50054"  # the first replica keeps the configured address
    assert [
        processes[n]["PHOTOSHARE_LISTEN_ADDR"] for n in ("feed_svc", "feed_svc-2", "feed_svc-3")
    ] == feeds
    assert len(set(feeds)) == 3
    assert len(shared["PHOTOSHARE_MEDIA_ADDR"].split(",")) == 2
    assert shared["PHOTOSHARE_HTTP_REUSE_PORT"] == "1"  # gateways and media HTTP share ports
    names = {p.get("PHOTOSHARE_INSTANCE_ID") for p in processes.values()}
    assert len(names - {None}) == 2  # replicas 2 and 3 named apart from the first
    metrics = [p["PHOTOSHARE_METRICS_PORT"] for p in processes.values()]
    assert len(set(metrics)) == len(processes)


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"PHOTOSHARE_REPLICAS": "2"}, "PHOTOSHARE_BACKEND=production"),
        ({"PHOTOSHARE_BACKEND": "production", "PHOTOSHARE_REPLICAS": "0"}, "1 or more"),
    ],
)
def test_replicas_that_cannot_work_are_refused(env: dict[str, str], complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        plan(env)
