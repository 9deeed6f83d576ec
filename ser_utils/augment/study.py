"""The robustness study: test clips corrupted one condition at a time (:data:`STUDY_CONDITIONS`), and notebook 03's
showcase of one clip under each kind of corruption."""

from __future__ import annotations

import zlib

import numpy as np

from .. import config
from ..audio import load_audio
from .policy import babble_sources
from .steps import Corruption, apply, clip_identity, clip_seed


#: Study conditions: name -> (x-axis label, levels, the step that corrupts a clip at a level).
STUDY_CONDITIONS = {
    "white": ("SNR (dB), white noise", (30, 20, 10, 5, 0), lambda level: ("white", level)),
    "pink": ("SNR (dB), pink noise", (30, 20, 10, 5, 0), lambda level: ("pink", level)),
    "babble": ("SNR (dB), babble of the fold's other test clips", (30, 20, 10, 5, 0), lambda level: ("babble", level)),
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
                sources = babble_sources(pool[pool[:, 0] != path], salt=zlib.crc32(clip_identity(path).encode())) \
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
