"""Shared fixtures: small real corpora made on the fly, and audio-file writers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

from ser_utils import corpus, synth  # noqa: E402

SHARED_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "ravdess-sample"


def tone(frequency: float = 440.0, seconds: float = 3.5, rate: int = 22050, amplitude: float = 0.3) -> np.ndarray:
    """A pure sine tone."""
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


@pytest.fixture
def write_audio(tmp_path):
    """Write samples to ``tmp_path/name`` (format from the suffix) and return the path."""

    def _write(name: str, samples: np.ndarray, rate: int = 22050) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, samples, rate)
        return path

    return _write


@pytest.fixture(scope="session")
def mini_corpus(tmp_path_factory) -> Path:
    """Four synthetic actors (2 male, 2 female; 240 clips) in RAVDESS layout."""
    root = tmp_path_factory.mktemp("mini_corpus")
    list(synth.render_actors(synth.speaker_voices(seed=7)[:4], root, seed=7))
    return root


@pytest.fixture(scope="session")
def mini_table(mini_corpus):
    """The seed's 10-class labels table of :func:`mini_corpus` (160 clips)."""
    return corpus.build_labels_table(mini_corpus)
