"""Every object the Kubernetes manifests render is valid: core objects against the API
schema of a current Kubernetes release (kubernetes-validate, strict), the Prometheus
Operator's custom resources against the part of their CRD schema used here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy import ray_cluster_schema
from tests.deploy.k8s_manifests import (
    K8S,
    KUBERNETES_VERSION,
    OVERLAYS,
    TARGETS,
    Manifest,
    render,
    targets,
)

# ---------------------------------------------------------------- schemas


def test_every_kustomization_is_rendered() -> None:
    """Each kustomization is the base, an overlay, or a component an overlay uses."""
    used: set[Path] = set()
    for overlay in OVERLAYS:
        spec = yaml.safe_load((overlay / "kustomization.yaml").read_text())
        used |= {(overlay / c).resolve() for c in spec.get("components", [])}
    found = {path.parent.resolve() for path in K8S.rglob("kustomization.yaml")}
    assert found == {path.resolve() for path in TARGETS} | used
    assert len(OVERLAYS) >= 2


def kubernetes_validator() -> Any:
    try:
        import kubernetes_validate
    except ImportError:
        pytest.fail("kubernetes-validate not installed: pip install kubernetes-validate")
    return kubernetes_validate


DURATION = {
    "type": "string",
    "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?"
    r"(([0-9]+)s)?(([0-9]+)ms)?)$",
}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
METADATA = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "namespace": {"type": "string"},
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
    },
}

RELABEL_ACTIONS = ["Replace", "Keep", "Drop", "HashMod", "LabelMap", "LabelDrop", "LabelKeep"]
RELABEL_ACTIONS += ["Lowercase", "Uppercase", "KeepEqual", "DropEqual"]
RELABEL = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "action": {"enum": [*RELABEL_ACTIONS, *(action.lower() for action in RELABEL_ACTIONS)]},
        "sourceLabels": {"type": "array", "items": {"type": "string"}},
        "separator": {"type": "string"},
        "targetLabel": {"type": "string"},
        "regex": {"type": "string"},
        "modulus": {"type": "integer"},
        "replacement": {"type": "string"},
    },
}


def custom_resource(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": METADATA,
            "spec": spec,
        },
    }


CUSTOM_RESOURCES: dict[tuple[str, str], dict[str, Any]] = {
    # The fields of monitoring.coreos.com/v1 the manifests use, as the CRDs define them.
    ("monitoring.coreos.com/v1", "ServiceMonitor"): custom_resource(
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "jobLabel": {"type": "string"},
                "namespaceSelector": {"type": "object"},
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "matchLabels": STRING_MAP,
                        "matchExpressions": {"type": "array"},
                    },
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["port"],
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": DURATION,
                            "scrapeTimeout": DURATION,
                            "honorLabels": {"type": "boolean"},
                            "relabelings": {"type": "array", "items": RELABEL},
                        },
                    },
                },
            },
        },
    ),
    ("monitoring.coreos.com/v1", "PrometheusRule"): custom_resource(
        "monitoring.coreos.com/v1",
        "PrometheusRule",
        {
            "type": "object",
            "required": ["groups"],
            "additionalProperties": False,
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["name", "rules"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "interval": DURATION,
                            "rules": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["alert", "expr"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "alert": {"type": "string", "pattern": "^[A-Z][A-Za-z]+$"},
                                        "expr": {"type": "string", "minLength": 1},
                                        "for": DURATION,
                                        "labels": STRING_MAP,
                                        "annotations": STRING_MAP,
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    ),
    (ray_cluster_schema.API_VERSION, ray_cluster_schema.KIND): custom_resource(
        ray_cluster_schema.API_VERSION, ray_cluster_schema.KIND, ray_cluster_schema.SPEC
    ),
}


def schema_problems(obj: Manifest) -> list[str]:
    """What is wrong with `obj` against the Kubernetes API (or its custom resource schema)."""
    kv = kubernetes_validator()
    where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    custom = CUSTOM_RESOURCES.get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if custom is not None:
        validator = jsonschema.Draft202012Validator(custom)
        problems = [
            f"{where}: {list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj)
        ]
        if obj["kind"] == ray_cluster_schema.KIND and not problems:
            for template in ray_cluster_schema.pod_templates(obj).values():
                problems += schema_problems(template)
        return problems
    try:
        version = kv.validate(obj, KUBERNETES_VERSION, strict=True)
    except kv.ValidationError as exc:
        return [f"{where}: {list(exc.path)}: {exc.message}"]
    except kv.SchemaNotFoundError as exc:
        return [f"{where}: {exc.message}"]
    assert version == KUBERNETES_VERSION
    return []


def test_the_validator_is_strict_and_current() -> None:
    """The validation below rejects what the API server would: an unknown field, a wrong type,
    a kind with no schema; and it knows the Kubernetes release the tests name."""
    kv = kubernetes_validator()
    newest = tuple(int(part) for part in kv.latest_version().split(".")[:2])
    assert newest >= tuple(int(part) for part in KUBERNETES_VERSION.split("."))
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 8377}]},
    }
    assert schema_problems(service) == []
    assert schema_problems({**service, "spec": {"ports": [{"port": 8377, "portt": 1}]}})
    assert schema_problems({**service, "spec": {"ports": [{"port": "8377"}]}})
    assert schema_problems({**service, "kind": "Servicee"})
    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor"}
    assert schema_problems({**monitor, "metadata": {"name": "m"}, "spec": {"endpoint": []}})
    # a RayCluster: its own fields, and its pod templates against the Kubernetes schema
    pod = {"containers": [{"name": "ray-head", "image": "paperfund:0.1.0"}]}
    cluster = {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": "r"},
        "spec": {"headGroupSpec": {"rayStartParams": {}, "template": {"spec": pod}}},
    }
    assert schema_problems(cluster) == []
    head = cluster["spec"]["headGroupSpec"]
    for wrong in (
        {**head, "rayStartParam": {}},
        {**head, "rayStartParams": {"num-cpus": 0}},
        {**head, "template": {"spec": {**pod, "containers": [{"name": "x", "imag": "p"}]}}},
        {**head, "template": {"spec": {**pod, "restartPolicy": 7}}},
    ):
        assert schema_problems({**cluster, "spec": {"headGroupSpec": wrong}}), wrong


@targets
def test_every_object_matches_its_schema(target: Path) -> None:
    rendered = render(target)
    assert rendered
    problems = [problem for obj in rendered for problem in schema_problems(obj)]
    assert problems == []
