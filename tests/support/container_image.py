"""Build deploy/Dockerfile and run containers of it, for tests/deploy/test_image.py.

The engine is `docker` when a daemon answers, otherwise `podman` (root, the Debian package).
When the Dockerfile's base image is not in podman's store and cannot be pulled (no registry
reachable), a stand-in is made from Debian packages: a `debootstrap --variant=minbase` of
bookworm, whose Python is 3.11 as in the official image, with what the Dockerfile's RUN
lines use (`python` at /usr/local/bin, `groupadd`/`useradd`, `install`) and the CA
certificates this host trusts (a TLS-intercepting proxy in front of the package registries
would otherwise be refused by pip in the build). It is imported under the exact name of the
FROM line, so the Dockerfile is built unchanged.

The image is tagged with a hash of everything the build reads (the Dockerfile and the files
its context admits): an unchanged tree reuses it, and the engine's layer cache makes a
rebuild after a source change cheap. The store persists between runs (podman's is
/var/lib/containers/storage), outside the repository; older tags of the test image are
removed after a build. Containers are always removed, also when a test fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
REPOSITORY = "localhost/paperfund-test"
# What the build context holds (the root .dockerignore admits these) plus the Dockerfile.
CONTEXT = ["pyproject.toml", "README.md", "LICENSE", "core", "workers", "daemon", "config"]
CONTEXT += ["deploy/requirements", "deploy/Dockerfile", ".dockerignore"]
WORK = Path(os.environ.get("PAPERFUND_IMAGE_WORK", "/var/tmp/paperfund-image"))
BUILD_TIMEOUT_S = 1200.0
STANDIN_PACKAGES = ["python3", "python3-venv", "python-is-python3", "ca-certificates", "passwd"]


class EngineError(RuntimeError):
    """The container engine is missing or failed; the message says what to install or do."""


# ---------------------------------------------------------------- the engine


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    done = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
    return done.returncode == 0


def engine() -> str:
    """`docker` with a reachable daemon, else `podman`; neither fails with what to install."""
    if _docker_answers():
        return "docker"
    if shutil.which("podman") is None:
        raise EngineError(
            "no container engine: no docker daemon answers and podman is not installed "
            "(tests/run.sh installs podman and debootstrap with apt-get)"
        )
    return "podman"


def engine_env(name: str) -> dict[str, str]:
    """The environment for the engine: for podman, a containers.conf fitted to this host."""
    env = dict(os.environ)
    if name == "podman":
        env["CONTAINERS_CONF"] = str(_containers_conf())
    return env


def _containers_conf() -> Path:
    """podman's defaults ask for more open files than the host's hard limit allows (it
    then cannot start a container), and crun fails on hybrid cgroups: runc is used."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    nofile = 1_048_576 if hard == resource.RLIM_INFINITY else min(hard, 1_048_576)
    text = (
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc=32768:32768"]\n'
        "[engine]\n"
        'runtime = "runc"\n'
    )
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / "containers.conf"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def call(
    name: str, *args: str, timeout_s: float = 120.0, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the engine; with `check`, a failure raises EngineError with its output."""
    done = subprocess.run(
        [name, *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=engine_env(name),
        check=False,
    )
    if check and done.returncode != 0:
        output = (done.stdout[-4000:] + done.stderr[-4000:]).strip()
        raise EngineError(f"{name} {' '.join(args)}: exit {done.returncode}\n{output}")
    return done


# ---------------------------------------------------------------- the base image


def base_image() -> str:
    """The FROM image of deploy/Dockerfile (one for both stages, test_dockerfile checks)."""
    found = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert found, "deploy/Dockerfile has no FROM"
    return found[0]


def ensure_base(name: str) -> str:
    """The base image is in the store: present, pulled, or (podman) a stand-in made."""
    image = base_image()
    if call(name, "image", "inspect", image, check=False).returncode == 0:
        return "present"
    if call(name, "pull", "-q", image, timeout_s=600, check=False).returncode == 0:
        return "pulled"
    if name != "podman":
        raise EngineError(f"{image} is not in docker's store and cannot be pulled")
    _make_standin(image)
    return "stand-in"


def _make_standin(image: str) -> None:
    if shutil.which("debootstrap") is None:
        raise EngineError(f"{image} cannot be pulled and debootstrap is missing to stand in")
    with tempfile.TemporaryDirectory(dir=WORK, prefix="rootfs-") as scratch:
        rootfs = Path(scratch) / "rootfs"
        include = f"--include={','.join(STANDIN_PACKAGES)}"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                include,
                "bookworm",
                str(rootfs),
                _debian_mirror(),
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=True,
        )
        _fit_standin(rootfs)
        tarball = Path(scratch) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
        changes = ["ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"]
        changes += ["ENV LANG=C.UTF-8", 'CMD ["python3"]']
        flags = [arg for change in changes for arg in ("--change", change)]
        call("podman", "import", *flags, str(tarball), image, timeout_s=600)


def _debian_mirror() -> str:
    """The mirror apt uses here (a snapshot or a proxy may be configured), else Debian's."""
    for source in Path("/etc/apt").rglob("*.sources"):
        found = re.search(r"^URIs:\s*(\S+/debian)\s*$", source.read_text(), re.MULTILINE)
        if found:
            return found.group(1)
    return "http://deb.debian.org/debian"


def _fit_standin(rootfs: Path) -> None:
    """What the official image has and the build relies on: `python` in /usr/local/bin,
    and the CA certificates this host trusts, for pip in the build (see the module doc)."""
    (rootfs / "usr/local/bin/python").symlink_to("/usr/bin/python3")
    extra = Path("/usr/local/share/ca-certificates")
    if extra.is_dir():
        shutil.copytree(extra, rootfs / "usr/local/share/ca-certificates", dirs_exist_ok=True)
    shutil.copyfile(
        "/etc/ssl/certs/ca-certificates.crt", rootfs / "etc/ssl/certs/ca-certificates.crt"
    )
    # pip uses its own CA bundle unless told otherwise; the stand-in's pip uses the system's.
    (rootfs / "etc/pip.conf").write_text("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
    shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
    shutil.rmtree(rootfs / "var/lib/apt/lists", ignore_errors=True)


# ---------------------------------------------------------------- the image


def context_digest() -> str:
    """A hash of the Dockerfile and every file of the build context."""
    digest = hashlib.sha256()
    for top in CONTEXT:
        path = ROOT / top
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if not file.is_file() or "__pycache__" in file.parts or file.suffix == ".pyc":
                continue
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build(name: str, extras: str = "") -> tuple[str, bool]:
    """(the image's tag, whether it was built now): reused when the tree is unchanged."""
    suffix = extras.strip("[]").replace(",", "-")
    tag = f"{REPOSITORY}:{context_digest()}" + (f"-{suffix}" if suffix else "")
    if call(name, "image", "inspect", tag, check=False).returncode == 0:
        return tag, False
    ensure_base(name)
    args = ["build", "-f", str(DOCKERFILE), "-t", tag, "--build-arg", f"PAPERFUND_EXTRAS={extras}"]
    if name == "podman":
        args += ["--pull=never", "--layers"]
    call(name, *args, str(ROOT), timeout_s=BUILD_TIMEOUT_S)
    _remove_older_tags(name, keep=tag)
    return tag, True


def _remove_older_tags(name: str, keep: str) -> None:
    listed = call(name, "images", "--format", "{{.Repository}}:{{.Tag}}", REPOSITORY)
    for image in listed.stdout.split():
        if image != keep and image.startswith(REPOSITORY + ":"):
            call(name, "rmi", image, check=False)


def image_size_bytes(name: str, tag: str) -> int:
    return int(call(name, "image", "inspect", "--format", "{{.Size}}", tag).stdout.strip())


# ---------------------------------------------------------------- containers


@contextlib.contextmanager
def volume(name: str) -> Iterator[str]:
    """A fresh named volume, removed afterwards."""
    volume_name = f"paperfund-test-{os.getpid()}-{os.urandom(3).hex()}"
    call(name, "volume", "create", volume_name)
    try:
        yield volume_name
    finally:
        call(name, "volume", "rm", "-f", volume_name, check=False)


@contextlib.contextmanager
def container(name: str, *args: str) -> Iterator[str]:
    """A detached container (`run -d` with `args`), always removed at the end."""
    started = call(name, "run", "-d", *args)
    container_id = started.stdout.strip()
    try:
        yield container_id
    finally:
        call(name, "rm", "-f", "-t", "0", container_id, check=False)


def run_once(name: str, *args: str, timeout_s: float = 300.0) -> subprocess.CompletedProcess[str]:
    """`run --rm` to completion; on a timeout the container is removed too."""
    label = f"paperfund-test-run-{os.getpid()}-{os.urandom(3).hex()}"
    try:
        return call(name, "run", "--rm", "--name", label, *args, timeout_s=timeout_s, check=False)
    finally:
        call(name, "rm", "-f", "-t", "0", label, check=False)


def published_port(name: str, container_id: str, port: int) -> int:
    """The host port the engine mapped to the container's `port`."""
    out = call(name, "port", container_id, f"{port}/tcp").stdout.strip().splitlines()[0]
    return int(out.rsplit(":", 1)[1])
