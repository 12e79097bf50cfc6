"""What an operator relies on in the daemon's pod, read from the rendered manifests and the
fund settings the ConfigMap ships: one daemon per fund, probes on the API's port, a grace
period longer than the daemon's shutdown grace, unprivileged pods, the state on the claim,
the secrets where the settings read them; and the local Redis example."""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path, PurePosixPath
from typing import Any

from config import FundSettings, check_imports, load_settings
from tests.deploy.k8s_manifests import (
    DAEMON,
    K8S,
    RAY_OVERLAY,
    SECRET_FILE_SETTINGS,
    Manifest,
    config_path,
    daemon_pod,
    fund_data,
    mount_of,
    mounted_text,
    objects,
    pod_environment,
    render,
    secret_values,
    setting,
    targets,
    the,
)
from tests.support.daemon_process import cli

# ---------------------------------------------------------------- the daemon's pod


@targets
def test_one_daemon_runs_the_fund(target: Path) -> None:
    """A second daemon on the same state would exit 3: never start one, even in a rollout."""
    rendered = render(target)
    deployment = the(rendered, "Deployment", DAEMON)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert not objects(rendered, "HorizontalPodAutoscaler")
    pod, container = daemon_pod(rendered)
    volume, _, _ = mount_of(pod, container, fund_data(rendered)["state"]["dir"])
    claim = the(rendered, "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert set(claim["spec"]["accessModes"]) <= {"ReadWriteOnce", "ReadWriteOncePod"}


@targets
def test_probes_and_service_reach_the_api_port(target: Path) -> None:
    rendered = render(target)
    http = fund_data(rendered)["control"]["http"]
    assert http["enabled"] is True
    assert http["host"] == "0.0.0.0"  # reachable from the kubelet, the Service, Prometheus
    assert http["token_file"]  # required off loopback; checked by the settings loader below
    port = http["port"]
    _, container = daemon_pod(rendered)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": port}

    def resolved(probe: Manifest) -> tuple[str, int]:
        get = probe["httpGet"]
        number = ports[get["port"]] if isinstance(get["port"], str) else get["port"]
        return get["path"], number

    assert resolved(container["startupProbe"]) == ("/healthz", port)
    assert resolved(container["livenessProbe"]) == ("/healthz", port)
    assert resolved(container["readinessProbe"]) == ("/readyz", port)
    startup, liveness = container["startupProbe"], container["livenessProbe"]
    # recovery (opening and repairing the store) may take minutes before /healthz answers
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120
    # a busy event loop is not a dead one: a minute before a restart
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 60
    for probe in (startup, liveness, container["readinessProbe"]):
        assert probe["timeoutSeconds"] < probe["periodSeconds"]

    service = the(rendered, "Service", DAEMON)
    pod_labels = the(rendered, "Deployment", DAEMON)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    [service_port] = service["spec"]["ports"]
    assert service_port["name"] == "http"
    assert service_port["port"] == port
    target_port = service_port["targetPort"]
    assert (ports[target_port] if isinstance(target_port, str) else target_port) == port
    # /readyz fails while Redis is down: the HTTP command path and /metrics must stay reachable
    assert service["spec"]["publishNotReadyAddresses"] is True


@targets
def test_the_grace_period_covers_a_clean_shutdown(target: Path) -> None:
    """SIGTERM finishes the slice in progress (each step bounded by step_timeout_s), then
    snapshots within shutdown_grace_s; the kubelet's SIGKILL must come after both."""
    rendered = render(target)
    deadlines = fund_data(rendered)["deadlines"]
    pod, container = daemon_pod(rendered)
    needed = deadlines["step_timeout_s"] + deadlines["shutdown_grace_s"]
    assert pod["terminationGracePeriodSeconds"] >= 2 * needed
    assert "lifecycle" not in container  # no preStop hook eats into the grace period
    # the image's exec-form entrypoint stays PID 1 and gets SIGTERM: no shell in between
    assert "command" not in container
    assert container["args"][0] == "run"


def effective(pod: Manifest, container: Manifest, field: str) -> Any:
    """A security setting as the container gets it (its own, else the pod's)."""
    own = container.get("securityContext", {})
    return own[field] if field in own else pod.get("securityContext", {}).get(field)


@targets
def test_pods_run_unprivileged(target: Path) -> None:
    """Every workload passes the `restricted` Pod Security Standard, with a read-only root
    filesystem and writable scratch space where Python needs it."""
    rendered = render(target)
    deployments = objects(rendered, "Deployment")
    assert deployments
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod.get("automountServiceAccountToken") is False
        assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
        assert pod["securityContext"].get("fsGroup", 0) > 0
        allowed = {"configMap", "secret", "emptyDir", "persistentVolumeClaim", "projected"}
        for volume in pod.get("volumes", []):
            assert set(volume) - {"name"} <= allowed, volume
        for container in pod["containers"] + pod.get("initContainers", []):
            where = f"{deployment['metadata']['name']}/{container['name']}"
            assert effective(pod, container, "runAsNonRoot") is True, where
            assert effective(pod, container, "runAsUser") > 0, where
            assert effective(pod, container, "runAsGroup") > 0, where
            assert effective(pod, container, "seccompProfile") == {"type": "RuntimeDefault"}
            own = container["securityContext"]
            assert own["allowPrivilegeEscalation"] is False, where
            assert own["readOnlyRootFilesystem"] is True, where
            assert own.get("privileged", False) is False, where
            assert own["capabilities"] == {"drop": ["ALL"]}, where
    pod, container = daemon_pod(rendered)
    volume, mount, _ = mount_of(pod, container, "/tmp/matplotlib")
    assert "emptyDir" in volume and mount["mountPath"] == "/tmp"


@targets
def test_the_state_directory_is_on_the_claim(target: Path) -> None:
    rendered = render(target)
    state_dir = fund_data(rendered)["state"]["dir"]
    assert PurePosixPath(state_dir).is_absolute()
    pod, container = daemon_pod(rendered)
    volume, mount, _ = mount_of(pod, container, state_dir)
    assert mount["mountPath"] == state_dir
    assert not mount.get("readOnly", False)
    claim_name = volume["persistentVolumeClaim"]["claimName"]
    claim = the(rendered, "PersistentVolumeClaim", claim_name)
    assert claim["spec"]["resources"]["requests"]["storage"]
    # the daemon's user can write there: the volume is group-owned by fsGroup
    assert pod["securityContext"]["fsGroup"] == effective(pod, container, "runAsGroup")


@targets
def test_secrets_are_mounted_where_the_settings_read_them(target: Path) -> None:
    rendered = render(target)
    data = fund_data(rendered)
    pod, container = daemon_pod(rendered)
    for dotted in SECRET_FILE_SETTINGS:
        path = setting(data, dotted)
        assert path, f"{dotted} is not set: the secret would have to be in the ConfigMap"
        value, source, key = mounted_text(rendered, path)
        assert source["kind"] == "Secret", f"{dotted} is read from a {source['kind']}"
        assert value, f"{dotted}: the Secret's {key} is empty"
        volume, mount, _ = mount_of(pod, container, path)
        assert mount.get("readOnly") is True
        assert volume["secret"]["defaultMode"] & 0o007 == 0  # not world-readable
    # nothing secret inline: not in the settings file, not as a literal environment value
    for inline in ("control.http.token", "control.redis.url", "control.signing_key"):
        assert setting(data, inline) is None, inline
    feed = data["feed"]
    assert "url" not in feed  # the feed's URL holds the Redis password: from the Secret
    for var in container.get("env", []):
        assert "value" not in var or not re.search(r"TOKEN|KEY|URL|PASSWORD", var["name"])
    urls = [
        var["valueFrom"]["secretKeyRef"]
        for var in container.get("env", [])
        if var["name"] == "PAPERFUND_FEED__URL"
    ]
    assert [(ref["name"], ref["key"]) for ref in urls] == [("paperfund-secrets", "redis-url")]
    # the Secret shipped here holds placeholders only
    for secret in objects(rendered, "Secret"):
        for key, value in secret_values(secret).items():
            assert "CHANGE-ME" in value, f"{key} looks like a real secret"
    text, text_source, _ = mounted_text(rendered, config_path(container))
    assert text_source["kind"] == "ConfigMap"
    for secret in objects(rendered, "Secret"):
        for value in secret_values(secret).values():
            assert value not in text


@targets
def test_the_shipped_settings_load(target: Path, tmp_path: Path) -> None:
    """The settings file and environment the pod gets pass the daemon's own loader (secret
    files included: the token off loopback, the URL's scheme, the key's length) and every
    strategy class imports."""
    rendered = render(target)
    path, env = pod_environment(rendered, tmp_path)
    settings = load_settings(path, env)
    check_imports(settings)
    assert isinstance(settings, FundSettings)
    secret = the(rendered, "Secret", "paperfund-secrets")
    values = secret_values(secret)
    assert settings.control.http.bearer_token() == values["http-token"]
    assert settings.control.redis.redis_url() == values["redis-url"]
    assert settings.control.key() == values["signing-key"].encode()
    assert settings.feed.kind == "redis"
    assert settings.feed.url == values["redis-url"]
    assert settings.logging.format == "json"


def test_paperfund_check_config_accepts_the_ray_overlays_settings(tmp_path: Path) -> None:
    """The Ray overlay's daemon gets `workers.backend: ray` and the head's Ray Client address;
    `paperfund check-config` takes them as the container would get them (nothing connects to
    Ray before `run`)."""
    path, env = pod_environment(render(RAY_OVERLAY), tmp_path)
    assert env["PAPERFUND_WORKERS__BACKEND"] == "ray"
    assert env["PAPERFUND_WORKERS__RAY__ADDRESS"].startswith("ray://")
    base = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFUND_")}
    done = cli("check-config", str(path), env=base | env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{path}: ok")


@targets
def test_resources_images_and_labels(target: Path) -> None:
    rendered = render(target)
    for obj in rendered:
        labels = obj["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/part-of") == "paperfund", obj["metadata"]["name"]
        if obj["kind"] != "Namespace":
            assert labels.get("app.kubernetes.io/name"), obj["metadata"]["name"]
    for deployment in objects(rendered, "Deployment"):
        spec = deployment["spec"]
        template_labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= template_labels.items()
        for container in spec["template"]["spec"]["containers"]:
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), container["name"]
            assert "memory" in resources["limits"], container["name"]
            image = container["image"]
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            assert tag and tag != "latest", f"{image} is not pinned"
            assert re.search(r"\d", tag), f"{image} is not pinned to a version"
    # the fund's config map is generated: its name changes with its content and rolls the pod
    pod, container = daemon_pod(rendered)
    volume, _, _ = mount_of(pod, container, config_path(container))
    assert re.fullmatch(r"paperfund-config-[a-z0-9]{10}", volume["configMap"]["name"])


# ---------------------------------------------------------------- the local Redis


def test_the_local_redis_is_the_one_in_the_secret() -> None:
    rendered = render(K8S / "overlays" / "local")
    values = secret_values(the(rendered, "Secret", "paperfund-secrets"))
    url = urllib.parse.urlsplit(values["redis-url"])
    service = the(rendered, "Service", url.hostname or "")
    [port] = service["spec"]["ports"]
    assert port["port"] == (url.port or 6379)
    assert url.password == values["redis-password"]
    redis_deployment = the(rendered, "Deployment", "paperfund-redis")
    pod = redis_deployment["spec"]["template"]["spec"]
    assert service["spec"]["selector"].items() <= (
        redis_deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    [container] = pod["containers"]
    refs = {
        var["name"]: var["valueFrom"]["secretKeyRef"]
        for var in container["env"]
        if "valueFrom" in var
    }
    assert refs["REDIS_PASSWORD"] == {"name": "paperfund-secrets", "key": "redis-password"}
    args = container["args"]
    assert args[args.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"redis": 6379}
    assert port["targetPort"] == "redis"
    namespace = the(rendered, "Namespace", "paperfund")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for obj in rendered:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "paperfund"
