"""Corrupted copies of clips: noise, rooms, telephone, codec, gain and length, deterministic for a seed.

A :class:`Corruption` names one clip and a chain of steps, each a tuple ``(kind, value, ...)`` applied by the
:class:`Step` registered under ``kind`` in :data:`STEPS` (adding a kind: one subclass, one line there):

- ``("white" | "pink" | "brown", snr_db)``: coloured Gaussian noise (the ``colorednoise`` package);
- ``("babble", snr_db)``: the sum of the corruption's ``sources``, clips of *other* speakers;
- ``("reverb", rt60_s, room, purpose)``: convolution with the impulse response of room number ``room`` of
  a family (``purpose``: "train" or "study" rooms never coincide), simulated by ``pyroomacoustics``
  (image-source method; the absorption is adjusted until the simulated RT60 matches ``rt60_s``);
- ``("telephone",)``: 300-3400 Hz band (4th-order Butterworth) and the GSM full-rate codec (``pedalboard``);
- ``("codec", vbr_quality)``: MP3 at a variable-bit-rate quality 0 (best) to 10 (``pedalboard``);
- ``("gain", db)``: a level change;
- ``("length", seconds)``: the first ``seconds`` of the speech (silence trimmed as in the features).

The SNR is measured against the *active* speech level (frames within 10 dB of the loudest), so a
clip's leading and trailing silence does not change it. Everything random draws from a generator
seeded by the corruption's ``seed``: the same corruption always gives the same samples.

Two uses: :class:`Augmentation` draws random chains for training clips (babble from the fold's other
training speakers), and :data:`STUDY_CONDITIONS` with :func:`study_corruptions` corrupt test clips,
one condition at a time (babble from the fold's other test clips).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import config
from .audio import load_audio, speech_bounds
from .storage import atomic_path

NOISE_EXPONENTS = {"white": 0, "pink": 1, "brown": 2}
#: Clips summed into one babble noise (fewer if the pool is smaller).
BABBLE_TALKERS = 4
ROOMS_DIR = config.PROCESSED_DIR / "rooms"


@dataclass(frozen=True)
class Corruption:
    """One clip (``path``) and the chain of ``steps`` applied to it, in order."""

    path: str
    steps: tuple[tuple, ...]
    seed: tuple[int, ...]
    sources: tuple[str, ...] = ()

    def key(self) -> str:
        """A short hash that identifies the corrupted clip (for caches)."""
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def clip_seed(seed: int, path: str, *extra: int) -> tuple[int, ...]:
    """Seed words for a clip: the run's seed, a checksum of the path, and any extra words."""
    return (seed, zlib.crc32(str(path).encode()), *extra)


# --------------------------------------------------------------------------- the steps


def speech_power(samples: np.ndarray, frame: int = 256) -> float:
    """Mean power of the active frames: those whose power is within 10 dB of the loudest frame."""
    whole = len(samples) // frame * frame
    frames = samples[:whole].reshape(-1, frame) if whole else samples[None]
    power = np.mean(frames.astype(np.float64) ** 2, axis=1)
    return float(power[power > 0.1 * power.max()].mean()) if power.max() > 0 else 0.0


def mix_at_snr(samples: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``samples`` plus ``noise`` scaled to ``snr_db`` below the active speech level."""
    noise_power = float(np.mean(noise.astype(np.float64) ** 2))
    if noise_power == 0:
        raise ValueError("the noise is silent")
    scale = np.sqrt(speech_power(samples) / (noise_power * 10 ** (snr_db / 10)))
    return (samples + scale * noise).astype(np.float32)


def coloured_noise(colour: str, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with a 1/f^k power spectrum: white (k=0), pink (1) or brown (2)."""
    import colorednoise

    return colorednoise.powerlaw_psd_gaussian(NOISE_EXPONENTS[colour], n_samples, random_state=rng).astype(np.float32)


def babble(sources: list[np.ndarray], n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """The sum of ``sources`` at equal speech levels, each looped to ``n_samples`` from a random start."""
    total = np.zeros(n_samples, dtype=np.float64)
    for source in sources:
        speech = source[slice(*speech_bounds(source))]
        looped = np.tile(speech, int(np.ceil(n_samples / len(speech))) + 1)
        start = int(rng.integers(len(speech)))
        total += looped[start : start + n_samples] / np.sqrt(max(speech_power(speech), 1e-12))
    return total.astype(np.float32)


def telephone(samples: np.ndarray, rate: int) -> np.ndarray:
    """A narrow-band phone line: 300-3400 Hz band-pass, then the GSM 06.10 full-rate codec."""
    import pedalboard
    from scipy.signal import butter, sosfilt

    band = sosfilt(butter(4, [300, 3400], btype="bandpass", fs=rate, output="sos"), samples).astype(np.float32)
    return pedalboard.GSMFullRateCompressor()(band, rate).astype(np.float32)


def mp3(samples: np.ndarray, rate: int, vbr_quality: float) -> np.ndarray:
    """The clip after MP3 encoding and decoding at a variable-bit-rate quality (0 best, 10 worst)."""
    import pedalboard

    return pedalboard.MP3Compressor(vbr_quality=float(vbr_quality))(samples.astype(np.float32), rate)[: len(samples)]


def reverberate(samples: np.ndarray, impulse_response: np.ndarray) -> np.ndarray:
    """The clip convolved with a room impulse response, cut to its length, at its original active level."""
    from scipy.signal import fftconvolve

    wet = fftconvolve(samples, impulse_response)[: len(samples)]
    return (wet * np.sqrt(speech_power(samples) / max(speech_power(wet), 1e-12))).astype(np.float32)


def first_seconds_of_speech(samples: np.ndarray, rate: int, seconds: float) -> np.ndarray:
    """The first ``seconds`` of the clip's speech (leading silence trimmed as the features do)."""
    start, _ = speech_bounds(samples)
    return samples[start : start + int(round(seconds * rate))]


# --------------------------------------------------------------------------- rooms


@dataclass(frozen=True)
class Room:
    """A shoebox room (metres), a talker and a microphone in it, and the reverberation time to reach."""

    rt60: float
    dimensions: tuple[float, float, float]
    source: tuple[float, float, float]
    microphone: tuple[float, float, float]


def make_room(rt60: float, index: int, purpose: str) -> Room:
    """Room ``index`` of a family: sizes and positions drawn from a generator seeded by purpose, RT60 and index.

    Training and study rooms (``purpose`` "train" / "study") never coincide.
    """
    rng = np.random.default_rng([zlib.crc32(purpose.encode()), int(round(rt60 * 1000)), index])
    dimensions = (rng.uniform(5, 9), rng.uniform(4, 7), rng.uniform(2.7, 3.5))
    while True:  # talker and microphone at least 1 m apart, 0.5 m from the walls
        source, microphone = (tuple(rng.uniform(0.5, d - 0.5) for d in dimensions[:2]) + (h,) for h in (1.6, 1.2))
        if np.linalg.norm(np.subtract(source, microphone)) >= 1.0:
            return Room(rt60, tuple(map(float, dimensions)), tuple(map(float, source)), tuple(map(float, microphone)))


def simulate(room: Room, design_rt60: float, rate: int) -> tuple[np.ndarray, float]:
    """(impulse response, its RT60 measured by Schroeder integration) of ``room`` with Sabine absorption for ``design_rt60``."""
    import pyroomacoustics as pra

    absorption, max_order = pra.inverse_sabine(design_rt60, list(room.dimensions))
    shoebox = pra.ShoeBox(list(room.dimensions), fs=rate, materials=pra.Material(absorption), max_order=max_order)
    shoebox.add_source(list(room.source))
    shoebox.add_microphone(list(room.microphone))
    shoebox.compute_rir()
    response = np.asarray(shoebox.rir[0][0], dtype=np.float32)
    return response, float(pra.experimental.measure_rt60(response, fs=rate))


def impulse_response(room: Room, rate: int, *, cache_dir: Path | None = ROOMS_DIR, rounds: int = 3) -> np.ndarray:
    """The room's impulse response, its absorption re-tuned ``rounds`` times so the measured RT60 matches.

    The image-source simulation decays more slowly than Sabine's formula assumes, so the
    design RT60 is scaled by target / measured each round. Cached in ``cache_dir``.
    """
    cache_file = None
    if cache_dir is not None:
        digest = hashlib.sha1(json.dumps([asdict(room), rate, rounds]).encode()).hexdigest()[:16]
        cache_file = Path(cache_dir) / f"room-{digest}.npz"
        if cache_file.exists():
            with np.load(cache_file) as cached:
                return cached["response"]
    design = room.rt60
    for _ in range(rounds):
        response, measured = simulate(room, design, rate)
        design *= room.rt60 / measured
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cache_file) as tmp:
            np.savez(tmp, response=response, measured_rt60=measured)
    return response


@lru_cache(maxsize=64)
def _room_response(rt60: float, index: int, purpose: str, rate: int) -> np.ndarray:
    """:func:`impulse_response` of :func:`make_room`, kept in memory per process."""
    return impulse_response(make_room(rt60, index, purpose), rate)


# --------------------------------------------------------------------------- applying a corruption


class Step:
    """One kind of corruption step, in audiomentations' shape: a subclass per kind with ``apply``, registered in
    :data:`STEPS` under the name a step tuple starts with. Adding a kind is one subclass and one line of
    :data:`STEPS`; the training policy (:class:`Augmentation`) and the study (:data:`STUDY_CONDITIONS`) then name it.
    """

    def apply(self, samples: np.ndarray, rate: int, rng: np.random.Generator, *values, voices) -> np.ndarray:
        """The corrupted clip. ``values`` are the step tuple's values, ``rng`` the corruption's generator (draw from
        it only: the same corruption must give the same samples), ``voices()`` the babble sources' samples."""
        raise NotImplementedError


@dataclass(frozen=True)
class ColouredNoise(Step):
    """``(colour, snr_db)``: white, pink or brown Gaussian noise at ``snr_db`` below the active speech level."""

    colour: str

    def apply(self, samples, rate, rng, snr_db, *, voices):
        return mix_at_snr(samples, coloured_noise(self.colour, len(samples), rng), snr_db)


class Babble(Step):
    """``("babble", snr_db)``: the corruption's other speakers talking at once, ``snr_db`` below the speech."""

    def apply(self, samples, rate, rng, snr_db, *, voices):
        return mix_at_snr(samples, babble(voices(), len(samples), rng), snr_db)


class Reverb(Step):
    """``("reverb", rt60_s, room, purpose)``: the clip heard in a simulated room."""

    def apply(self, samples, rate, rng, rt60, room, purpose, *, voices):
        return reverberate(samples, _room_response(float(rt60), int(room), purpose, rate))


class Telephone(Step):
    """``("telephone",)``: a narrow-band phone line (:func:`telephone`)."""

    def apply(self, samples, rate, rng, *, voices):
        return telephone(samples, rate)


class Codec(Step):
    """``("codec", vbr_quality)``: MP3 encoding and decoding (:func:`mp3`)."""

    def apply(self, samples, rate, rng, vbr_quality, *, voices):
        return mp3(samples, rate, vbr_quality)


class Gain(Step):
    """``("gain", db)``: a level change."""

    def apply(self, samples, rate, rng, db, *, voices):
        return (samples * 10 ** (db / 20)).astype(np.float32)


class Length(Step):
    """``("length", seconds)``: the first ``seconds`` of the speech."""

    def apply(self, samples, rate, rng, seconds, *, voices):
        return first_seconds_of_speech(samples, rate, seconds)


#: Step name -> the :class:`Step` that applies it.
STEPS: dict[str, Step] = {**{colour: ColouredNoise(colour) for colour in NOISE_EXPONENTS}, "babble": Babble(),
                          "reverb": Reverb(), "telephone": Telephone(), "codec": Codec(), "gain": Gain(),
                          "length": Length()}


def apply(corruption: Corruption, samples: np.ndarray, rate: int, sources: list[np.ndarray] | None = None) -> np.ndarray:
    """The corrupted clip: each step of ``corruption`` in order on ``samples`` (mono, at ``rate``), by its
    :data:`STEPS` entry.

    ``sources`` are the babble clips (loaded from :attr:`Corruption.sources` when a step first needs them).
    """
    rng = np.random.default_rng(list(corruption.seed))
    loaded = {"sources": sources}

    def voices() -> list[np.ndarray]:
        if loaded["sources"] is None:
            loaded["sources"] = [load_audio(path, sample_rate=rate)[0] for path in corruption.sources]
        return loaded["sources"]

    out = np.asarray(samples, dtype=np.float32)
    for kind, *values in corruption.steps:
        if kind not in STEPS:
            raise ValueError(f"unknown corruption step {kind!r}; known: {', '.join(STEPS)}")
        out = STEPS[kind].apply(out, rate, rng, *values, voices=voices)
    return out


def corrupt_file(corruption: Corruption, rate: int, res_type: str = "soxr_hq") -> np.ndarray:
    """Load ``corruption.path`` at ``rate`` and apply the corruption."""
    samples, _ = load_audio(corruption.path, sample_rate=rate, res_type=res_type)
    return apply(corruption, samples, rate)


# --------------------------------------------------------------------------- training copies


@dataclass(frozen=True)
class Augmentation:
    """How training clips are corrupted: ``copies`` random chains per clip, added beside the clean clip.

    Each chain: reverberation in one of the training rooms (probability ``p_reverb``), noise at an
    SNR uniform in ``snr_db`` (``p_noise``; white, pink, brown or babble of the fold's other training
    speakers, equally likely), a telephone line (``p_telephone``) or an MP3 codec (``p_codec``), and a
    gain uniform in ``gain_db``; a chain that drew no reverberation, noise or channel gets noise.
    Everything but the babble's sources depends only on the clip, the copy and the seed, so the
    copies of a clip are shared by every fold that trains on it (and by every model, via the cache).
    """

    copies: int = 1
    seed: int = config.DEFAULT_SEED
    snr_db: tuple[float, float] = (0.0, 30.0)
    gain_db: tuple[float, float] = (-6.0, 6.0)
    p_reverb: float = 0.4
    p_noise: float = 0.7
    p_telephone: float = 0.15
    p_codec: float = 0.15
    room_rt60s: tuple[float, ...] = (0.25, 0.45, 0.7, 0.9)
    rooms_per_rt60: int = 3
    noises: tuple[str, ...] = field(default=("white", "pink", "brown", "babble"))

    def chain(self, path: str, copy: int) -> tuple[tuple, ...]:
        """The random steps of copy ``copy`` of the clip at ``path``."""
        rng = np.random.default_rng(list(clip_seed(self.seed, path, copy, 0)))
        steps = []
        if rng.random() < self.p_reverb:
            steps.append(("reverb", float(rng.choice(self.room_rt60s)), int(rng.integers(self.rooms_per_rt60)), "train"))
        noise = rng.random() < self.p_noise
        channel = rng.random()
        if noise or not (steps or channel < self.p_telephone + self.p_codec):
            steps.append((str(rng.choice(self.noises)), round(float(rng.uniform(*self.snr_db)), 2)))
        if channel < self.p_telephone:
            steps.append(("telephone",))
        elif channel < self.p_telephone + self.p_codec:
            steps.append(("codec", round(float(rng.uniform(4, 9.5)), 1)))
        steps.append(("gain", round(float(rng.uniform(*self.gain_db)), 2)))
        return tuple(steps)

    def corruptions(self, table, index, pool_index=None) -> list[Corruption]:
        """Every copy of every clip at positions ``index`` of ``table``; babble from the clips at ``pool_index``
        (default: ``index``) of other speakers than the clip's."""
        pool = table.iloc[index if pool_index is None else pool_index][["path", "actor"]].to_numpy()
        corruptions = []
        for path, actor in table.iloc[index][["path", "actor"]].to_numpy():
            for copy in range(self.copies):
                steps = self.chain(path, copy)
                sources = ()
                if any(step[0] == "babble" for step in steps):
                    sources = babble_sources(pool[pool[:, 1] != actor], salt=zlib.crc32(f"{path}:{copy}".encode()))
                corruptions.append(Corruption(path, steps, clip_seed(self.seed, path, copy, 1), sources))
        return corruptions


def babble_sources(candidates: np.ndarray, salt: int, talkers: int = BABBLE_TALKERS) -> tuple[str, ...]:
    """Paths of ``talkers`` clips among ``candidates`` ((path, actor) rows): actors take turns, one clip each turn.

    Actors, and each actor's clips, are ranked by a hash of ``salt`` and their name: leaving some
    candidates out (another fold's pool) never changes the order of the others, so a clip's
    babble is the same in every fold whose pool holds its first choices (and its copies are cached once).
    """
    if not len(candidates):
        raise ValueError("no clip of another speaker to make babble of")

    def rank(value) -> int:
        return zlib.crc32(f"{salt}:{value}".encode())

    queues = [sorted(candidates[candidates[:, 1] == actor, 0], key=rank)
              for actor in sorted(np.unique(candidates[:, 1]), key=rank)]
    turns = [queue[depth] for depth in range(max(map(len, queues))) for queue in queues if depth < len(queue)]
    return tuple(map(str, turns[:talkers]))


# --------------------------------------------------------------------------- the robustness study

#: Study conditions: name -> (x-axis label, levels, the step that corrupts a clip at a level).
STUDY_CONDITIONS = {
    "white": ("SNR (dB), white noise", (30, 20, 10, 5, 0), lambda level: ("white", level)),
    "pink": ("SNR (dB), pink noise", (30, 20, 10, 5, 0), lambda level: ("pink", level)),
    "babble": ("SNR (dB), babble of other test speakers", (30, 20, 10, 5, 0), lambda level: ("babble", level)),
    "reverb": ("reverberation time RT60 (s)", (0.3, 0.6, 1.0), lambda level: ("reverb", level, 0, "study")),
    "telephone": ("telephone line (300-3400 Hz, GSM codec)", (1,), lambda level: ("telephone",)),
    "length": ("speech length (s)", (2.0, 1.5, 1.0, 0.5), lambda level: ("length", level)),
}
#: Study rooms per RT60: a test clip is heard in one of them.
STUDY_ROOMS = 3


def study_corruptions(table, index, conditions=tuple(STUDY_CONDITIONS), *, seed: int = config.DEFAULT_SEED):
    """(condition, level, corruption) for each test clip at ``index`` and each level of each condition.

    Babble is made of the other clips at ``index`` (test speakers only, never the clip itself);
    a reverberated clip is heard in one of :data:`STUDY_ROOMS` rooms, drawn per clip.
    """
    rows = table.iloc[index]
    pool = rows[["path", "actor"]].to_numpy()
    out = []
    for name in conditions:
        _, levels, make_step = STUDY_CONDITIONS[name]
        for level in levels:
            for path, actor in pool:
                rng = np.random.default_rng(list(clip_seed(seed, path, 2)))
                step = make_step(level)
                if step[0] == "reverb":
                    step = (*step[:2], int(rng.integers(STUDY_ROOMS)), "study")
                sources = babble_sources(pool[pool[:, 0] != path], salt=zlib.crc32(path.encode())) \
                    if step[0] == "babble" else ()
                out.append((name, level, Corruption(path, (step,), clip_seed(seed, path, 3), sources)))
    return out



def showcase(table, path: str, *, rate: int = 16000, seed: int = config.DEFAULT_SEED) -> dict[str, np.ndarray]:
    """The clip at ``path`` clean and under one corruption of each kind (babble from other actors of ``table``)."""
    actor = table.loc[table["path"] == path, "actor"].iloc[0]
    others = table.loc[table["actor"] != actor, ["path", "actor"]].to_numpy()
    examples = {"clean": (), "white noise, 10 dB SNR": (("white", 10.0),), "babble, 10 dB SNR": (("babble", 10.0),),
                "room, RT60 0.6 s": (("reverb", 0.6, 0, "study"),), "telephone line": (("telephone",),),
                "MP3, VBR quality 9": (("codec", 9.0),)}
    sources = babble_sources(others, salt=seed)
    samples, _ = load_audio(path, sample_rate=rate)
    return {name: apply(Corruption(path, steps, clip_seed(seed, path), sources), samples, rate)
            for name, steps in examples.items()}
