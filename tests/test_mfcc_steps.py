"""The teaching implementation of MFCCs agrees with librosa."""

import librosa
import numpy as np

from conftest import tone
from ser_utils import mfcc_steps


def test_mel_filter_bank_equals_librosas():
    np.testing.assert_allclose(mfcc_steps.mel_filter_bank(22050, 2048, 128), librosa.filters.mel(sr=22050, n_fft=2048),
                               atol=1e-7)


def test_mfcc_from_scratch_matches_librosa_on_noise_and_tone():
    rng = np.random.default_rng(0)
    for signal in (rng.normal(0, 0.1, 22050).astype(np.float32), tone(330, 1.2)):
        ours = mfcc_steps.mfcc(signal, 22050, n_mfcc=13)
        reference = librosa.feature.mfcc(y=signal, sr=22050, n_mfcc=13)
        assert ours.shape == reference.shape
        np.testing.assert_allclose(ours, reference, atol=1e-3 * np.abs(reference).max())


def test_pre_emphasis_and_mel_scale_basics():
    np.testing.assert_allclose(mfcc_steps.pre_emphasis(np.array([1.0, 1.0, 1.0])), [1.0, 0.03, 0.03])
    frequencies = np.array([0.0, 500.0, 1000.0, 4000.0])
    np.testing.assert_allclose(mfcc_steps.mel_to_hz(mfcc_steps.hz_to_mel(frequencies)), frequencies, atol=1e-6)
    np.testing.assert_allclose(mfcc_steps.hz_to_mel(frequencies), librosa.hz_to_mel(frequencies), atol=1e-6)
