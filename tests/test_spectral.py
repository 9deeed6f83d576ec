"""The recipes' spectral steps in NumPy (ser_utils.spectral) give librosa's numbers, so that prediction can skip
librosa's start-up and still compute what training computed."""

import subprocess
import sys

import librosa
import numpy as np
import pytest

from ser_utils import spectral
from ser_utils.features import MatrixRecipe, StatsRecipe

RATE = 16000


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """A voiced buzz with a moving pitch and pauses, plus a little noise: a spectrum with structure and a quiet part."""
    t = np.arange(int(seconds * RATE)) / RATE
    pitch = 140 + 40 * np.sin(2 * np.pi * 0.7 * t)
    voiced = sum(np.sin(2 * np.pi * k * np.cumsum(pitch) / RATE) / k for k in range(1, 12))
    gate = (np.sin(2 * np.pi * 1.3 * t) > -0.3).astype(float)
    noise = np.random.default_rng(seed).standard_normal(len(t))
    return (0.1 * voiced * gate + 0.003 * noise).astype(np.float32)


@pytest.mark.filterwarnings("ignore:n_fft=.* is too large")  # librosa's, for the clip shorter than a frame
@pytest.mark.parametrize("seconds", [0.05, 0.5, 3.0, 3.03])  # shorter than a frame, odd lengths
@pytest.mark.parametrize("n_fft,hop_length", [(1024, 512), (512, 256)])
def test_the_spectrogram_is_librosas(seconds, n_fft, hop_length):
    samples = speech_like(seconds)
    expected = np.abs(librosa.stft(samples, n_fft=n_fft, hop_length=hop_length))
    found = spectral.stft_magnitude(samples, n_fft=n_fft, hop_length=hop_length)
    assert found.dtype == expected.dtype and found.shape == expected.shape
    np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-6 * expected.max())


@pytest.mark.parametrize("n_mels", [40, 64, 128])
def test_mel_power_decibels_mfccs_and_deltas_are_librosas(n_mels):
    samples = speech_like(2.0)
    mel = librosa.feature.melspectrogram(y=samples, sr=RATE, n_fft=1024, hop_length=512, n_mels=n_mels)
    ours = spectral.melspectrogram(samples, sample_rate=RATE, n_fft=1024, hop_length=512, n_mels=n_mels)
    np.testing.assert_allclose(ours, mel, rtol=1e-4, atol=1e-7 * mel.max())
    for top_db, ref in ((None, 1.0), (80.0, np.max)):
        decibels = librosa.power_to_db(mel, ref=ref, top_db=top_db)
        np.testing.assert_allclose(spectral.power_to_db(mel, top_db=top_db), decibels, atol=1e-4)
    log_mel = librosa.power_to_db(mel, ref=1.0, top_db=None)
    coefficients = librosa.feature.mfcc(S=log_mel, n_mfcc=40)
    np.testing.assert_allclose(spectral.mfcc(log_mel, 40), coefficients, atol=1e-3)
    np.testing.assert_allclose(spectral.delta(coefficients, width=9),
                               librosa.feature.delta(coefficients, width=9, mode="nearest"), atol=1e-4)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000, 16001])
def test_resampling_is_librosas_soxr(rate):
    samples = speech_like(1.37)
    for quality in ("soxr_hq", "soxr_vhq"):
        expected = librosa.resample(samples, orig_sr=RATE, target_sr=rate, res_type=quality)
        found = spectral.resample_soxr(samples, RATE, rate, quality=quality)
        assert found.dtype == expected.dtype and found.shape == expected.shape
        np.testing.assert_array_equal(found, expected)


def test_flatness_and_lengths_are_librosas():
    magnitude = np.abs(librosa.stft(speech_like(1.0), n_fft=512, hop_length=256))
    np.testing.assert_allclose(spectral.spectral_flatness(magnitude),
                               librosa.feature.spectral_flatness(S=magnitude)[0], rtol=1e-5)
    samples = speech_like(0.1)
    for size in (10, len(samples), len(samples) + 7):
        np.testing.assert_array_equal(spectral.fix_length(samples, size), librosa.util.fix_length(samples, size=size))


@pytest.mark.parametrize("recipe", [MatrixRecipe(), MatrixRecipe(representation="logmel", top_db=80.0, deltas=False),
                                    StatsRecipe()], ids=["mfcc+deltas", "logmel top_db", "stats"])
def test_each_recipe_gives_what_librosa_gave(recipe):
    """What the models were trained on before this module (librosa's chain) is what they read now."""
    samples = speech_like(3.0)
    matrix = recipe.matrix if isinstance(recipe, StatsRecipe) else recipe
    mel = librosa.feature.melspectrogram(y=samples, sr=RATE, n_fft=matrix.n_fft, hop_length=matrix.hop_length,
                                         n_mels=matrix.n_mels)
    log_mel = (librosa.power_to_db(mel, ref=np.max, top_db=matrix.top_db) if matrix.top_db is not None
               else librosa.power_to_db(mel, ref=1.0, top_db=None))
    channels = librosa.feature.mfcc(S=log_mel, n_mfcc=matrix.n_mfcc) if matrix.representation == "mfcc" else log_mel
    if matrix.deltas:
        channels = np.vstack([channels, librosa.feature.delta(channels, width=9, mode="nearest")])
    expected = channels.T
    if isinstance(recipe, StatsRecipe):
        expected = np.concatenate([expected.mean(axis=0), expected.std(axis=0)])
    np.testing.assert_allclose(recipe.transform(samples), expected, atol=2e-3, rtol=1e-5)


def test_prediction_features_never_load_librosas_feature_modules(tmp_path):
    """The cold start: reading a clip and computing its features leaves librosa's heavy half (scipy.signal, numba)
    unimported."""
    import soundfile as sf

    path = tmp_path / "clip.wav"
    sf.write(path, speech_like(2.0), 22050)
    code = ("import sys; from ser_utils.features import MatrixRecipe, StatsRecipe; from ser_utils import prediction; "
            f"StatsRecipe().from_file({str(path)!r}); MatrixRecipe().from_file({str(path)!r}); "
            "print(sorted(m for m in ('scipy.signal', 'numba', 'librosa.core', 'librosa.feature', 'sklearn') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]"], done.stdout
