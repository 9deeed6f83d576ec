"""Feature recipes and cached, parallel extraction over a labels table.

A recipe is a small frozen settings object. It is saved beside everything it
produced (feature cache, model metadata), and prediction rebuilds it from there:
the settings are never typed twice.

Every recipe but the seed's reads the *speech* of a clip: leading and trailing
silence trimmed (``trim_db`` below the peak), because RAVDESS speech starts 0.5-1.2 s
into a clip and lasts 1.5-2.5 s, so a fixed window mixes silence and speech.

- :class:`LegacyRecipe`: the seed project's exact feature (216 values per clip).
- :class:`MatrixRecipe`: a time x coefficient matrix (MFCC + deltas, or log-mel) of a
  fixed-length window (for networks): the trimmed speech, zero-padded or cut.
- :class:`StatsRecipe`: mean and standard deviation over the whole trimmed speech of that matrix.
- :class:`OpenSmileRecipe`: openSMILE functionals (eGeMAPSv02, ComParE_2016) of the trimmed speech.
- :class:`ProsodyRecipe`: pitch, energy and speaking rate (for exploration).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm import tqdm

from . import config
from .audio import AudioError, audio_info, fix_length, load_audio, speech_bounds
from .provenance import code_fingerprint
from .storage import atomic_path, remove_leftovers


def window_starts(n_samples: int, window: int, hop: int) -> np.ndarray:
    """Start samples of windows of ``window`` samples every ``hop`` covering ``n_samples``; the last ends at the end."""
    if n_samples <= window:
        return np.array([0])
    starts = np.arange(0, n_samples - window + 1, hop)
    if starts[-1] + window < n_samples:
        starts = np.append(starts, n_samples - window)
    return starts


#: Speech up to this many windows long is read as one window (every RAVDESS clip); longer speech slides.
SINGLE_WINDOW_FACTOR = 2


@dataclass(frozen=True)
class Recipe:
    """Settings shared by every recipe: the rate, the silence trim, and the part of the speech that is read.

    ``duration=None`` reads the whole trimmed speech (pooled features); otherwise a
    window of ``duration`` s from ``offset`` s into the speech, zero-padded if short.
    """

    sample_rate: int = 16000
    offset: float = 0.0
    duration: float | None = None
    res_type: str = "soxr_hq"
    trim_db: float | None = 30.0

    @property
    def n_samples(self) -> int:
        """Samples in one analysis window."""
        return int(round(self.duration * self.sample_rate))

    def window_offset(self, clip_duration: float) -> float:
        """Start of the window in a clip: ``offset``, moved earlier if the window would run past the end."""
        return max(0.0, min(self.offset, clip_duration - self.duration))

    def speech(self, samples: np.ndarray) -> tuple[int, np.ndarray]:
        """(first sample, samples) of the clip without leading and trailing silence (the clip if ``trim_db`` is None)."""
        if self.trim_db is None:
            return 0, samples
        start, stop = speech_bounds(samples, self.trim_db)
        return start, samples[start:stop]

    def segments(self, samples: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """The analysis segments of a whole clip (mono, at :attr:`sample_rate`) with their start samples.

        The whole trimmed speech when ``duration`` is None; one window when the speech is
        up to :data:`SINGLE_WINDOW_FACTOR` windows long (as in training); otherwise
        windows every half window, whose predictions are averaged.
        """
        first, speech = self.speech(samples)
        if self.duration is None:
            return [(first, speech)]
        window = self.n_samples
        if len(speech) <= SINGLE_WINDOW_FACTOR * window:
            start = int(round(self.window_offset(len(speech) / self.sample_rate) * self.sample_rate))
            return [(first + start, fix_length(speech[start : start + window], window))]
        return [(first + start, speech[start : start + window]) for start in window_starts(len(speech), window, window // 2)]

    def load(self, path: str | Path) -> np.ndarray:
        """Read ``path`` whole (as prediction does, so both resample alike) and return its first segment."""
        samples, _ = load_audio(path, sample_rate=self.sample_rate, res_type=self.res_type)
        return self.segments(samples)[0][1]

    def to_dict(self) -> dict:
        """The settings as plain JSON-able values, including the recipe's kind."""
        return {"kind": self.kind, **asdict(self)}

    def from_file(self, path: str | Path) -> np.ndarray:
        """Features of one file (load its first segment, then :meth:`transform`)."""
        return self.transform(self.load(path))


@dataclass(frozen=True)
class LegacyRecipe(Recipe):
    """The seed's feature: ``mean(librosa.feature.mfcc(y, sr=44100, n_mfcc=13), axis=0)``.

    The seed loads 2.5 s from 0.5 s at 44.1 kHz with ``res_type='kaiser_fast'``
    (which needs the ``resampy`` package) and averages the 13 MFCCs of each
    frame into one number: 216 values per clip. Its flaw: averaging *across
    coefficients* throws away the spectral shape that MFCCs exist to describe
    (the mean of a DCT is dominated by c0, the loudness); averaging *over time*
    per coefficient would keep it. Clips shorter than 3 s made the seed fail;
    here the window moves earlier and is zero-padded instead.
    """

    kind = "legacy"
    sample_rate: int = 44100
    offset: float = 0.5
    duration: float | None = 2.5
    res_type: str = "kaiser_fast"
    trim_db: float | None = None
    n_mfcc: int = 13

    def load(self, path: str | Path) -> np.ndarray:
        """The seed's read: cut the window at the file's own rate, then resample (as ``librosa.load`` does)."""
        start = self.window_offset(audio_info(path).duration)
        samples, _ = load_audio(
            path, sample_rate=self.sample_rate, offset=start, duration=self.duration, res_type=self.res_type
        )
        return fix_length(samples, self.n_samples)

    @property
    def shape(self) -> tuple[int, ...]:
        """Output shape per clip: one value per frame (hop 512)."""
        return (1 + self.n_samples // 512,)

    def transform(self, samples: np.ndarray) -> np.ndarray:
        """The seed's 216-value vector of one window."""
        mfcc = librosa.feature.mfcc(y=samples, sr=self.sample_rate, n_mfcc=self.n_mfcc)
        return np.mean(mfcc, axis=0).astype(np.float32)


@dataclass(frozen=True)
class MatrixRecipe(Recipe):
    """A (frames x channels) matrix: ``n_mfcc`` MFCCs (or ``n_mels`` log-mel bands), plus deltas.

    With ``top_db`` set, levels are in dB below the clip's loudest bin and floored ``top_db``
    below it (so zero padding reads as the floor, and the recording level cancels out).

    The default, 40 MFCCs and their deltas on 3 s of trimmed speech at 16 kHz, gives a 94 x 80 matrix.
    """

    kind = "matrix"
    duration: float | None = 3.0
    representation: str = "mfcc"
    n_mfcc: int = 40
    n_mels: int = 64
    n_fft: int = 1024
    hop_length: int = 512
    deltas: bool = True
    top_db: float | None = None

    def __post_init__(self) -> None:
        if self.representation not in ("mfcc", "logmel"):
            raise ValueError(f"representation must be 'mfcc' or 'logmel', not {self.representation!r}")

    @property
    def n_channels(self) -> int:
        """Columns of the matrix: coefficients (or bands), doubled by deltas."""
        return (self.n_mfcc if self.representation == "mfcc" else self.n_mels) * (2 if self.deltas else 1)

    @property
    def shape(self) -> tuple[int, int]:
        """Output shape per clip: (frames, channels)."""
        return (1 + self.n_samples // self.hop_length, self.n_channels)

    def transform(self, samples: np.ndarray) -> np.ndarray:
        """The (frames x channels) matrix of one window."""
        mel = librosa.feature.melspectrogram(
            y=samples, sr=self.sample_rate, n_fft=self.n_fft, hop_length=self.hop_length, n_mels=self.n_mels
        )
        log_mel = (librosa.power_to_db(mel, ref=np.max, top_db=self.top_db) if self.top_db is not None
                   else librosa.power_to_db(mel, ref=1.0, top_db=None))
        coefficients = (
            librosa.feature.mfcc(S=log_mel, n_mfcc=self.n_mfcc) if self.representation == "mfcc" else log_mel
        )
        if self.deltas:
            coefficients = np.vstack([coefficients, librosa.feature.delta(coefficients, width=9, mode="nearest")])
        return coefficients.T.astype(np.float32)


@dataclass(frozen=True)
class StatsRecipe(Recipe):
    """Mean and standard deviation over the whole trimmed speech of a :class:`MatrixRecipe`'s channels."""

    kind = "stats"
    matrix: MatrixRecipe = field(default_factory=lambda: MatrixRecipe(duration=None))

    def __post_init__(self) -> None:
        reading = (self.sample_rate, self.res_type, self.trim_db)
        if reading != (self.matrix.sample_rate, self.matrix.res_type, self.matrix.trim_db):
            raise ValueError("StatsRecipe's rate, resampler and trim must equal those of its matrix recipe")

    @property
    def shape(self) -> tuple[int]:
        """Output shape per clip: 2 x the matrix's channels."""
        return (2 * self.matrix.n_channels,)

    def transform(self, samples: np.ndarray) -> np.ndarray:
        """Mean and std over frames of the matrix of the speech."""
        matrix = self.matrix.transform(samples)
        return np.concatenate([matrix.mean(axis=0), matrix.std(axis=0)]).astype(np.float32)


@dataclass(frozen=True)
class ProsodyRecipe(Recipe):
    """Five prosodic measures of a whole clip (up to ``duration`` s), for exploring the corpus.

    Median pitch (Hz, YIN) and pitch range (10th-90th percentile, semitones) over
    active frames; energy (mean RMS level of active frames, dBFS); speech duration
    (first to last active frame, s); and speaking rate, the statements' 7
    syllables divided by the speech duration. A frame is active when its level is
    above the midpoint, in dB, between the noise floor (10th percentile of the
    non-padded frames) and the peak.
    """

    kind = "prosody"
    offset: float = 0.0
    duration: float | None = 6.0
    trim_db: float | None = None
    frame_length: int = 1024
    hop_length: int = 256
    syllables: int = 7

    columns = ("pitch_hz", "pitch_range_st", "energy_dbfs", "speech_s", "syllables_per_s")

    @property
    def shape(self) -> tuple[int]:
        """One value per measure in :attr:`columns`."""
        return (len(self.columns),)

    def transform(self, samples: np.ndarray) -> np.ndarray:
        """The five measures of one clip."""
        rms = librosa.feature.rms(y=samples, frame_length=self.frame_length, hop_length=self.hop_length)[0]
        level = 20 * np.log10(np.maximum(rms, 1e-10))
        floor = np.percentile(level[rms > 0], 10)  # ignore the zero padding
        active = np.flatnonzero(level > (floor + level.max()) / 2)
        pitch = librosa.yin(samples, fmin=60, fmax=500, sr=self.sample_rate, frame_length=self.frame_length,
                            hop_length=self.hop_length)[active[active < len(level)]]
        low, median, high = np.percentile(pitch, [10, 50, 90])
        speech_s = (active[-1] - active[0] + 1) * self.hop_length / self.sample_rate
        values = [median, 12 * np.log2(high / low), level[active].mean(), speech_s, self.syllables / speech_s]
        return np.array(values, dtype=np.float32)


#: openSMILE feature set -> functionals per clip
OPENSMILE_SIZES = {"eGeMAPSv02": 88, "ComParE_2016": 6373}


@lru_cache(maxsize=None)
def _smile(feature_set: str):
    """One openSMILE extractor per feature set and process (creating one costs about 0.2 s).

    Raises ``RuntimeError`` if TensorFlow was imported first (see ``models/network.py``).
    """
    if "opensmile" not in sys.modules and "tensorflow" in sys.modules:
        raise RuntimeError("openSMILE must be imported before TensorFlow in one process (loaded after it, its native "
                           "library corrupts the heap): import opensmile or ser_utils.models.network first")
    import opensmile

    return opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, feature_set),
                           feature_level=opensmile.FeatureLevel.Functionals)


@dataclass(frozen=True)
class OpenSmileRecipe(Recipe):
    """openSMILE functionals of the trimmed speech: ``eGeMAPSv02`` (88) or ``ComParE_2016`` (6373).

    Uses audEERING's ``opensmile`` package (research licence: free for research and
    education, not for commercial use).
    """

    kind = "opensmile"
    feature_set: str = "eGeMAPSv02"

    def __post_init__(self) -> None:
        if self.feature_set not in OPENSMILE_SIZES:
            raise ValueError(f"unknown openSMILE feature set {self.feature_set!r}; choose one of {sorted(OPENSMILE_SIZES)}")

    @property
    def shape(self) -> tuple[int]:
        """Output shape per clip: the feature set's number of functionals."""
        return (OPENSMILE_SIZES[self.feature_set],)

    def transform(self, samples: np.ndarray) -> np.ndarray:
        """The functionals of the speech (a functional openSMILE cannot compute reads 0)."""
        values = _smile(self.feature_set).process_signal(samples, self.sample_rate).to_numpy()[0]
        return np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)


RECIPES = {"legacy": LegacyRecipe, "matrix": MatrixRecipe, "stats": StatsRecipe, "opensmile": OpenSmileRecipe,
           "prosody": ProsodyRecipe}


def make_recipe(kind: str, **settings) -> Recipe:
    """Build the recipe called ``kind`` (one of :data:`RECIPES`) with ``settings``."""
    if kind not in RECIPES:
        raise ValueError(f"unknown feature recipe {kind!r}; choose one of {sorted(RECIPES)}")
    if kind == "stats" and isinstance(settings.get("matrix"), dict):
        settings["matrix"] = MatrixRecipe(**{k: v for k, v in settings["matrix"].items() if k != "kind"})
    return RECIPES[kind](**settings)


def recipe_from_dict(data: dict) -> Recipe:
    """Rebuild a recipe from :meth:`to_dict` output (as saved with features and models)."""
    settings = {key: value for key, value in data.items() if key != "kind"}
    return make_recipe(data["kind"], **settings)


# --------------------------------------------------------------------------- extraction


@dataclass
class FeatureSet:
    """Features of the clips of a labels table that could be read, and the ones that could not."""

    features: np.ndarray
    table: pd.DataFrame
    failed: list[tuple[str, str]]
    recipe: Recipe
    from_cache: bool = False


def recipe_code(recipe: Recipe) -> str:
    """What computes ``recipe``'s features: the code of its class, of the recipes it holds, and of everything they
    call in this package (:func:`~ser_utils.provenance.code_fingerprint`), and librosa's version. Caches are keyed
    by it: editing other code (a plot, the t-SNE helper) keeps them; editing what computes the features does not."""
    held = [value for value in vars(recipe).values() if isinstance(value, Recipe)]
    return code_fingerprint(type(recipe), *(type(value) for value in held)) + librosa.__version__


def _stamp(path: str) -> str:
    """Size and modification time of a file, or "missing" (deleted or unreadable since labelling: extraction
    reports it): a changed file changes the keys of everything cached from it."""
    try:
        stat = os.stat(path)
        return f"{stat.st_size}\0{stat.st_mtime_ns}"
    except OSError:
        return "missing"


def cache_key(paths: list[str], recipe: Recipe) -> str:
    """Hash of the recipe, the feature code, and each file's path, size and modification time."""
    digest = hashlib.sha256(json.dumps(recipe.to_dict(), sort_keys=True).encode())
    digest.update(recipe_code(recipe).encode())
    for path in paths:
        digest.update(f"{path}\0{_stamp(path)}\n".encode())
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
    jobs = (delayed(_extract_chunk)(chunk, recipe) for chunk in chunks)
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
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


def project_2d(features: np.ndarray, *, seed: int = config.DEFAULT_SEED) -> dict[str, np.ndarray]:
    """Standardise ``features`` and embed them in 2-D with PCA (linear) and t-SNE (neighbourhoods)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from sklearn.preprocessing import StandardScaler

    scaled = StandardScaler().fit_transform(features)
    pca = PCA(n_components=2, random_state=seed).fit(scaled)
    explained = pca.explained_variance_ratio_.sum()
    return {
        f"PCA ({explained:.0%} of variance)": pca.transform(scaled),
        "t-SNE (perplexity 30)": TSNE(n_components=2, perplexity=30, init="pca", random_state=seed).fit_transform(scaled),
    }


# --------------------------------------------------------------------------- corrupted copies


def corrupted_key(corruption) -> str:
    """Cache key of a corrupted clip: the corruption and the state of every file it reads."""
    files = (corruption.path, *corruption.sources)
    return hashlib.sha1(f"{corruption.key()}|{'|'.join(map(_stamp, files))}".encode()).hexdigest()[:20]


def _bank_dir(cache_dir: Path, recipe: Recipe) -> Path:
    """Folder of one recipe's corrupted-clip features: a hash of the recipe, of the code that computes its features
    (:func:`recipe_code`) and of the code that corrupts a clip (:func:`~ser_utils.augment.corrupt_file` and all it
    calls)."""
    from . import augment

    digest = hashlib.sha256(json.dumps(recipe.to_dict(), sort_keys=True).encode())
    digest.update((recipe_code(recipe) + code_fingerprint(augment.corrupt_file)).encode())
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
    from . import augment

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
    folders = {recipe: _bank_dir(Path(cache_dir), recipe) for recipe in recipes} if cache_dir is not None else {}
    banks = {recipe: _read_bank(folders[recipe]) if folders else {} for recipe in recipes}
    keyed = {corrupted_key(corruption): corruption for corruption in corruptions}
    missing = [key for key in keyed if any(key not in bank for bank in banks.values())]
    if missing:
        _prepare_rooms([keyed[key] for key in missing], recipes[0].sample_rate, n_jobs)
        chunks = [list(chunk) for chunk in np.array_split(np.array(missing, dtype=object), max(1, min(len(missing), 64)))]
        jobs = (delayed(_extract_corrupted_chunk)([keyed[key] for key in chunk], recipes) for chunk in chunks)
        bar = tqdm(total=len(missing), desc="corrupted copies", unit="clip", disable=not config.show_progress(progress))
        new: list = []
        for chunk_result in Parallel(n_jobs=n_jobs, return_as="generator")(jobs):
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
    from . import augment

    rooms = {tuple(step[1:]) for corruption in corruptions for step in corruption.steps if step[0] == "reverb"}
    Parallel(n_jobs=n_jobs)(delayed(augment.impulse_response)(augment.make_room(float(rt60), int(index), purpose), rate)
                            for rt60, index, purpose in sorted(rooms))
