"""Feature recipes on signals with known answers, padding, and the cached batch extraction."""

import os

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED_SAMPLE, tone
from ser_utils import features
from ser_utils.features import LegacyRecipe, MatrixRecipe, OpenSmileRecipe, ProsodyRecipe, StatsRecipe


def test_shapes_of_every_recipe(write_audio):
    path = write_audio("a.wav", tone(seconds=3.5))
    assert LegacyRecipe(res_type="soxr_hq").from_file(path).shape == (216,)
    assert MatrixRecipe().from_file(path).shape == (94, 80)
    assert StatsRecipe().from_file(path).shape == (160,)
    assert MatrixRecipe(representation="logmel", n_mels=32, deltas=False).from_file(path).shape == (94, 32)


def test_legacy_recipe_is_the_seeds_exact_computation(write_audio):
    import librosa

    path = write_audio("b.wav", tone(300, seconds=3.5))
    samples, rate = librosa.load(path, res_type="kaiser_fast", duration=2.5, sr=44100, offset=0.5)
    expected = np.mean(librosa.feature.mfcc(y=samples, sr=rate, n_mfcc=13), axis=0)
    np.testing.assert_allclose(LegacyRecipe().from_file(path), expected, rtol=1e-5, atol=1e-4)


def test_short_clips_are_padded_instead_of_failing(write_audio):
    path = write_audio("short.wav", tone(seconds=1.0))
    legacy = LegacyRecipe(res_type="soxr_hq").from_file(path)
    matrix = MatrixRecipe().from_file(path)
    assert legacy.shape == (216,) and matrix.shape == (94, 80)
    assert np.ptp(matrix[-20:, 0]) < 1e-3  # padded frames are constant (silence)


def test_log_mel_peaks_at_the_tone_frequency(write_audio):
    import librosa

    recipe = MatrixRecipe(representation="logmel", deltas=False)
    matrix = recipe.from_file(write_audio("khz.wav", tone(1000, seconds=3.5)))
    peak_band = int(np.argmax(matrix[40]))
    centres = librosa.mel_frequencies(n_mels=recipe.n_mels + 2, fmax=recipe.sample_rate / 2)[1:-1]
    assert abs(centres[peak_band] - 1000) < 120


def test_deltas_vanish_for_a_steady_tone_and_stats_pool_the_matrix_over_time(write_audio):
    matrix = MatrixRecipe().from_file(write_audio("steady.wav", tone(500, seconds=4.0)))
    assert np.abs(matrix[10:80, 40:]).max() < 1e-2 * np.abs(matrix[10:80, :40]).max()
    sweep = np.sin(2 * np.pi * np.cumsum(np.linspace(200, 2000, 48000)) / 16000).astype(np.float32)
    pooled, full = StatsRecipe().transform(sweep), MatrixRecipe().transform(sweep)
    np.testing.assert_allclose(pooled[:80], full.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(pooled[80:], full.std(axis=0), rtol=1e-5)


def test_prosody_finds_the_pitch_of_a_tone(write_audio):
    silence = np.zeros(11025, dtype=np.float32)
    measures = ProsodyRecipe().from_file(write_audio("p.wav", np.concatenate([silence, tone(200, 1.4), silence])))
    values = dict(zip(ProsodyRecipe.columns, measures))
    assert abs(values["pitch_hz"] - 200) < 5
    assert abs(values["speech_s"] - 1.4) < 0.1


def test_recipes_round_trip_through_dicts():
    for recipe in (LegacyRecipe(), MatrixRecipe(n_mfcc=20), StatsRecipe(), ProsodyRecipe()):
        assert features.recipe_from_dict(recipe.to_dict()) == recipe
    with pytest.raises(ValueError, match="unknown feature recipe"):
        features.make_recipe("wavelets")
    for rate in ("eGeMAPSv02", 0, 16000.5, True):  # a feature set's name given where the rate goes, among others
        with pytest.raises(ValueError, match=f"sample_rate must be a positive whole number of Hz, not {rate!r}"):
            OpenSmileRecipe(rate)


def _table(paths):
    return pd.DataFrame({"path": [str(p) for p in paths], "label": pd.Categorical(["a"] * len(paths))})


def test_cache_hits_and_is_invalidated_by_file_and_settings_changes(tmp_path, write_audio):
    paths = [write_audio(f"c{i}.wav", tone(200 + 50 * i, 3.5)) for i in range(3)]
    recipe = MatrixRecipe(n_mfcc=13)
    first = features.extract_features(_table(paths), recipe, cache_dir=tmp_path / "cache", n_jobs=1, progress=False)
    second = features.extract_features(_table(paths), recipe, cache_dir=tmp_path / "cache", n_jobs=1, progress=False)
    assert not first.from_cache and second.from_cache
    np.testing.assert_array_equal(first.features, second.features)
    os.utime(paths[0], ns=(1, 1))
    assert not features.extract_features(_table(paths), recipe, cache_dir=tmp_path / "cache", n_jobs=1,
                                         progress=False).from_cache
    assert not features.extract_features(_table(paths), MatrixRecipe(n_mfcc=14), cache_dir=tmp_path / "cache",
                                         n_jobs=1, progress=False).from_cache
    assert not list((tmp_path / "cache").glob(".*"))  # no temporary leftovers


def test_bad_files_are_skipped_and_listed_never_fatal(tmp_path, write_audio):
    good = [write_audio(f"g{i}.wav", tone(300, 3.5)) for i in range(2)]
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    silent = write_audio("silent.wav", np.zeros(30000, dtype=np.float32))
    table = _table([good[0], empty, silent, good[1]])
    for attempt in range(2):  # fresh, then from the cache
        result = features.extract_features(table, StatsRecipe(), cache_dir=tmp_path / "cache", n_jobs=2, progress=False)
        assert result.from_cache == bool(attempt)
        assert list(result.table["path"]) == [str(good[0]), str(good[1])]
        assert result.features.shape == (2, 160)
        reasons = dict(result.failed)
        assert "empty file" in reasons[str(empty)] and "silent" in reasons[str(silent)]


@pytest.mark.skipif(not SHARED_SAMPLE.exists(), reason="optional: ../shared/ravdess-sample is absent")
def test_real_ravdess_sample_extracts_without_error():
    from ser_utils import corpus

    table, _ = corpus.scan_corpus(SHARED_SAMPLE)  # 48 kHz, two stereo files in Actor_01
    table = table[table["actor"] <= 2]  # two actors are enough to meet the odd files
    for recipe in (MatrixRecipe(), LegacyRecipe(res_type="soxr_hq")):
        result = features.extract_features(table, recipe, cache_dir=None, progress=False)
        assert not result.failed and result.features.shape == (len(table), *recipe.shape)
        assert np.isfinite(result.features).all()


def test_segments_trim_the_silence_and_slide_over_long_speech():
    rate = 16000
    silence = np.zeros(rate // 2, dtype=np.float32)
    speech = 0.3 * np.sin(2 * np.pi * 220 * np.arange(7 * rate) / rate).astype(np.float32)
    clip = np.concatenate([silence, speech, silence])
    pooled = features.StatsRecipe().segments(clip)
    assert len(pooled) == 1 and abs(pooled[0][0] - rate // 2) < 400 and abs(len(pooled[0][1]) - 7 * rate) < 800
    windows = features.MatrixRecipe(duration=3.0).segments(clip)
    assert [start for start, _ in windows] == [s + pooled[0][0] for s in features.window_starts(len(pooled[0][1]), 3 * rate, 3 * rate // 2)]
    assert len(windows) == 4 and all(len(w) == 3 * rate for _, w in windows)
    short = features.MatrixRecipe(duration=3.0).segments(clip[: rate])  # 0.5 s of speech: one padded window
    assert len(short) == 1 and len(short[0][1]) == 3 * rate


def test_window_starts_cover_the_clip():
    assert list(features.window_starts(100, 100, 50)) == [0]
    assert list(features.window_starts(250, 100, 50)) == [0, 50, 100, 150]
    assert list(features.window_starts(260, 100, 50)) == [0, 50, 100, 150, 160]


def test_opensmile_works_in_a_process_that_loaded_the_networks():
    """openSMILE loaded after TensorFlow corrupts the heap; the network module loads it first."""
    import subprocess
    import sys

    script = ("import numpy as np; import ser_utils.models.network; from ser_utils import features; "
              "x = np.sin(np.arange(32000) / 7).astype('float32') * 0.3; "
              "print(features.OpenSmileRecipe().transform(x).shape)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "(88,)" in done.stdout, done.stderr[-1000:]
    # the order that crashed a test worker, refused; the module's check reads sys.modules, so a stand-in for
    # TensorFlow there (no 7 s import) is what it sees after `import keras`
    keras_first = ("import sys, types; sys.modules['tensorflow'] = types.ModuleType('tensorflow'); "
                   "import ser_utils.models.network")
    done = subprocess.run([sys.executable, "-c", keras_first], capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "TensorFlow was imported before openSMILE" in done.stderr, done.stderr[-1000:]


@pytest.mark.parametrize("feature_set", sorted(features.OPENSMILE_SIZES))
def test_the_reused_opensmile_extractor_gives_the_packages_functionals_to_the_bit(feature_set):
    import opensmile

    fresh_each_clip = opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, feature_set),
                                      feature_level=opensmile.FeatureLevel.Functionals)
    reused = features.recipes.SmileExtractor(feature_set, 16000)
    rng = np.random.default_rng(0)
    clips = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (48000, 8000, 30000)]
    clips.append(0.3 * np.sin(np.arange(40000) / 9))  # double precision, scaled in it as the package scales it
    for clip in clips + clips[:1]:  # the first clip again, after the others: no state carried between clips
        expected = fresh_each_clip.process_signal(clip, 16000).to_numpy()[0]
        assert np.array_equal(reused.functionals(clip), expected, equal_nan=True)
    assert len(reused._running._callbacks) == 1  # no clip's sink callback kept alive after its run
    with pytest.warns(UserWarning, match="too short"):
        too_short = fresh_each_clip.process_signal(clips[0][:50], 16000).to_numpy()[0]
    assert np.array_equal(reused.functionals(clips[0][:50]), too_short, equal_nan=True)


def test_an_opensmile_run_interrupted_midway_leaves_the_next_clip_a_whole_extractor(monkeypatch):
    extractor = features.recipes.SmileExtractor("eGeMAPSv02", 16000)
    clip = (0.1 * np.random.default_rng(1).standard_normal(32000)).astype(np.float32)
    expected = extractor.functionals(clip)

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(extractor._running, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        extractor.functionals(clip)
    assert np.array_equal(extractor.functionals(clip), expected, equal_nan=True)


def test_a_cache_is_keyed_by_the_code_that_computes_its_recipe_and_nothing_else(monkeypatch, tmp_path):
    from ser_utils import audio, augment

    recipe, paths = features.StatsRecipe(), [str(tmp_path / "a.wav")]
    key, bank = features.cache_key(paths, recipe), features.bank_dir(tmp_path, recipe)
    monkeypatch.setattr(features.projection, "project_2d", lambda *args, **kwargs: None)  # an exploration helper
    monkeypatch.setattr(augment.study, "showcase", lambda *args, **kwargs: {})  # notebook 03's figure
    assert features.cache_key(paths, recipe) == key and features.bank_dir(tmp_path, recipe) == bank

    def speech_bounds(samples, sample_rate, *, finder="vad", top_db=30.0):  # the same name, in the same module: only its code differs
        return 0, len(samples)

    speech_bounds.__module__, speech_bounds.__qualname__ = audio.__name__, "speech_bounds"
    monkeypatch.setattr(features.recipes, "speech_bounds", speech_bounds)  # what every recipe's trim calls
    assert features.cache_key(paths, recipe) != key and features.bank_dir(tmp_path, recipe) != bank
    monkeypatch.undo()
    monkeypatch.setitem(augment.STEPS, "pink", augment.STEPS["brown"])  # a registry entry, not a function, edited
    assert features.cache_key(paths, recipe) == key and features.bank_dir(tmp_path, recipe) != bank


def test_cache_keys_are_the_same_in_every_process():
    """Sets, registries and objects are written without memory addresses or hash order: caches hit across runs."""
    import os
    import subprocess
    import sys

    script = ("from ser_utils import features as f; print(*(f.cache_key(['x'], r) + f.bank_dir('/c', r).name "
              "for r in (f.StatsRecipe(), f.MatrixRecipe(), f.OpenSmileRecipe())))")
    keys = {subprocess.run([sys.executable, "-c", script], env=os.environ | {"PYTHONHASHSEED": seed},
                           capture_output=True, text=True, check=True).stdout for seed in ("1", "2")}
    assert len(keys) == 1
