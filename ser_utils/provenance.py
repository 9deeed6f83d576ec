"""Provenance recorded with every model and report: package versions and the git commit."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata as importlib_metadata

from . import config

REPORTED_PACKAGES = (
    "tensorflow", "keras", "librosa", "numpy", "pandas", "scikit-learn", "scipy", "soundfile", "soxr", "espeakng-loader",
)


def git_commit() -> str:
    """The project's current git commit, or 'unknown' outside a git checkout."""
    try:
        result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=config.PROJECT_ROOT,
                                capture_output=True, text=True, timeout=5, check=True)
        return result.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape the results."""
    versions = {"python": platform.python_version()}
    for name in REPORTED_PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
