"""Features of corrupted clips (:mod:`ser_utils.augment`), cached per recipe in shards under
``data/processed/corrupted/<kind>-<key>/``: the key is the recipe, the code that computes its features and the
code that corrupts a clip."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .. import config
from ..audio import AudioError
from ..engine import parallel_map
from ..provenance import code_fingerprint, versions_of
from ..storage import atomic_path, remove_leftovers
from .extraction import file_stamp, recipe_code
from .recipes import Recipe


#: Packages whose versions key the cache of corrupted clips (they corrupt them).
CORRUPTION_PACKAGES = ("colorednoise", "pedalboard", "pyroomacoustics", "scipy")


def corrupted_key(corruption) -> str:
    """Cache key of a corrupted clip: the corruption and the state of every file it reads."""
    files = (corruption.path, *corruption.sources)
    return hashlib.sha1(f"{corruption.key()}|{'|'.join(map(file_stamp, files))}".encode()).hexdigest()[:20]


def bank_dir(cache_dir: Path, recipe: Recipe) -> Path:
    """Folder of one recipe's corrupted-clip features: a hash of the recipe, of the code that computes its features
    (:func:`recipe_code`) and of the code that corrupts a clip (:func:`~ser_utils.augment.corrupt_file` and all it
    calls)."""
    from .. import augment

    digest = hashlib.sha256(json.dumps(recipe.to_dict(), sort_keys=True).encode())
    digest.update((recipe_code(recipe) + code_fingerprint(augment.corrupt_file, _extract_corrupted_chunk)
                   + versions_of(*CORRUPTION_PACKAGES)).encode())
    return Path(cache_dir) / "corrupted" / f"{recipe.kind}-{digest.hexdigest()[:16]}"


def _read_bank(folder: Path) -> dict[str, np.ndarray | str]:
    """Every cached key -> features (or the reason it failed) of a bank folder; damaged shards are removed."""
    bank: dict[str, np.ndarray | str] = {}
    if not folder.is_dir():
        return bank
    remove_leftovers(folder, ".*.npz*")
    for shard in sorted(folder.glob("*.npz")):
        try:
            with np.load(shard, allow_pickle=False) as cached:
                bank.update(zip(cached["keys"], cached["features"]))
                bank.update(zip(cached["failed_keys"], cached["reasons"]))
        except Exception as error:  # noqa: BLE001 - a damaged shard is extracted again
            print(f"{shard}: damaged feature cache ({type(error).__name__}: {error}); extracting again", file=sys.stderr)
            shard.unlink(missing_ok=True)
    return bank


def _write_shard(folder: Path, keys: list[str], results: list) -> None:
    """Add one shard of new keys and their features (or failure reasons) to a bank folder."""
    folder.mkdir(parents=True, exist_ok=True)
    good = [(key, result) for key, result in zip(keys, results) if not isinstance(result, str)]
    bad = [(key, result) for key, result in zip(keys, results) if isinstance(result, str)]
    name = hashlib.sha1("".join(keys).encode()).hexdigest()[:16]
    with atomic_path(folder / f"{name}.npz") as tmp:
        np.savez(tmp, keys=np.array([k for k, _ in good], dtype=str),
                 features=np.stack([r for _, r in good]) if good else np.empty((0,)),
                 failed_keys=np.array([k for k, _ in bad], dtype=str), reasons=np.array([r for _, r in bad], dtype=str))


def _extract_corrupted_chunk(corruptions: list, recipes: list[Recipe]) -> list[list[np.ndarray | str]]:
    """Per corruption, each recipe's features of the corrupted clip (or the error message, for every recipe)."""
    from .. import augment

    rate, res_type = recipes[0].sample_rate, recipes[0].res_type
    results = []
    for corruption in corruptions:
        try:
            samples = augment.corrupt_file(corruption, rate, res_type)
            results.append([recipe.transform(recipe.segments(samples)[0][1]) for recipe in recipes])
        except AudioError as error:
            results.append([str(error)] * len(recipes))
        except (ValueError, IndexError, FloatingPointError, OSError) as error:
            results.append([f"{corruption.path}: corrupted copy failed ({type(error).__name__}: {error})"] * len(recipes))
    return results


def corrupted_features(corruptions: list, recipes: list[Recipe], *, cache_dir: str | Path | None = config.PROCESSED_DIR,
                       n_jobs: int = -1, progress: bool = True) -> dict[Recipe, dict[str, np.ndarray | str]]:
    """Features of corrupted clips (:class:`~ser_utils.augment.Corruption`) for each recipe, keyed by :func:`corrupted_key`.

    Each clip is loaded and corrupted once for all ``recipes`` (which must share a sample rate);
    results are cached per recipe, so later runs, folds and models reuse them. A clip that
    fails maps to its error message.
    """
    if len({(recipe.sample_rate, recipe.res_type) for recipe in recipes}) > 1:
        raise ValueError("corrupted copies are extracted for recipes of one sample rate and resampler at a time")
    folders = {recipe: bank_dir(Path(cache_dir), recipe) for recipe in recipes} if cache_dir is not None else {}
    banks = {recipe: _read_bank(folders[recipe]) if folders else {} for recipe in recipes}
    keyed = {corrupted_key(corruption): corruption for corruption in corruptions}
    missing = [key for key in keyed if any(key not in bank for bank in banks.values())]
    if missing:
        _prepare_rooms([keyed[key] for key in missing], recipes[0].sample_rate, n_jobs)
        chunks = [list(chunk) for chunk in np.array_split(np.array(missing, dtype=object), max(1, min(len(missing), 64)))]
        bar = tqdm(total=len(missing), desc="corrupted copies", unit="clip", disable=not config.show_progress(progress))
        new: list = []
        for chunk_result in parallel_map(_extract_corrupted_chunk, [[keyed[key] for key in chunk] for chunk in chunks],
                                         recipes, n_jobs=n_jobs):
            new.extend(chunk_result)
            bar.update(len(chunk_result))
        bar.close()
        for i, recipe in enumerate(recipes):
            results = [row[i] for row in new]
            banks[recipe].update(zip(missing, results))
            if cache_dir is not None:
                _write_shard(folders[recipe], missing, results)
        failed = [row[0] for row in new if isinstance(row[0], str)]
        if failed:
            print(f"{len(failed)} corrupted cop{'y' if len(failed) == 1 else 'ies'} could not be made and are left out:",
                  *failed[:10], *(["..."] if len(failed) > 10 else []), sep="\n  ", file=sys.stderr)
    return banks


def _prepare_rooms(corruptions: list, rate: int, n_jobs: int) -> None:
    """Simulate (and cache) every room the corruptions reverberate in, in parallel, before the workers need them."""
    rooms = {tuple(step[1:]) for corruption in corruptions for step in corruption.steps if step[0] == "reverb"}
    list(parallel_map(_simulate_room, sorted(rooms), rate, n_jobs=n_jobs))


def _simulate_room(room: tuple, rate: int) -> None:
    """Simulate (and cache) the room ``(rt60, index, purpose)``'s impulse response at ``rate``."""
    from .. import augment

    rt60, index, purpose = room
    augment.impulse_response(augment.make_room(float(rt60), int(index), purpose), rate)
