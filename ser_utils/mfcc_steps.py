"""MFCCs step by step with numpy and scipy, for teaching; :func:`mfcc` agrees with ``librosa.feature.mfcc``.

The seed's write-up describes: pre-emphasis, framing and windowing, the STFT of each
window and its power spectrum |X(n, w)|^2, a mel filter bank, the log, and a DCT.
librosa computes the same chain except pre-emphasis (it has none by default), with
centred frames, a periodic Hann window, Slaney's mel scale and an orthonormal DCT-II.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dct, rfft


def pre_emphasis(samples: np.ndarray, coefficient: float = 0.97) -> np.ndarray:
    """y[n] = x[n] - a x[n-1]: lifts high frequencies that speech production attenuates."""
    return np.append(samples[0], samples[1:] - coefficient * samples[:-1]).astype(samples.dtype)


def frame_signal(samples: np.ndarray, *, n_fft: int = 2048, hop_length: int = 512) -> np.ndarray:
    """Zero-pad by ``n_fft // 2`` on both sides (librosa's ``center=True``) and cut into overlapping frames: frame
    ``t`` is centred on sample ``t * hop_length``.

    Returns a read-only view (no copy, so an hour of audio costs no more memory) of shape
    (1 + len(samples) // hop_length, n_fft).
    """
    padded = np.pad(samples, n_fft // 2, mode="constant")
    return np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length]


def periodic_hann(length: int) -> np.ndarray:
    """The Hann window of one period of ``length`` samples (scipy's ``get_window("hann", length)``): frames
    that overlap by half add up to a constant."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)


def power_spectrum(frames: np.ndarray) -> np.ndarray:
    """|FFT|^2 of each Hann-windowed frame: shape (n_fft // 2 + 1, n_frames)."""
    return (np.abs(rfft(frames * periodic_hann(frames.shape[1]), axis=1)) ** 2).T


def hz_to_mel(frequencies: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    frequencies = np.asarray(frequencies, dtype=float)
    linear = frequencies / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(frequencies, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(frequencies >= 1000.0, log_part, linear)


def mel_to_hz(mels: np.ndarray) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mels = np.asarray(mels, dtype=float)
    linear = mels * (200.0 / 3)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mels - 15.0))
    return np.where(mels >= 15.0, log_part, linear)


def mel_filter_bank(sample_rate: int, n_fft: int = 2048, n_mels: int = 128) -> np.ndarray:
    """Triangular filters evenly spaced in mel, area-normalised (Slaney): shape (n_mels, n_fft // 2 + 1)."""
    fft_frequencies = np.fft.rfftfreq(n_fft, 1 / sample_rate)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2))
    widths = np.diff(edges)
    distances = edges[:, None] - fft_frequencies[None, :]
    rising = -distances[:-2] / widths[:-1, None]
    falling = distances[2:] / widths[1:, None]
    filters = np.maximum(0, np.minimum(rising, falling))
    return filters * (2.0 / (edges[2:] - edges[:-2]))[:, None]


def log_mel(mel_power: np.ndarray, *, top_db: float = 80.0) -> np.ndarray:
    """10 log10 of mel power, floored ``top_db`` below the maximum (librosa's ``power_to_db``)."""
    decibels = 10.0 * np.log10(np.maximum(mel_power, 1e-10))
    return np.maximum(decibels, decibels.max() - top_db)


def mfcc(samples: np.ndarray, sample_rate: int, *, n_mfcc: int = 13, n_fft: int = 2048, hop_length: int = 512,
         n_mels: int = 128) -> np.ndarray:
    """MFCCs (n_mfcc x frames) from first principles, matching ``librosa.feature.mfcc`` defaults."""
    spectrum = power_spectrum(frame_signal(samples, n_fft=n_fft, hop_length=hop_length))
    mel_power = mel_filter_bank(sample_rate, n_fft, n_mels) @ spectrum
    return dct(log_mel(mel_power), type=2, axis=0, norm="ortho")[:n_mfcc]
