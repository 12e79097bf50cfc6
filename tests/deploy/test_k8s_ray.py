"""The Ray component (components/ray, used by overlays/ray): a KubeRay RayCluster whose head
and workers run the daemon's image, and the daemon pointed at the head's Ray Client port.
Read from the manifests `kubectl kustomize` renders; their schema is checked with every
other object in test_k8s_schema.py."""

from __future__ import annotations

import tomllib
import urllib.parse
from typing import Any

import pytest
from packaging.requirements import Requirement

from tests.deploy.k8s_manifests import (
    RAY_CLUSTER,
    RAY_OVERLAY,
    ROOT,
    Manifest,
    daemon_pod,
    render,
    the,
)
from tests.deploy.ray_cluster_schema import pod_templates
from tests.deploy.test_k8s_pod import effective

HEAD_SERVICE_SUFFIX = "-head-svc"
"""KubeRay names a RayCluster's head Service `<cluster name>-head-svc`."""


def ray_cluster() -> Manifest:
    return the(render(RAY_OVERLAY), "RayCluster", RAY_CLUSTER)


def pods() -> dict[str, Manifest]:
    """The head's and each worker group's pod spec."""
    return {
        group: template["template"]["spec"]
        for group, template in pod_templates(ray_cluster()).items()
    }


def daemon_env() -> dict[str, str]:
    _, container = daemon_pod(render(RAY_OVERLAY))
    return {var["name"]: var["value"] for var in container.get("env", []) if "value" in var}


def test_the_daemon_uses_the_clusters_head() -> None:
    env = daemon_env()
    assert env["PAPERFUND_WORKERS__BACKEND"] == "ray"
    address = urllib.parse.urlsplit(env["PAPERFUND_WORKERS__RAY__ADDRESS"])
    assert address.scheme == "ray"  # the Ray Client: the daemon is not a node of the cluster
    assert address.hostname == RAY_CLUSTER + HEAD_SERVICE_SUFFIX
    [head] = pods()["head"]["containers"]
    ports = {port["name"]: port["containerPort"] for port in head["ports"]}
    # KubeRay's names: the head Service exposes these ports under them
    assert address.port == ports["client"] == 10001
    assert ports["gcs-server"] == 6379


def test_head_and_workers_run_the_daemons_image_and_its_ray() -> None:
    """Actors import the strategies from the image, and a Ray Client must run the cluster's
    Ray version: one image for all, with the version of Ray the `ray` extra allows."""
    _, daemon = daemon_pod(render(RAY_OVERLAY))
    assert daemon["image"].endswith("-ray")  # built with --build-arg PAPERFUND_EXTRAS=[ray]
    for group, pod in pods().items():
        [container] = pod["containers"]
        assert container["image"] == daemon["image"], group
        # KubeRay runs `ray start` itself when the container names no command of its own
        assert "command" not in container and "args" not in container, group
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    [requirement] = map(Requirement, extras["optional-dependencies"]["ray"])
    assert requirement.name == "ray" and "client" in requirement.extras
    assert requirement.specifier.contains(ray_cluster()["spec"]["rayVersion"])


@pytest.mark.parametrize("group", ["head", "shards"])
def test_ray_pods_run_unprivileged(group: str) -> None:
    """The `restricted` Pod Security Standard of the local namespace, a read-only root
    filesystem, and writable memory where Ray writes: /tmp (sessions, logs) and /dev/shm
    (its object store)."""
    pod = pods()[group]
    [container] = pod["containers"]
    assert pod.get("automountServiceAccountToken") is False
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    assert effective(pod, container, "runAsNonRoot") is True
    assert effective(pod, container, "runAsUser") == 10001  # the image's user
    assert effective(pod, container, "runAsGroup") == 10001
    assert effective(pod, container, "seccompProfile") == {"type": "RuntimeDefault"}
    own = container["securityContext"]
    assert own["allowPrivilegeEscalation"] is False
    assert own["readOnlyRootFilesystem"] is True
    assert own.get("privileged", False) is False
    assert own["capabilities"] == {"drop": ["ALL"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: volumes[mount["name"]] for mount in container["volumeMounts"]}
    assert "emptyDir" in mounts["/tmp"]
    assert mounts["/dev/shm"]["emptyDir"]["medium"] == "Memory"
    env = {var["name"]: var.get("value") for var in container["env"]}
    assert env["RAY_USAGE_STATS_ENABLED"] == "0"
    assert env["HOME"] == "/tmp"


@pytest.mark.parametrize("group", ["head", "shards"])
def test_ray_pods_have_probes_and_fixed_resources(group: str) -> None:
    """Probes of our own on named ports (KubeRay's defaults query the dashboard agent, which
    the image does not run); whole CPUs as requests and limits, which Ray takes as the node's
    number of CPUs."""
    [container] = pods()[group]["containers"]
    ports = {port["name"] for port in container["ports"]}
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["tcpSocket"]["port"] in ports, probe
    resources = container["resources"]
    assert resources["requests"] == resources["limits"]
    assert str(resources["limits"]["cpu"]).isdigit()
    assert resources["limits"]["memory"]


def test_shards_run_on_the_workers_not_on_the_head() -> None:
    spec: dict[str, Any] = ray_cluster()["spec"]
    assert spec["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    [workers] = spec["workerGroupSpecs"]
    assert workers["minReplicas"] <= workers["replicas"] <= workers["maxReplicas"]
    assert workers["rayStartParams"]["node-manager-port"] == "6380"
    [container] = pods()["shards"]["containers"]
    [port] = container["ports"]
    assert port["containerPort"] == 6380


def test_the_overlay_builds_on_the_local_one() -> None:
    """overlays/ray is overlays/local (the namespace, Redis) plus the Ray component."""
    local = {(o["kind"], o["metadata"]["name"]) for o in render(RAY_OVERLAY.parent / "local")}
    ray = {(o["kind"], o["metadata"]["name"]) for o in render(RAY_OVERLAY)}
    assert ray - local == {("RayCluster", RAY_CLUSTER)}
    assert local <= ray
    assert all(
        o["metadata"].get("namespace") == "paperfund"
        for o in render(RAY_OVERLAY)
        if o["kind"] != "Namespace"
    )
