"""The built-in corpus: synthetic speech in RAVDESS's design and naming, made offline.

Each of 12 speakers (odd = male, even = female) has a voice of its own (eSpeak NG
variant, pitch, pitch range, speaking rate, timbre, expressiveness). Each emotion
shifts prosody the way the acoustic literature on vocal emotion describes
(Scherer 2003; Banse & Scherer 1996): anger louder, faster, higher and wider in
pitch with a flatter spectral tilt; fear high, fast and irregular in pitch;
happiness high and wide; sadness low, slow, narrow and quiet; calm slow, soft and
low. Strong intensity exaggerates the shift. Random variation per clip and
background noise make the classes overlap.

The speech comes from eSpeak NG (GPL-3.0), loaded at run time from the
``espeakng-loader`` package; nothing of it is vendored. Every clip is SYNTHETIC.
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter
from tqdm import tqdm

from . import config
from .storage import atomic_path, read_json, write_json

GENERATOR_VERSION = 2
MANIFEST_NAME = "corpus.json"
SPEECH_RMS_DBFS = -24.0
_ESPEAK_RATE, _ESPEAK_PITCH, _ESPEAK_RANGE = 1, 3, 4
_SYNCHRONOUS, _DONT_EXIT, _CHARS_UTF8 = 2, 0x8000, 1


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker: eSpeak variant plus its own pitch, range, rate and timbre."""

    actor: int
    variant: str
    pitch: float
    pitch_range: float
    rate: float
    tilt: float
    expressiveness: float


@dataclass(frozen=True)
class Prosody:
    """How an emotion moves a voice: factors multiply, shifts add (at normal intensity)."""

    rate: float = 1.0
    pitch: float = 0.0
    pitch_range: float = 1.0
    gain_db: float = 0.0
    tilt: float = 0.0
    jitter: float = 0.01


EMOTION_PROSODY = {
    "neutral": Prosody(),
    "calm": Prosody(rate=0.92, pitch=-4, pitch_range=0.85, gain_db=-3, tilt=-0.3),
    "happy": Prosody(rate=1.06, pitch=8, pitch_range=1.35, gain_db=2, tilt=0.2),
    "sad": Prosody(rate=0.84, pitch=-7, pitch_range=0.6, gain_db=-5, tilt=-0.5),
    "angry": Prosody(rate=1.12, pitch=6, pitch_range=1.3, gain_db=5, tilt=0.6),
    "fearful": Prosody(rate=1.15, pitch=11, pitch_range=1.1, gain_db=1, tilt=0.1, jitter=0.05),
    "disgust": Prosody(rate=0.88, pitch=-3, pitch_range=1.15, tilt=-0.1, jitter=0.02),
    "surprised": Prosody(rate=1.0, pitch=13, pitch_range=1.5, gain_db=3, tilt=0.3),
}
STRONG_EXAGGERATION = 1.8


class ESpeak:
    """A minimal ctypes binding to eSpeak NG: one instance per process."""

    _instance: "ESpeak | None" = None

    def __init__(self) -> None:
        import espeakng_loader

        self._lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
        self._libc = ctypes.CDLL(None)
        data_path = espeakng_loader.get_data_path().encode()
        self.sample_rate = self._lib.espeak_Initialize(_SYNCHRONOUS, 500, data_path, _DONT_EXIT)
        if self.sample_rate <= 0:
            raise RuntimeError(f"eSpeak NG failed to initialise (data path {data_path!r})")
        self._chunks: list[np.ndarray] = []
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
        self._callback = callback_type(self._collect)
        self._lib.espeak_SetSynthCallback(self._callback)

    @classmethod
    def shared(cls) -> "ESpeak":
        """Return this process's engine, initialising it on first use."""
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def _collect(self, wav, n_samples, _events) -> int:
        if n_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
        return 0

    def speak(self, text: str, *, variant: str, rate: float, pitch: float, pitch_range: float, seed: int) -> np.ndarray:
        """Synthesise ``text`` and return float32 samples in [-1, 1] at :attr:`sample_rate`.

        ``seed`` seeds eSpeak's random source and libc's ``rand`` (breath noise of some variants).
        """
        if self._lib.espeak_SetVoiceByName(f"en-us+{variant}".encode()) != 0:
            raise ValueError(f"eSpeak NG has no voice variant {variant!r}")
        for parameter, value, low, high in (
            (_ESPEAK_RATE, rate, 80, 450), (_ESPEAK_PITCH, pitch, 0, 99), (_ESPEAK_RANGE, pitch_range, 0, 99)
        ):
            self._lib.espeak_SetParameter(parameter, int(np.clip(round(value), low, high)), 0)
        self._chunks = []
        self._lib.espeak_ng_SetRandSeed(seed)
        self._libc.srand(seed)
        encoded = text.encode()
        self._lib.espeak_Synth(encoded, len(encoded) + 1, 0, 1, 0, _CHARS_UTF8, None, None)
        self._lib.espeak_Synchronize()
        return np.concatenate(self._chunks).astype(np.float32) / 32768.0


def speaker_voices(seed: int = config.DEFAULT_SEED, n_actors: int = config.SYNTHETIC_ACTORS) -> list[Voice]:
    """Return the voices of actors 1 to ``n_actors``, deterministic for ``seed`` (actor k's voice is the same
    whatever ``n_actors``: a 24-actor corpus holds the 12-actor one)."""
    rng = np.random.default_rng([seed, 0])
    male_variants = itertools.cycle(f"m{i}" for i in rng.permutation(np.arange(1, 8)))
    female_variants = itertools.cycle(f"f{i}" for i in rng.permutation(np.arange(1, 6)))
    voices = []
    for actor in range(1, n_actors + 1):
        male = actor % 2 == 1
        voices.append(Voice(
            actor=actor,
            variant=next(male_variants if male else female_variants),
            pitch=rng.uniform(28, 45) if male else rng.uniform(52, 72),
            pitch_range=rng.uniform(40, 62),
            rate=rng.uniform(150, 185),
            tilt=rng.uniform(-0.25, 0.25),
            expressiveness=rng.uniform(0.55, 1.3),
        ))
    return voices


def clip_prosody(voice: Voice, emotion: str, intensity: str, rng: np.random.Generator) -> dict[str, float]:
    """Combine voice, emotion, intensity and random per-clip variation into synthesis settings."""
    shift = EMOTION_PROSODY[emotion]
    strength = voice.expressiveness * (STRONG_EXAGGERATION if intensity == "strong" else 1.0)
    return {
        "rate": voice.rate * shift.rate**strength * rng.normal(1.0, 0.06),
        "pitch": voice.pitch + shift.pitch * strength + rng.normal(0, 4),
        "pitch_range": voice.pitch_range * shift.pitch_range**strength * rng.normal(1.0, 0.15),
        "gain_db": shift.gain_db * strength + rng.normal(0, 2),
        "tilt": float(np.clip(voice.tilt + shift.tilt * strength + rng.normal(0, 0.2), -0.9, 0.9)),
        "jitter": shift.jitter * strength,
    }


def _smooth_noise(n_samples: int, sample_rate: int, step_s: float, rng: np.random.Generator) -> np.ndarray:
    """Random values every ``step_s`` seconds, linearly interpolated to ``n_samples``."""
    n_knots = max(2, int(n_samples / (step_s * sample_rate)) + 2)
    knots = rng.normal(0.0, 1.0, n_knots)
    return np.interp(np.arange(n_samples), np.linspace(0, n_samples, n_knots), knots)


def pitch_jitter(speech: np.ndarray, depth: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Irregular pitch: play ``speech`` back at a smoothly, randomly varying speed (about +-depth)."""
    speed = 1.0 + depth * _smooth_noise(len(speech), sample_rate, 0.06, rng)
    positions = np.cumsum(np.clip(speed, 0.5, 1.5))
    positions = positions[positions < len(speech) - 1]
    return np.interp(positions, np.arange(len(speech)), speech).astype(np.float32)


def spectral_tilt(speech: np.ndarray, tilt: float) -> np.ndarray:
    """Flatten (``tilt`` > 0, brighter) or steepen (< 0, darker) the spectrum, keeping the RMS."""
    if tilt > 0:
        filtered = lfilter([1.0, -0.95], [1.0], speech)
    else:
        filtered = lfilter([0.15], [1.0, -0.85], speech)
    mixed = (1 - abs(tilt)) * speech + abs(tilt) * filtered
    return (mixed * _rms(speech) / max(_rms(mixed), 1e-9)).astype(np.float32)


def _rms(signal: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(signal, dtype=np.float64))))


def _place_in_clip(speech: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Put speech after 0.45-1.0 s of leading silence in a clip of about 3-5 s, like RAVDESS."""
    lead = int(rng.uniform(0.45, 1.0) * sample_rate)
    trail = int(rng.uniform(0.6, 1.3) * sample_rate)
    length = max(lead + len(speech) + trail, int(rng.uniform(3.0, 3.6) * sample_rate))
    clip = np.zeros(length, dtype=np.float32)
    clip[lead : lead + len(speech)] = speech
    return clip


def background_noise(n_samples: int, rms: float, rng: np.random.Generator) -> np.ndarray:
    """Coloured (low-passed white) noise with the given RMS: the room and the microphone."""
    noise = lfilter([1.0], [1.0, -0.7], rng.normal(0.0, 1.0, n_samples))
    return (noise * rms / _rms(noise)).astype(np.float32)


def render_clip(text: str, voice: Voice, emotion: str, intensity: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Synthesise one clip; return float32 samples and the sample rate."""
    engine = ESpeak.shared()
    settings = clip_prosody(voice, emotion, intensity, rng)
    speech = engine.speak(
        text, variant=voice.variant, rate=settings["rate"], pitch=settings["pitch"],
        pitch_range=settings["pitch_range"], seed=int(rng.integers(2**31)),
    )
    speech = pitch_jitter(speech, settings["jitter"], engine.sample_rate, rng)
    speech = spectral_tilt(speech, settings["tilt"])
    level = 10 ** (SPEECH_RMS_DBFS / 20)
    speech *= level * 10 ** (settings["gain_db"] / 20) / max(_rms(speech), 1e-9)
    clip = _place_in_clip(speech, engine.sample_rate, rng)
    snr_db = rng.uniform(12, 30)
    clip += background_noise(len(clip), level / 10 ** (snr_db / 20), rng)
    return np.clip(clip, -1.0, 1.0), engine.sample_rate


def design() -> list[dict]:
    """RAVDESS's speech design for one actor: 8 emotions x 2 intensities (neutral: normal only) x 2 x 2."""
    rows = []
    for emotion_code, emotion in config.EMOTIONS.items():
        for intensity_code in (1,) if emotion == "neutral" else (1, 2):
            for statement, repetition in itertools.product((1, 2), (1, 2)):
                rows.append({
                    "emotion_code": emotion_code, "emotion": emotion,
                    "intensity_code": intensity_code, "intensity": config.INTENSITIES[intensity_code],
                    "statement": statement, "repetition": repetition,
                })
    return rows


def clip_name(row: dict, actor: int) -> str:
    """The RAVDESS file name of one design row: ``03-01-EE-II-SS-RR-AA.wav``."""
    codes = (3, 1, row["emotion_code"], row["intensity_code"], row["statement"], row["repetition"], actor)
    return "-".join(f"{code:02d}" for code in codes) + ".wav"


def render_actor(voice: Voice, out_dir: Path, seed: int) -> int:
    """Write the 60 clips of one actor into ``out_dir/Actor_XX``; return how many were written."""
    folder = out_dir / f"Actor_{voice.actor:02d}"
    for row in design():
        rng = np.random.default_rng(
            [seed, voice.actor, row["emotion_code"], row["intensity_code"], row["statement"], row["repetition"]]
        )
        samples, sample_rate = render_clip(config.STATEMENTS[row["statement"]], voice, row["emotion"], row["intensity"], rng)
        with atomic_path(folder / clip_name(row, voice.actor)) as tmp:
            sf.write(tmp, samples, sample_rate, subtype="PCM_16", format="WAV")
    return len(design())


def render_actors(voices: list[Voice], out_dir: Path, seed: int, *, n_jobs: int = -1):
    """Render each actor in a fresh process; yield the number of clips written per actor, in completion order.

    eSpeak NG keeps state in static variables between utterances (its pitch "flutter"
    phase, for one), so a clip depends on everything the process synthesised before it.
    One fresh process per actor (forked from a server that has imported this module but
    not started eSpeak), rendering its clips in a fixed order with seeded noise, makes
    every file depend only on the seed, whatever the scheduling.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    workers = os.cpu_count() if n_jobs == -1 else n_jobs
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, max_tasks_per_child=1) as pool:
        futures = [pool.submit(render_actor, voice, out_dir, seed) for voice in voices]
        for future in as_completed(futures):
            yield future.result()


def manifest(seed: int, n_actors: int = config.SYNTHETIC_ACTORS) -> dict:
    """What identifies a built corpus: if any of it changes, the corpus is rebuilt."""
    return {
        "synthetic": True,
        "description": "SYNTHETIC speech (eSpeak NG) in RAVDESS's design and naming; not real emotional speech",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "n_actors": n_actors,
        "n_files": n_actors * len(design()),
        "emotion_prosody": {name: asdict(p) for name, p in EMOTION_PROSODY.items()},
    }


def is_built(out_dir: str | Path, seed: int = config.DEFAULT_SEED, n_actors: int = config.SYNTHETIC_ACTORS) -> bool:
    """True if ``out_dir`` holds a complete corpus of ``n_actors`` built with this generator and ``seed``."""
    manifest_path = Path(out_dir) / MANIFEST_NAME
    if not manifest_path.exists():
        return False
    expected = manifest(seed, n_actors)
    recorded = read_json(manifest_path)
    if any(recorded.get(key) != expected[key] for key in ("generator_version", "seed", "n_actors", "n_files")):
        return False
    return len(list(Path(out_dir).glob("Actor_*/*.wav"))) == expected["n_files"]


def built_size(out_dir: str | Path, seed: int = config.DEFAULT_SEED) -> int | None:
    """How many actors the complete corpus built in ``out_dir`` for ``seed`` has, or None if there is none."""
    manifest_path = Path(out_dir) / MANIFEST_NAME
    if not manifest_path.exists():
        return None
    n_actors = read_json(manifest_path).get("n_actors")
    return n_actors if isinstance(n_actors, int) and is_built(out_dir, seed, n_actors) else None


def build_synthetic_corpus(
    out_dir: str | Path = config.SYNTHETIC_DIR, *, seed: int = config.DEFAULT_SEED,
    n_actors: int = config.SYNTHETIC_ACTORS, n_jobs: int = -1, force: bool = False,
) -> Path:
    """Build the synthetic corpus of ``n_actors`` (60 clips each; 12 by default, 24 for RAVDESS's full size) in
    ``out_dir``, skipped if already built for ``seed`` and that size.

    The manifest ``corpus.json`` is written last, so an interrupted build is redone; actor folders
    of an earlier build of this generator (another size or seed) are removed first.
    """
    out_dir = Path(out_dir)
    check_actor_count(n_actors)
    if is_built(out_dir, seed, n_actors) and not force:
        return out_dir
    refuse_foreign_files(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / BUILD_MARKER).touch()
    (out_dir / MANIFEST_NAME).unlink(missing_ok=True)
    for stale in out_dir.glob("Actor_*"):
        shutil.rmtree(stale)
    voices = speaker_voices(seed, n_actors)
    written = render_actors(voices, out_dir, seed, n_jobs=n_jobs)
    total = sum(tqdm(written, total=len(voices), desc="synthesising actors", unit="actor"))
    record = manifest(seed, n_actors) | {"sample_rate": ESpeak.shared().sample_rate, "files_written": total}
    write_json(out_dir / MANIFEST_NAME, record)
    return out_dir


def check_actor_count(n_actors: int) -> None:
    """Raise a ``ValueError`` unless ``n_actors`` is a size the corpus can have
    (:func:`~ser_utils.config.is_synthetic_corpus_size`)."""
    if not config.is_synthetic_corpus_size(n_actors):
        low, high = config.SYNTHETIC_ACTORS_RANGE
        raise ValueError(f"{n_actors!r} actors: the synthetic corpus has an even number of actors (as many men as "
                         f"women) from {low} to {high}")


#: Written before a build starts, so that an interrupted build is known to be this project's.
BUILD_MARKER = ".ser-synthetic-build"


def refuse_foreign_files(out_dir: Path) -> None:
    """Raise an ``OSError`` naming ``out_dir`` unless a build may write there: it is missing, empty, or a corpus
    this project built that holds nothing but what the synthesiser writes.

    A build deletes the actor folders it finds, and real recordings (RAVDESS itself) or anything else a
    user keeps there must never be lost. A folder is known to be this project's by :data:`BUILD_MARKER`,
    or, for a build by an older version (written before the marker), by its manifest.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a folder (give a folder for the corpus)", str(out_dir))
    if not out_dir.exists() or not any(out_dir.iterdir()):
        return
    foreign = next((entry for entry in out_dir.rglob("*") if not _synthesiser_writes(entry.relative_to(out_dir))), None)
    if foreign:
        raise FileExistsError(f"{out_dir}: holds {foreign.relative_to(out_dir)}, which this project did not "
                              "synthesise; refusing to build the corpus there (a build replaces what it finds). "
                              "Choose an empty folder.")
    if not ((out_dir / BUILD_MARKER).exists() or is_synthetic(out_dir)):
        raise FileExistsError(f"{out_dir}: holds Actor_XX audio that this project did not synthesise (a real corpus?); "
                              "refusing to write synthetic clips over it. Choose an empty folder (or delete this one "
                              "if it is an interrupted synthetic build).")


def _synthesiser_writes(relative: Path) -> bool:
    """True if ``relative`` (a path inside a corpus folder) is something a build writes: the manifest, the marker,
    an ``Actor_XX`` folder, one of that actor's clips, or what an interrupted write of one of them left."""
    actor = re.fullmatch(r"Actor_(\d\d)", relative.parts[0])
    if len(relative.parts) == 1:
        return bool(actor) or _written_as(relative.name, {MANIFEST_NAME, BUILD_MARKER})
    return (len(relative.parts) == 2 and bool(actor)
            and _written_as(relative.name, {clip_name(row, int(actor[1])) for row in design()}))


def _written_as(name: str, names: set[str]) -> bool:
    """True if ``name`` is one of ``names``, or the temporary file of an interrupted atomic write of one."""
    return name in names or any(name.startswith(f".{own}.") for own in names)


def is_synthetic(data_dir: str | Path) -> bool:
    """True if ``data_dir`` is a corpus this module built (its manifest says so)."""
    manifest_path = Path(data_dir) / MANIFEST_NAME
    return manifest_path.exists() and bool(read_json(manifest_path).get("synthetic"))
