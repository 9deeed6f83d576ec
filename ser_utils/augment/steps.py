"""A corruption (one clip and a chain of steps) and the :class:`Step` that applies each kind of step, registered in
:data:`STEPS`: adding a kind of corruption is one subclass and one line there."""

from __future__ import annotations

import functools
import hashlib
import json
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..audio import load_audio
from ..storage import file_stamp
from .rooms import room_response
from .signals import (NOISE_EXPONENTS, babble, coloured_noise, first_seconds_of_speech, mix_at_snr, mp3, reverberate,
                      telephone)


@dataclass(frozen=True)
class Corruption:
    """One clip (``path``) and the chain of ``steps`` applied to it, in order."""

    path: str
    steps: tuple[tuple, ...]
    seed: tuple[int, ...]
    sources: tuple[str, ...] = ()

    def key(self) -> str:
        """A short hash that identifies the corrupted clip (for caches)."""
        return _corruption_key(self)


@functools.lru_cache(maxsize=1 << 16)
def _corruption_key(corruption: Corruption) -> str:
    """:meth:`Corruption.key`, remembered: a training asks for each copy's key once per fold and model."""
    return hashlib.sha1(json.dumps(asdict(corruption), sort_keys=True).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1 << 16)
def clip_identity(path) -> str:
    """A clip's name within its actor's folder (``Actor_01/03-01-05-01-01-01-01.wav``): what its draws are seeded
    by, so that a corpus gives the same copies (and the same report) wherever it lives on the disk. Remembered:
    planning a corpus's copies asks for each clip's identity hundreds of times (babble ranks every candidate)."""
    return "/".join(Path(str(path)).parts[-2:])


def clip_seed(seed: int, path: str, *extra: int) -> tuple[int, ...]:
    """Seed words for a clip: the run's seed, a checksum of :func:`clip_identity`, and any extra words."""
    return (seed, zlib.crc32(clip_identity(path).encode()), *extra)


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
        return mix_at_snr(samples, babble(voices(), rate, len(samples), rng), snr_db)


class Reverb(Step):
    """``("reverb", rt60_s, room, purpose)``: the clip heard in a simulated room."""

    def apply(self, samples, rate, rng, rt60, room, purpose, *, voices):
        return reverberate(samples, room_response(float(rt60), int(room), purpose, rate))


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
            loaded["sources"] = [babble_voice(path, rate, file_stamp(path)) for path in corruption.sources]
        return loaded["sources"]

    out = np.asarray(samples, dtype=np.float32)
    for kind, *values in corruption.steps:
        if kind not in STEPS:
            raise ValueError(f"unknown corruption step {kind!r}; known: {', '.join(STEPS)}")
        out = STEPS[kind].apply(out, rate, rng, *values, voices=voices)
    return out


@functools.lru_cache(maxsize=256)
def babble_voice(path: str, rate: int, stamp: str) -> np.ndarray:
    """The clip at ``path`` at ``rate``, read-only, remembered while its ``stamp`` (size and modification time:
    :func:`~ser_utils.storage.file_stamp`) holds: a worker making corrupted copies reads the same babble talkers
    again and again (the last 256: 4 s clips take 60 MB at 16 kHz, 170 MB at 44.1 kHz)."""
    samples = load_audio(path, sample_rate=rate)[0]
    samples.flags.writeable = False
    return samples


def corrupt_file(corruption: Corruption, rate: int, res_type: str = "soxr_hq") -> np.ndarray:
    """Load ``corruption.path`` at ``rate`` and apply the corruption."""
    samples, _ = load_audio(corruption.path, sample_rate=rate, res_type=res_type)
    return apply(corruption, samples, rate)
