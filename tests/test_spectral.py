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
    np.testing.assert_array_equal(found, expected)
    np.testing.assert_allclose(spectral.stft_magnitude(samples.astype(np.float64), n_fft=n_fft, hop_length=hop_length),
                               np.abs(librosa.stft(samples.astype(np.float64), n_fft=n_fft, hop_length=hop_length)),
                               rtol=1e-12, atol=1e-12)


def test_long_audio_is_transformed_in_blocks_alike():
    """Frames are transformed a block at a time (the memory of an hour of audio): the blocks' seams change nothing."""
    samples = speech_like(3 * spectral.BLOCK_FRAMES * 256 / RATE + 0.01)
    np.testing.assert_array_equal(spectral.stft_magnitude(samples, n_fft=512, hop_length=256),
                                  np.abs(librosa.stft(samples, n_fft=512, hop_length=256)))


def test_stereo_arrays_and_impossible_settings_are_refused():
    with pytest.raises(ValueError, match="mono samples"):
        spectral.stft_magnitude(np.zeros((2, 4000), np.float32), n_fft=512, hop_length=256)
    with pytest.raises(ValueError, match="mono samples"):
        spectral.fix_length(np.zeros((2, 10), np.float32), 20)
    with pytest.raises(ValueError, match="odd number of frames"):
        spectral.delta(np.zeros((3, 20), np.float32), width=4)
    with pytest.raises(ValueError, match="top_db must be non-negative"):
        spectral.power_to_db(np.ones(3), top_db=-1.0)


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


@pytest.mark.parametrize("rate,target", [(RATE, 8000), (RATE, 22050), (RATE, 44100), (RATE, 16001), (44100, 16000),
                                         (48000, 16000), (22050, 16000), (8000, 16000), (44100, 48000), (44100, 24000)])
def test_resampling_is_librosas_soxr(rate, target):
    samples = speech_like(2.17)
    for quality in ("soxr_hq", "soxr_vhq"):
        expected = librosa.resample(samples, orig_sr=rate, target_sr=target, res_type=quality)
        found = spectral.resample_soxr(samples, rate, target, quality=quality)
        assert found.dtype == expected.dtype and found.shape == expected.shape
        np.testing.assert_array_equal(found, expected)


def test_flatness_and_lengths_are_librosas():
    magnitude = np.abs(librosa.stft(speech_like(1.0), n_fft=512, hop_length=256))
    np.testing.assert_allclose(spectral.spectral_flatness(magnitude),
                               librosa.feature.spectral_flatness(S=magnitude)[0], rtol=1e-5)
    samples = speech_like(0.1)
    for size in (10, len(samples), len(samples) + 7):
        np.testing.assert_array_equal(spectral.fix_length(samples, size), librosa.util.fix_length(samples, size=size))


@pytest.mark.parametrize("top_db", [20.0, 30.0, 60.0])
def test_the_level_trim_is_librosas(top_db):
    quiet = np.zeros(int(0.4 * RATE), np.float32)
    hiss = 1e-4 * np.random.default_rng(1).standard_normal(int(0.3 * RATE)).astype(np.float32)
    for samples in (np.concatenate([quiet, speech_like(1.5), hiss]), speech_like(0.7), np.concatenate([hiss, quiet]),
                    np.zeros(3000, np.float32)):
        _, expected = librosa.effects.trim(samples, top_db=top_db, frame_length=512, hop_length=128)
        assert spectral.level_bounds(samples, top_db=top_db) == tuple(int(bound) for bound in expected)


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
    """The cold start: reading a clip, finding its speech (by the detector, or by level where it hears none) and
    computing its features and warnings leaves librosa's heavy half (scipy.signal, numba) unimported."""
    import soundfile as sf

    resampled, unheard = tmp_path / "clip.wav", tmp_path / "buzz.wav"
    sf.write(resampled, speech_like(2.0), 22050)
    sf.write(unheard, speech_like(2.0), RATE)  # the detector hears no speech in it: the level trim runs
    code = ("import sys; from ser_utils.features import MatrixRecipe, StatsRecipe; from ser_utils import audio, prediction\n"
            f"StatsRecipe().from_file({str(resampled)!r}); MatrixRecipe().from_file({str(resampled)!r})\n"
            f"samples, rate = audio.load_audio({str(unheard)!r}, sample_rate=16000)\n"
            "assert audio.speech_span(samples, rate) is None\n"
            f"MatrixRecipe(speech_finder='level').from_file({str(resampled)!r}); StatsRecipe().from_file({str(unheard)!r})\n"
            "prediction.signal_warnings(samples, rate)\n"
            "print(sorted(m for m in ('scipy.signal', 'numba', 'librosa.core', 'librosa.feature', 'sklearn') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]"], done.stdout
