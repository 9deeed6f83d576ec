"""Simulated rooms (pyroomacoustics, image sources): each room's impulse response, tuned until its RT60 matches, and
cached on disk."""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .. import config
from ..provenance import code_fingerprint, versions_of
from ..storage import atomic_path


ROOMS_DIR = config.PROCESSED_DIR / "rooms"


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
        code = code_fingerprint(impulse_response) + versions_of("pyroomacoustics", "numpy")  # and the code that tunes it
        digest = hashlib.sha1(json.dumps([asdict(room), rate, rounds, code]).encode()).hexdigest()[:16]
        cache_file = Path(cache_dir) / f"room-{digest}.npz"
        if cache_file.exists():
            with np.load(cache_file, allow_pickle=False) as cached:
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
def room_response(rt60: float, index: int, purpose: str, rate: int) -> np.ndarray:
    """:func:`impulse_response` of :func:`make_room`, kept in memory per process."""
    return impulse_response(make_room(rt60, index, purpose), rate)
