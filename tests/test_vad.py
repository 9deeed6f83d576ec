"""The voice-activity detector finds the speech in silence and in noise, at any rate, without torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import tone

from ser_utils import audio, features, vad

RATE = 16000


@pytest.fixture(scope="module")
def padded_speech(mini_corpus):
    """(a clip: 1 s of silence, one synthetic utterance's speech, 1 s of silence; where the speech is)."""
    samples, _ = audio.load_audio(next(iter(sorted(mini_corpus.glob("Actor_01/*.wav")))), sample_rate=RATE)
    start, stop = vad.speech_span(samples, RATE)
    speech = samples[start:stop]
    return np.concatenate([np.zeros(RATE, np.float32), speech, np.zeros(RATE, np.float32)]), (RATE, RATE + len(speech))


def _near(found, truth, tolerance_s=0.15):
    return all(abs(a - b) <= tolerance_s * RATE for a, b in zip(found, truth))


def test_the_speech_is_found_between_silences(padded_speech):
    clip, truth = padded_speech
    assert _near(vad.speech_span(clip, RATE), truth)
    assert _near(audio.speech_bounds(clip, RATE), truth)


def test_the_speech_is_found_in_white_noise_where_the_level_trim_keeps_everything(padded_speech):
    clip, truth = padded_speech
    speech_power = np.mean(clip[slice(*truth)] ** 2)
    noisy = clip + np.random.default_rng(0).normal(0, np.sqrt(speech_power / 10), len(clip)).astype(np.float32)  # 10 dB
    assert _near(audio.speech_bounds(noisy, RATE), truth, tolerance_s=0.25)
    assert audio.speech_bounds(noisy, RATE, finder="level") == (0, len(noisy))


def test_other_rates_give_the_same_span_in_seconds(padded_speech):
    clip, truth = padded_speech
    for rate in (8000, 22050, 44100):
        found = vad.speech_span(audio.resample(clip, RATE, rate), rate)
        assert _near([bound * RATE / rate for bound in found], truth), rate


def test_without_speech_it_finds_none_and_the_bounds_fall_back_to_the_level():
    rate, quiet = 22050, np.zeros(22050, np.float32)
    for clip in (tone(rate=rate), np.random.default_rng(1).normal(0, 0.1, 3 * rate).astype(np.float32), quiet):
        assert vad.speech_span(clip, rate) is None
    beep = np.concatenate([quiet, tone(seconds=1.0, rate=rate), quiet])
    assert _near(audio.speech_bounds(beep, rate), (rate, 2 * rate), tolerance_s=0.05)


def test_a_missing_detector_is_named_with_what_to_do(monkeypatch):
    monkeypatch.setattr(vad.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(vad.VadUnavailable, match="silero-vad.*make venv"):
        vad.model_path()


def test_an_unknown_speech_finder_is_refused():
    with pytest.raises(ValueError, match="speech finder 'peak'"):
        features.MatrixRecipe(speech_finder="peak")
    with pytest.raises(ValueError, match="speech finder 'peak'"):
        audio.speech_bounds(tone(), 22050, finder="peak")


def test_a_recipe_saved_before_speech_finders_reads_as_the_level_trim_it_was_trained_with():
    saved = features.StatsRecipe().to_dict()
    del saved["speech_finder"], saved["matrix"]["speech_finder"]
    recipe = features.recipe_from_dict(saved)
    assert recipe.speech_finder == recipe.matrix.speech_finder == "level"
    assert features.recipe_from_dict(features.StatsRecipe().to_dict()) == features.StatsRecipe()


def test_the_detector_runs_without_importing_torch_or_the_silero_package():
    code = ("import sys, numpy as np; from ser_utils import vad; "
            "assert vad.speech_span(np.zeros(16000, np.float32), 16000) is None; "
            "print(sorted(m for m in ('torch', 'silero_vad') if m in sys.modules))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert found.strip() == "[]"


def test_stereo_samples_are_refused_with_what_the_detector_reads():
    with pytest.raises(ValueError, match="mono samples"):
        vad.speech_span(np.zeros((RATE, 2), np.float32), RATE)


def test_a_clip_read_again_is_not_run_through_the_detector_again(padded_speech, monkeypatch):
    clip, _ = padded_speech
    clip = clip + np.float32(1e-6)  # a clip this process has not seen
    runs = []
    monkeypatch.setattr(vad, "speech_probabilities", lambda *args: runs.append(1) or np.zeros(3, np.float32))
    assert vad.speech_span(clip, RATE) is None and vad.speech_span(clip.copy(), RATE) is None and len(runs) == 1
    vad.speech_span(clip, 22050)  # the same samples at another rate are another clip
    assert len(runs) == 2
