"""KubeRay's `RayCluster` (ray.io/v1): the fields of its CRD that the manifests use, as the
CRD of KubeRay v1.7.0 defines them (`ray-operator/config/crd/bases/ray.io_rayclusters.yaml`),
closed to any other field so that a misspelt one fails. Its pod templates are Kubernetes
`PodTemplateSpec`s: `pod_templates` lifts each one into a core/v1 `PodTemplate`, which the
Kubernetes schema validates like any other object."""

from __future__ import annotations

from typing import Any

API_VERSION = "ray.io/v1"
KIND = "RayCluster"

INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
TEMPLATE = {"type": "object"}
"""Validated separately, against the Kubernetes schema (`pod_templates`)."""

HEAD_GROUP = {
    "type": "object",
    "required": ["template"],
    "additionalProperties": False,
    "properties": {
        "serviceType": {"type": "string"},
        "enableIngress": {"type": "boolean"},
        "labels": STRING_MAP,
        "resources": STRING_MAP,
        "rayStartParams": STRING_MAP,
        "template": TEMPLATE,
    },
}

WORKER_GROUP = {
    "type": "object",
    "required": ["groupName", "maxReplicas", "minReplicas", "template"],
    "additionalProperties": False,
    "properties": {
        "groupName": {"type": "string"},
        "replicas": INT32,
        "minReplicas": INT32,
        "maxReplicas": INT32,
        "numOfHosts": INT32,
        "idleTimeoutSeconds": INT32,
        "suspend": {"type": "boolean"},
        "labels": STRING_MAP,
        "resources": STRING_MAP,
        "rayStartParams": STRING_MAP,
        "template": TEMPLATE,
    },
}

SPEC = {
    "type": "object",
    "required": ["headGroupSpec"],
    "additionalProperties": False,
    "properties": {
        "rayVersion": {"type": "string"},
        "enableInTreeAutoscaling": {"type": "boolean"},
        "suspend": {"type": "boolean"},
        "headGroupSpec": HEAD_GROUP,
        "workerGroupSpecs": {"type": "array", "items": WORKER_GROUP},
    },
}


def pod_templates(cluster: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The head's and every worker group's pod template, each as a core/v1 PodTemplate
    object named after the cluster and its group."""
    name = cluster["metadata"]["name"]
    spec = cluster["spec"]
    groups = {"head": spec["headGroupSpec"]}
    groups |= {group["groupName"]: group for group in spec.get("workerGroupSpecs", [])}
    return {
        group_name: {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": f"{name}-{group_name}"},
            "template": group["template"],
        }
        for group_name, group in groups.items()
    }
