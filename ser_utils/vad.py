"""Where the speech is: a trained voice-activity detector (Silero VAD), run by ONNX Runtime.

Trimming at a level below the clip's peak finds speech in a quiet studio and fails in noise, where the noise is
within that level of the peak. Silero VAD (MIT licence) gives a speech probability per 32 ms frame: about 0.9 in
white noise at 10 dB and 0 dB, under 0.1 on silence. Its model file ships inside the ``silero-vad`` wheel, which is
installed without its declared dependency (torch) and never imported (its package imports torch): the file is
found through the package's import spec and run with ONNX Runtime alone, offline. The batched ("sequence") model
runs a whole clip in one call per 16 s, with the same per-frame probabilities as the streaming model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np
import soxr

from .onnx_sessions import inference_session

#: The detector's sample rate, frame and the previous frame's tail that each frame is read with (samples).
RATE, FRAME, CONTEXT = 16000, 512, 64
#: Frames per ONNX call (about 16 s); the recurrent state carries over between calls.
BLOCK_FRAMES = 512
#: Model file inside the installed ``silero_vad`` package.
MODEL_FILE = "data/silero_vad_16k_sequence.onnx"
#: A frame is speech at or above this probability (Silero's default).
THRESHOLD = 0.5
#: Kept around the first and last speech frame (Silero's default ``speech_pad_ms``).
PAD_S = 0.03


class VadUnavailable(OSError):
    """The detector's model file is not installed (an environment problem, reported like a missing file)."""


def model_path() -> Path:
    """The ONNX file inside the installed ``silero-vad`` package (found without importing the package)."""
    spec = importlib.util.find_spec("silero_vad")
    path = Path(spec.submodule_search_locations[0], MODEL_FILE) if spec and spec.submodule_search_locations else None
    if path is None or not path.is_file():
        raise VadUnavailable("the silero-vad package (its ONNX model) is not installed: `make venv` installs it")
    return path


@lru_cache(maxsize=1)
def _session():
    """One ONNX Runtime session per process, on one thread (the work is spread over processes; threads may share
    it: its ``run`` is thread-safe)."""
    return inference_session(model_path(), threads=1)


def _framed(samples: np.ndarray) -> np.ndarray:
    """(frames, CONTEXT + FRAME): each 32 ms frame (the last zero-padded) after the previous frame's tail."""
    n_frames = max(1, -(-len(samples) // FRAME))
    frames = np.zeros((n_frames, FRAME), dtype=np.float32)
    frames.reshape(-1)[: len(samples)] = samples
    contexts = np.zeros((n_frames, CONTEXT), dtype=np.float32)
    contexts[1:] = frames[:-1, -CONTEXT:]
    return np.concatenate([contexts, frames], axis=1)


def speech_probabilities(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Speech probability of every 32 ms frame of a mono clip (resampled to 16 kHz for the detector)."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"the voice-activity detector reads mono samples, got an array of shape {samples.shape}")
    if sample_rate != RATE:
        samples = soxr.resample(samples, sample_rate, RATE, quality="HQ")
    framed = _framed(samples)
    hidden = cell = np.zeros((1, 1, 128), dtype=np.float32)
    probabilities = []
    for first in range(0, len(framed), BLOCK_FRAMES):
        block, hidden, cell = _session().run(["speech_probs", "hn", "cn"],
                                             {"input": framed[first : first + BLOCK_FRAMES], "h": hidden, "c": cell})
        probabilities.append(block)
    return np.concatenate(probabilities).reshape(-1)


class _RecentSpans:
    """The spans of the clips this process read last, by content: an ensemble's members and prediction's warnings
    read the same clip, and a worker making corrupted copies reads the same babble talkers again and again, so the
    detector runs once for each. Thread-safe (the members run side by side)."""

    def __init__(self, size: int):
        self.size, self.spans, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, samples: np.ndarray, sample_rate: int) -> tuple[int, int] | None:
        """The span of ``samples`` (:func:`_find_span`), computed unless read recently."""
        key = hashlib.blake2b(samples.tobytes(), digest_size=16, salt=sample_rate.to_bytes(8, "little")).digest()
        with self.lock:
            if key in self.spans:
                self.spans.move_to_end(key)
                return self.spans[key]
        span = _find_span(samples, sample_rate)
        with self.lock:
            self.spans[key] = span
            while len(self.spans) > self.size:
                self.spans.popitem(last=False)
        return span


#: A span is a few dozen bytes: 4096 of them cover every clip of the full corpus that a worker's copies talk over.
_RECENT = _RecentSpans(size=4096)


def speech_span(samples: np.ndarray, sample_rate: int) -> tuple[int, int] | None:
    """(start, stop) samples from the first to the last speech frame, :data:`PAD_S` around them; None if no frame
    of the clip is speech."""
    return _RECENT.get(np.ascontiguousarray(samples, dtype=np.float32), int(sample_rate))


def _find_span(samples: np.ndarray, sample_rate: int) -> tuple[int, int] | None:
    """:func:`speech_span`, computed."""
    speech = np.flatnonzero(speech_probabilities(samples, sample_rate) >= THRESHOLD)
    if not len(speech):
        return None
    per_frame, pad = FRAME * sample_rate / RATE, PAD_S * sample_rate
    start = int(max(0, speech[0] * per_frame - pad))
    stop = int(min(len(samples), (speech[-1] + 1) * per_frame + pad))
    return start, stop
