"""The recipes' spectral features computed as librosa computes them, with NumPy, ``scipy.fft`` and soxr alone.

``ser predict`` answers from a fresh process. Computing a clip's MFCCs through librosa first imports its feature
modules, which import ``scipy.signal`` and load numba's compiled kernels: over a second, longer than everything
else the answer needs. The few steps the recipes and prediction use are short in NumPy (the teaching module
:mod:`ser_utils.mfcc_steps` spells out the mel filter bank), so training and prediction both compute them here, and
``tests/test_spectral.py`` holds each function to librosa's own result. What only the seed's recipe, the pitch
recipe or the figures use stays with librosa. Frames are read in blocks, so an hour of audio needs no more than a
few times its own size.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft
import soxr

from .mfcc_steps import frame_signal, mel_filter_bank, periodic_hann

#: Floor of a power before its logarithm (librosa's ``amin``).
AMIN = 1e-10
#: Frames transformed at once: bounds the memory a long clip needs.
BLOCK_FRAMES = 2048


def resample_soxr(samples: np.ndarray, rate: int, target_rate: int, quality: str = "soxr_hq") -> np.ndarray:
    """``librosa.resample(samples, orig_sr=rate, target_sr=target_rate, res_type=quality)`` for soxr's qualities:
    soxr's band-limited interpolation, cut or padded to ``ceil(len * (target_rate / rate))`` samples."""
    resampled = soxr.resample(samples, rate, target_rate, quality=quality)
    n_samples = int(np.ceil(len(samples) * (float(target_rate) / rate)))
    return fix_length(resampled, n_samples).astype(samples.dtype, copy=False)


def fix_length(samples: np.ndarray, n_samples: int) -> np.ndarray:
    """Zero-pad at the end or crop mono ``samples`` to exactly ``n_samples``."""
    _check_mono(samples)
    if len(samples) >= n_samples:
        return samples[:n_samples]
    return np.pad(samples, (0, n_samples - len(samples)))


def _check_mono(samples: np.ndarray) -> None:
    """Raise ValueError unless ``samples`` is one channel (a 1-D array)."""
    if samples.ndim != 1:
        raise ValueError(f"expects mono samples (a 1-D array), not an array of shape {samples.shape}")


def stft_magnitude(samples: np.ndarray, *, n_fft: int, hop_length: int) -> np.ndarray:
    """|STFT| (``librosa.stft``: centred frames, a periodic Hann window, single precision for single-precision
    samples): shape (n_fft // 2 + 1, 1 + len // hop_length)."""
    _check_mono(samples)
    windows = frame_signal(samples, n_fft=n_fft, hop_length=hop_length)
    single = samples.dtype == np.float32
    magnitude = np.empty((n_fft // 2 + 1, len(windows)), dtype=np.float32 if single else np.float64)
    window = periodic_hann(n_fft)
    for start in range(0, len(windows), BLOCK_FRAMES):
        spectrum = np.fft.rfft(window * windows[start : start + BLOCK_FRAMES], axis=1)
        magnitude[:, start : start + BLOCK_FRAMES] = np.abs(spectrum.astype(np.complex64) if single else spectrum).T
    return magnitude


@lru_cache(maxsize=8)
def mel_basis(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """``librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels)``: Slaney's area-normalised triangles from
    0 Hz to Nyquist, in single precision (read-only: it is shared)."""
    basis = mel_filter_bank(sample_rate, n_fft, n_mels).astype(np.float32)
    basis.setflags(write=False)
    return basis


def melspectrogram(samples: np.ndarray, *, sample_rate: int, n_fft: int, hop_length: int, n_mels: int) -> np.ndarray:
    """``librosa.feature.melspectrogram``: mel power, shape (n_mels, frames)."""
    return mel_basis(sample_rate, n_fft, n_mels) @ stft_magnitude(samples, n_fft=n_fft, hop_length=hop_length) ** 2


def power_to_db(power: np.ndarray, *, top_db: float | None = None) -> np.ndarray:
    """``librosa.power_to_db``: 10 log10 of the power; with ``top_db``, relative to its maximum and floored
    ``top_db`` below it (``ref=np.max``), otherwise relative to 1 and unfloored."""
    decibels = 10.0 * np.log10(np.maximum(AMIN, power))
    if top_db is None:
        return decibels
    if top_db < 0:
        raise ValueError(f"top_db must be non-negative, not {top_db}")
    decibels = decibels - 10.0 * np.log10(np.maximum(AMIN, power.max()))
    return np.maximum(decibels, decibels.max() - top_db)


def mfcc(log_mel: np.ndarray, n_mfcc: int) -> np.ndarray:
    """``librosa.feature.mfcc(S=log_mel, n_mfcc=n_mfcc)``: the first coefficients of the orthonormal DCT-II over
    the mel bands."""
    return scipy.fft.dct(log_mel, axis=0, type=2, norm="ortho")[:n_mfcc]


def delta(features: np.ndarray, width: int = 9) -> np.ndarray:
    """``librosa.feature.delta(features, width=width, mode="nearest")``: each row's local slope over ``width``
    frames (a first-order Savitzky-Golay derivative), the edge frames repeated beyond the ends."""
    if width < 3 or width % 2 == 0:
        raise ValueError(f"width must be an odd number of frames, at least 3, not {width}")
    half = width // 2
    padded = np.pad(features.astype(np.float64), [(0, 0), (half, half)], mode="edge")
    n_frames = features.shape[1]
    offsets = np.arange(-half, half + 1)
    slope = sum(k * padded[:, half + k : half + k + n_frames] for k in offsets if k) / np.sum(offsets**2)
    return slope.astype(features.dtype)


def spectral_flatness(magnitude: np.ndarray) -> np.ndarray:
    """``librosa.feature.spectral_flatness(S=magnitude)``: per frame, the geometric over the arithmetic mean of
    the power spectrum (1 for white noise, near 0 for a tone)."""
    power = np.maximum(AMIN, magnitude**2)
    return np.exp(np.mean(np.log(power), axis=0)) / np.mean(power, axis=0)


def level_bounds(samples: np.ndarray, *, top_db: float, frame_length: int = 512, hop_length: int = 128) -> tuple[int, int]:
    """``librosa.effects.trim(samples, top_db=top_db, ...)[1]``: (start, stop) samples from the first to the last
    frame whose RMS level is within ``top_db`` of the loudest frame's; (0, 0) if there is none."""
    _check_mono(samples)
    windows = frame_signal(samples, n_fft=frame_length, hop_length=hop_length)
    power = np.concatenate([np.mean(windows[start : start + BLOCK_FRAMES] ** 2, axis=1)
                            for start in range(0, len(windows), BLOCK_FRAMES)])
    rms = np.sqrt(power)  # librosa's steps, so that a frame on the threshold falls on the same side
    level = power_to_db(rms**2) - 10.0 * np.log10(np.maximum(AMIN, rms.max() ** 2))
    loud = np.flatnonzero(level > -top_db)
    if loud.size == 0:
        return 0, 0
    return int(loud[0] * hop_length), min(len(samples), int((loud[-1] + 1) * hop_length))
