"""What a saved model expects, checked when it is loaded: the metadata against the fingerprint saved with it, and
file hashes."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path


class ModelMismatch(ValueError):
    """Features, labels or weights that do not match what a model was trained and saved with."""


def check_metadata(run_dir: Path, metadata: dict, *, needs_recipe: bool) -> None:
    """Raise :class:`ModelMismatch` if ``metadata.json`` lacks what the model needs or disagrees with its fingerprint.

    The fingerprint is what the model was saved with; an edited label list, recipe or temperature
    would otherwise give confident answers under the wrong names, from the wrong features, or with a wrong confidence.
    """
    where = run_dir / "metadata.json"
    missing = [key for key in ("labels", "fingerprint") + (("recipe",) if needs_recipe else ()) if not metadata.get(key)]
    if missing:
        raise ModelMismatch(f"{where}: lacks {', '.join(missing)}; re-train the model (`make report`)")
    fingerprint = metadata["fingerprint"]
    if not isinstance(fingerprint, dict):
        raise ModelMismatch(f"{where}: its fingerprint holds a JSON {type(fingerprint).__name__}, not an object "
                            "(edited?)")
    if fingerprint.get("labels", metadata["labels"]) != metadata["labels"]:
        raise ModelMismatch(f"{where}: labels {metadata['labels']} differ from those the model was saved with "
                            f"{fingerprint['labels']} (edited?)")
    if needs_recipe and fingerprint.get("recipe", metadata["recipe"]) != metadata["recipe"]:
        raise ModelMismatch(f"{where}: the feature recipe differs from the one the model was saved with (edited?)")
    temperature = metadata.get("temperature", 1.0)
    if not _is_positive_number(temperature):
        raise ModelMismatch(f"{where}: temperature {temperature!r} is not a finite number > 0 (edited?); it divides "
                            "the log-probabilities, so anything else gives NaN or reversed answers")
    if fingerprint.get("temperature", temperature) != temperature:
        raise ModelMismatch(f"{where}: temperature {metadata.get('temperature', '(missing)')!r} differs from the one "
                            f"the model was saved with {fingerprint['temperature']!r} (edited?); it sets how sure "
                            "every answer reads")


def _is_positive_number(value) -> bool:
    """True for a finite number above 0 (a JSON number: not a string, not true/false)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
