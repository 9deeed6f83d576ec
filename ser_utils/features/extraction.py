"""Extraction of a recipe's features over a labels table: in parallel, cached, and skipping unusable files by name.

The cache (``data/processed/<kind>-<key>.npz``) is keyed by the recipe, the code that computes it
(:func:`recipe_code`) and each file's path, size and modification time.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from .. import config
from ..audio import AudioError
from ..engine import parallel_map
from ..provenance import code_fingerprint, versions_of
from ..storage import atomic_path, file_stamp, remove_leftovers
from .recipes import Recipe


@dataclass
class FeatureSet:
    """Features of the clips of a labels table that could be read, and the ones that could not."""

    features: np.ndarray
    table: pd.DataFrame
    failed: list[tuple[str, str]]
    recipe: Recipe
    from_cache: bool = False


#: Packages whose versions key the feature caches (they compute the features).
FEATURE_PACKAGES = ("librosa", "numpy", "scipy", "soxr", "opensmile", "silero-vad", "onnxruntime")


def recipe_code(recipe: Recipe) -> str:
    """What computes ``recipe``'s features: the code of its class, of the recipes it holds, and of everything they
    call in this package (:func:`~ser_utils.provenance.code_fingerprint`), and the versions of the
    :data:`FEATURE_PACKAGES`. Caches are keyed
    by it: editing other code (a plot, the t-SNE helper) keeps them; editing what computes the features does not."""
    held = [value for value in vars(recipe).values() if isinstance(value, Recipe)]
    return code_fingerprint(_extract_chunk, type(recipe), *(type(value) for value in held)) + versions_of(*FEATURE_PACKAGES)


def cache_key(paths: list[str], recipe: Recipe) -> str:
    """Hash of the recipe, the feature code, and each file's path, size and modification time."""
    digest = hashlib.sha256(json.dumps(recipe.to_dict(), sort_keys=True).encode())
    digest.update(recipe_code(recipe).encode())
    for path in paths:
        digest.update(f"{path}\0{file_stamp(path)}\n".encode())
    return digest.hexdigest()[:20]


def _extract_chunk(paths: list[str], recipe: Recipe) -> list[np.ndarray | str]:
    """Features of each path, or the error message of a file that could not be used."""
    results = []
    for path in paths:
        try:
            results.append(recipe.from_file(path))
        except AudioError as error:
            results.append(str(error))
        except (ValueError, IndexError, FloatingPointError, OSError) as error:  # a feature that fails on odd audio
            results.append(f"{path}: {recipe.kind} features failed ({type(error).__name__}: {error})")
    return results


def compile_kernels() -> None:
    """Compute every librosa-based recipe once, in this process, on a second of generated sound.

    numba compiles librosa's kernels on first use and caches them in the environment. Processes that compiled the
    same kernels at once on a fresh environment left a cache that crashed later ones (segfault in ``librosa.yin``),
    so the Makefile calls this when it creates the environment, before any workers (of ``make report``'s first
    extraction, or of ``make test``) start side by side.
    """
    import tempfile

    import soundfile as sf

    from .recipes import LegacyRecipe, MatrixRecipe, ProsodyRecipe, StatsRecipe

    rate = 22050
    seconds = np.arange(rate) / rate
    sound = (0.3 * np.sin(2 * np.pi * 180 * seconds) * (1 + np.sin(2 * np.pi * 3 * seconds))).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tone.wav"
        sf.write(path, sound, rate)
        for recipe in (LegacyRecipe(), MatrixRecipe(), StatsRecipe(), ProsodyRecipe()):
            recipe.from_file(path)


def _extract_all(paths: list[str], recipe: Recipe, n_jobs: int, progress: bool) -> list:
    """Run :func:`_extract_chunk` over the paths in parallel chunks, with a progress bar.

    The first file is extracted here, before the workers start, so that numba compiles
    and caches librosa's kernels once: workers compiling the same kernels at the same
    time on a fresh environment left a cache that crashed later processes (segfault in
    ``librosa.yin``).
    """
    collected = _extract_chunk(paths[:1], recipe)
    n_chunks = max(1, min(len(paths) - 1, 48))
    chunks = [list(chunk) for chunk in np.array_split(np.array(paths[1:], dtype=object), n_chunks) if len(chunk)]
    results = parallel_map(_extract_chunk, chunks, recipe, n_jobs=n_jobs)
    bar = tqdm(total=len(paths), initial=len(collected), desc=f"{recipe.kind} features", unit="file",
               disable=not config.show_progress(progress))
    for chunk_result in results:
        collected.extend(chunk_result)
        bar.update(len(chunk_result))
    bar.close()
    return collected


def extract_features(
    table: pd.DataFrame,
    recipe: Recipe,
    *,
    cache_dir: str | Path | None = config.PROCESSED_DIR,
    n_jobs: int = -1,
    progress: bool = True,
) -> FeatureSet:
    """Features of every clip in ``table['path']``, loaded from the cache when nothing changed.

    Files that cannot be used are skipped and listed in :attr:`FeatureSet.failed`
    (path, reason); the returned table holds only the clips that have features,
    in the same order as the feature rows.
    """
    paths = [str(path) for path in table["path"]]
    cache_file = None
    if cache_dir is not None:
        remove_leftovers(Path(cache_dir), ".*.npz*")  # temporary files of an interrupted extraction
        cache_file = Path(cache_dir) / f"{recipe.kind}-{cache_key(paths, recipe)}.npz"
        cached = read_cache(cache_file, len(paths))
        if cached is not None:
            return _feature_set(table, *cached, recipe, from_cache=True)
    results = _extract_all(paths, recipe, n_jobs, progress)
    ok = np.array([not isinstance(result, str) for result in results], dtype=bool)
    features = np.stack([r for r in results if not isinstance(r, str)]) if ok.any() else np.empty((0, *recipe.shape))
    reasons = [result for result in results if isinstance(result, str)]
    if cache_file is not None:
        with atomic_path(cache_file) as tmp:
            np.savez(tmp, features=features, ok=ok, reasons=np.array(reasons, dtype=str))
    return _feature_set(table, features, ok, reasons, recipe, from_cache=False)


def read_cache(cache_file: Path, n_paths: int):
    """(features, ok, reasons) from ``cache_file``, or None if absent; a damaged one is reported and removed."""
    if not cache_file.exists():
        return None
    try:
        with np.load(cache_file, allow_pickle=False) as cached:
            features, ok, reasons = cached["features"], cached["ok"], list(cached["reasons"])
        if len(ok) != n_paths or len(features) != ok.sum() or len(reasons) != (~ok).sum():
            raise ValueError("its arrays do not match the clips")
    except Exception as error:  # noqa: BLE001 - any damage (truncated zip, wrong arrays) means: rebuild
        print(f"{cache_file}: damaged feature cache ({type(error).__name__}: {error}); extracting again", file=sys.stderr)
        cache_file.unlink(missing_ok=True)
        return None
    return features, ok, reasons


def _feature_set(table, features, ok, reasons, recipe, *, from_cache: bool) -> FeatureSet:
    """Assemble a :class:`FeatureSet`, pairing each failed path with its reason."""
    failed_paths = [str(path) for path in table.loc[~ok, "path"]]
    kept = table.loc[ok].reset_index(drop=True)
    return FeatureSet(features, kept, list(zip(failed_paths, reasons)), recipe, from_cache)
