"""The lock files deploy/Dockerfile installs (deploy/requirements/*.txt) are current.

"Current" means: they pin exactly what this virtualenv, the one the test suite runs in, holds
for paperfund and its `ray` and `ccxt` extras (the development tools are not in the image and
not locked). tests/run.sh installs the virtualenv from the same files before the development
extras, so a fresh run holds the locked versions; a dependency changed in pyproject.toml, or
a development tool that needs another version of a locked package, makes the virtualenv
differ and this test fail with the command that regenerates the lock. Checked offline: the
versions come from the installed distributions' metadata, the hashes are checked by pip when
the image is built.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.requirements_lock import EXTRAS, LOCK_DIR, Entry, groups, parse

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "regenerate with: .venv/bin/python -m tests.support.requirements_lock"


def locked() -> dict[str, dict[str, Entry]]:
    return {path.stem: parse(path.read_text()) for path in sorted(LOCK_DIR.glob("*.txt"))}


def test_there_is_a_lock_file_for_the_package_and_each_extra_of_the_image() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    image_extras = set(project["optional-dependencies"]) - {"dev"}
    assert set(EXTRAS) == image_extras
    assert set(locked()) == {"base", *image_extras}


def test_the_lock_pins_what_the_test_virtualenv_holds() -> None:
    files = locked()
    for group, wanted in groups().items():
        entries = files[group]
        pinned = {name: entry.version for name, entry in entries.items() if not entry.marker}
        assert pinned == wanted.pins, (
            f"deploy/requirements/{group}.txt is not current; {REGENERATE}"
        )
        # what only an older CPython 3.11 needs (not in this virtualenv) is locked with its
        # marker, at a version its requirement allows
        older = {name: entry for name, entry in entries.items() if entry.marker}
        assert set(older) == set(wanted.older), f"{group}.txt: {REGENERATE}"
        for name, entry in older.items():
            assert wanted.older[name].specifier.contains(entry.version), name
            assert entry.marker == str(wanted.older[name].marker), name


def test_every_pin_has_hashes() -> None:
    for group, entries in locked().items():
        unhashed = [name for name, entry in entries.items() if not entry.hashes]
        assert unhashed == [], f"{group}.txt: no --hash for {unhashed}"


def test_the_pins_satisfy_pyproject() -> None:
    """Independently of the virtualenv: every direct dependency of the package and of its
    image extras is locked in the file the image installs for it, at an allowed version."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    files = locked()
    wanted = {"base": project["dependencies"]}
    wanted |= {extra: project["optional-dependencies"][extra] for extra in EXTRAS}
    for group, requirements in wanted.items():
        available = files["base"] | files[group]
        for requirement in map(Requirement, requirements):
            name = canonicalize_name(requirement.name)
            assert name in available, f"{name} is not locked for {group}; {REGENERATE}"
            version = available[name].version
            assert requirement.specifier.contains(version), f"{name} {version}: {requirement}"
