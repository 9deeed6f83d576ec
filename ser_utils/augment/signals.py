"""The signal operations every corruption is made of: noise at a speech-relative SNR, babble, a phone line, a
codec, reverberation, a cut to the first seconds of speech."""

from __future__ import annotations

import numpy as np

from ..audio import speech_bounds


NOISE_EXPONENTS = {"white": 0, "pink": 1, "brown": 2}


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


def babble(sources: list[np.ndarray], rate: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """The sum of ``sources`` at equal speech levels, each looped to ``n_samples`` from a random start."""
    total = np.zeros(n_samples, dtype=np.float64)
    for source in sources:
        speech = source[slice(*speech_bounds(source, rate))]
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
    start, _ = speech_bounds(samples, rate)
    return samples[start : start + int(round(seconds * rate))]
