"""The lock, pyproject.toml and environment.yml describe the same environment."""

import re
import tomllib
from pathlib import Path

import yaml
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_versions() -> dict[str, str]:
    """name -> pinned version from requirements.lock."""
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", (ROOT / "requirements.lock").read_text(), flags=re.M)
    return {_normalise(name): version for name, version in pins}


def conda_pip_pins() -> dict[str, str]:
    """name -> version of environment.yml's pip section."""
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    pins = {}
    for line in pip_section:
        if line.startswith("-"):
            continue
        name, version = line.split("==")
        pins[_normalise(name)] = version
    return pins


def test_environment_yml_pins_every_direct_dependency_at_the_locked_version():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    direct = {_normalise(re.split(r"[<>=!\[ ;]", d, maxsplit=1)[0]) for d in declared}
    conda = conda_pip_pins()
    locked = lock_versions()
    assert set(conda) == direct
    mismatched = {name: (conda[name], locked.get(name)) for name in conda if conda[name] != locked.get(name)}
    assert not mismatched, f"environment.yml disagrees with requirements.lock: {mismatched}"


def test_environment_yml_python_matches_pyproject():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in environment["dependencies"] if isinstance(d, str) and d.startswith("python"))
    minimum = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"].lstrip(">=")
    assert Version(python.split("=")[-1]) >= Version(minimum)  # as versions: 3.9 < 3.11


def no_deps_pins() -> dict[str, str]:
    """name -> version of requirements-no-deps.lock (installed without their declared dependencies)."""
    text = (ROOT / "requirements-no-deps.lock").read_text()
    return {_normalise(name): version for name, version in re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", text, flags=re.M)}


def test_packages_installed_without_dependencies_are_pinned_installed_and_leave_torch_out():
    import importlib.metadata
    import importlib.util

    pins = no_deps_pins()
    assert pins and not set(pins) & set(lock_versions())
    assert {name: importlib.metadata.version(name) for name in pins} == pins
    assert "torch" not in lock_versions() and importlib.util.find_spec("torch") is None
    makefile, environment = (ROOT / "Makefile").read_text(), (ROOT / "environment.yml").read_text()
    assert "--no-deps -r requirements-no-deps.lock" in makefile and "--no-deps -r requirements-no-deps.lock" in environment
