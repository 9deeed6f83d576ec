"""Feature recipes: small frozen settings objects, each knowing how to turn a clip into its features.

A recipe is saved beside everything it produced (feature cache, model metadata), and prediction rebuilds it from
there: the settings are never typed twice. Every recipe but the seed's reads the *speech* of a clip, because RAVDESS
speech starts 0.5-1.2 s into a clip and lasts 1.5-2.5 s, so a fixed window mixes silence and speech: from the first
to the last frame a voice-activity detector hears as speech (``speech_finder="vad"``), or without what lies
``trim_db`` below the peak (``"level"``, which keeps a noisy clip whole; :func:`~ser_utils.audio.speech_bounds`).
"""

from __future__ import annotations

import numbers
import sys
import threading
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import librosa
import numpy as np

from .. import spectral
from ..audio import SPEECH_FINDERS, audio_info, load_audio, speech_bounds


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
    """Settings shared by every recipe: the rate, how the speech is found, and the part of the speech that is read.

    ``duration=None`` reads the whole speech (pooled features); otherwise a window of ``duration`` s from
    ``offset`` s into the speech, zero-padded if short. ``trim_db=None`` reads the clip whole.
    """

    sample_rate: int = 16000
    offset: float = 0.0
    duration: float | None = None
    res_type: str = "soxr_hq"
    trim_db: float | None = 30.0
    speech_finder: str = "vad"

    def __post_init__(self) -> None:
        if isinstance(self.sample_rate, bool) or not isinstance(self.sample_rate, numbers.Integral) or self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive whole number of Hz, not {self.sample_rate!r}")
        if self.speech_finder not in SPEECH_FINDERS:
            raise ValueError(f"unknown speech finder {self.speech_finder!r}; choose one of {SPEECH_FINDERS}")

    @property
    def n_samples(self) -> int:
        """Samples in one analysis window."""
        return int(round(self.duration * self.sample_rate))

    def window_offset(self, clip_duration: float) -> float:
        """Start of the window in a clip: ``offset``, moved earlier if the window would run past the end."""
        return max(0.0, min(self.offset, clip_duration - self.duration))

    def speech(self, samples: np.ndarray) -> tuple[int, np.ndarray]:
        """(first sample, samples) of the clip's speech (the clip if ``trim_db`` is None)."""
        if self.trim_db is None:
            return 0, samples
        start, stop = speech_bounds(samples, self.sample_rate, finder=self.speech_finder, top_db=self.trim_db)
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
            return [(first + start, spectral.fix_length(speech[start : start + window], window))]
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
        return spectral.fix_length(samples, self.n_samples)

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
        super().__post_init__()
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
        mel = spectral.melspectrogram(samples, sample_rate=self.sample_rate, n_fft=self.n_fft,
                                      hop_length=self.hop_length, n_mels=self.n_mels)
        log_mel = spectral.power_to_db(mel, top_db=self.top_db)
        coefficients = spectral.mfcc(log_mel, self.n_mfcc) if self.representation == "mfcc" else log_mel
        if self.deltas:
            coefficients = np.vstack([coefficients, spectral.delta(coefficients, width=9)])
        return coefficients.T.astype(np.float32)


@dataclass(frozen=True)
class StatsRecipe(Recipe):
    """Mean and standard deviation over the whole trimmed speech of a :class:`MatrixRecipe`'s channels."""

    kind = "stats"
    matrix: MatrixRecipe = field(default_factory=lambda: MatrixRecipe(duration=None))

    def __post_init__(self) -> None:
        super().__post_init__()
        reading = (self.sample_rate, self.res_type, self.trim_db, self.speech_finder)
        if reading != (self.matrix.sample_rate, self.matrix.res_type, self.matrix.trim_db, self.matrix.speech_finder):
            raise ValueError("StatsRecipe's rate, resampler and speech finder must equal those of its matrix recipe")

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


#: A lock per openSMILE feature set: the ensemble's members extract side by side in threads (each set's extractor is
#: shared by every member that reads that set).
_SMILE_LOCKS = {name: threading.Lock() for name in OPENSMILE_SIZES}


class SmileExtractor:
    """One openSMILE extractor of a feature set's functionals at one sample rate, set up once and reset between clips.

    ``opensmile.Smile.process_signal`` parses the configuration and builds openSMILE's components anew for every clip;
    openSMILE's API resets a finished run so that it can run again, which gives the same functionals to the bit
    (``tests/test_features.py``) and saves 5-6 ms of the ~40 that a 3 s clip costs for either set (the reset itself is
    about a quarter of what is left). The package's own ``Smile`` object still supplies the configuration and options,
    so nothing of them is written here.
    """

    def __init__(self, feature_set: str, sample_rate: int):
        import opensmile
        from opensmile.core.config import config as paths

        self._smile = opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, feature_set),
                                      feature_level=opensmile.FeatureLevel.Functionals)
        self._paths, self.sample_rate, self._running = paths, sample_rate, None

    def _runner(self):
        """A configured openSMILE instance: the one the last clip left reset, else a new one."""
        if self._running is None:
            options = self._smile._options() | {"sampleRate": self.sample_rate, "nBits": 16, "source": str(
                Path(self._smile.default_config_root) / self._paths.EXTERNAL_INPUT_CONFIG)}
            return self._smile._smile(options=options)
        runner, self._running = self._running, None  # held back until this clip is through it
        runner._callbacks.clear()  # the last clip's sink callback, which its reset unregistered
        return runner

    def functionals(self, samples: np.ndarray) -> np.ndarray:
        """The functionals of mono ``samples`` at :attr:`sample_rate` (NaN where the clip is too short for any).

        An error or an interrupt midway frees the instance: the next clip gets a new one, never a half-run one.
        """
        values: list = []
        runner = self._runner()
        try:
            runner.external_sink_set_callback_ex(self._paths.EXTERNAL_OUTPUT_COMPONENT,
                                                 self._smile._sink_callback(values, [], []))
            # scaled in the clip's own precision, as the package does
            runner.external_audio_source_write_data(self._paths.EXTERNAL_SOURCE_COMPONENT,
                                                    bytes((np.asarray(samples) * 32768).astype(np.int16)))
            runner.external_audio_source_set_eoi(self._paths.EXTERNAL_SOURCE_COMPONENT)
            runner.run()
            runner.reset()
        except BaseException:
            runner.free()
            raise
        self._running = runner
        return values[0].reshape(-1) if values else np.full(self._smile.num_features, np.nan)


@lru_cache(maxsize=None)
def _smile(feature_set: str, sample_rate: int) -> SmileExtractor:
    """One openSMILE extractor per feature set, sample rate and process (creating one costs about 0.2 s).

    Raises ``RuntimeError`` if TensorFlow was imported first (see ``models/network.py``).
    """
    if "opensmile" not in sys.modules and "tensorflow" in sys.modules:
        raise RuntimeError("openSMILE must be imported before TensorFlow in one process (loaded after it, its native "
                           "library corrupts the heap): import opensmile or ser_utils.models.network first")
    return SmileExtractor(feature_set, sample_rate)


@dataclass(frozen=True)
class OpenSmileRecipe(Recipe):
    """openSMILE functionals of the trimmed speech: ``eGeMAPSv02`` (88) or ``ComParE_2016`` (6373).

    Uses audEERING's ``opensmile`` package (research licence: free for research and
    education, not for commercial use).
    """

    kind = "opensmile"
    feature_set: str = "eGeMAPSv02"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.feature_set not in OPENSMILE_SIZES:
            raise ValueError(f"unknown openSMILE feature set {self.feature_set!r}; choose one of {sorted(OPENSMILE_SIZES)}")

    @property
    def shape(self) -> tuple[int]:
        """Output shape per clip: the feature set's number of functionals."""
        return (OPENSMILE_SIZES[self.feature_set],)

    def transform(self, samples: np.ndarray) -> np.ndarray:
        """The functionals of the speech (a functional openSMILE cannot compute reads 0)."""
        with _SMILE_LOCKS[self.feature_set]:  # one extractor per set, rate and process: one clip through it at a time
            values = _smile(self.feature_set, self.sample_rate).functionals(samples)
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
    """Rebuild a recipe from :meth:`to_dict` output (as saved with features and models). A recipe saved before
    recipes named their speech finder found the speech by its level."""
    settings = _saved_speech_finder({key: value for key, value in data.items() if key != "kind"})
    return make_recipe(data["kind"], **settings)


def _saved_speech_finder(settings: dict) -> dict:
    """``settings`` (and those of the matrix recipe they hold) with ``speech_finder="level"`` where a recipe that
    trims was saved before recipes named their speech finder."""
    if settings.get("trim_db") is not None:
        settings = {"speech_finder": "level"} | settings
    if isinstance(settings.get("matrix"), dict):
        settings["matrix"] = _saved_speech_finder(settings["matrix"])
    return settings
