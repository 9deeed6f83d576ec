"""Prediction of clips of any length, rate and channel count; the ``ser`` command."""

import json

import numpy as np
import pytest

from ser_utils import cli, features, models, prediction, runs, training


@pytest.fixture(scope="module")
def svm_run(mini_table, tmp_path_factory):
    """An SVM trained on the mini corpus (10 classes), saved like a real run."""
    feature_set = features.extract_features(mini_table, features.StatsRecipe(), cache_dir=None, progress=False)
    run = training.cross_validate(feature_set, "svm", "speaker", max_folds=1, progress=False)
    run.model.metadata["dataset"] = {"name": "mini", "label": "SYNTHETIC mini"}
    return runs.save_run(run, tmp_path_factory.mktemp("models") / "svm-speaker")


@pytest.fixture(scope="module")
def model(svm_run):
    return models.load_model(svm_run)


@pytest.fixture
def clip(mini_table):
    import soundfile as sf

    samples, rate = sf.read(mini_table.iloc[0]["path"], dtype="float32")
    return samples, rate


def test_clip_from_the_corpus_is_scored_exactly_as_in_training(model, mini_table):
    path = mini_table.iloc[0]["path"]
    result = prediction.predict_file(model, path)
    np.testing.assert_allclose(result.probabilities, model.predict_proba(model.recipe.from_file(path)[None])[0],
                               atol=1e-6)
    assert len(result.window_starts) == 1
    gender, total = result.gender
    assert gender in ("female", "male") and 0.5 <= total <= 1
    polygons, emotions = result.emotions_by_gender()
    assert emotions == ["angry", "calm", "fearful", "happy", "sad"] and set(polygons) == {"female", "male"}


def test_short_long_stereo_and_16khz_clips_all_work(model, clip, write_audio):
    import librosa

    samples, rate = clip
    short = write_audio("short.wav", samples[int(0.5 * rate): int(1.3 * rate)], rate)
    long = write_audio("long.wav", np.tile(samples, 3), rate)
    stereo = write_audio("stereo.wav", np.stack([samples, samples], axis=1), rate)
    low_rate = write_audio("16k.flac", librosa.resample(samples, orig_sr=rate, target_sr=16000), 16000)
    mono = prediction.predict_file(model, write_audio("mono.wav", samples, rate))
    assert len(prediction.predict_file(model, short).window_starts) == 1
    assert len(prediction.predict_file(model, long).window_starts) == 1  # statistics pool the whole speech
    np.testing.assert_allclose(prediction.predict_file(model, stereo).probabilities, mono.probabilities, atol=1e-5)
    assert prediction.predict_file(model, low_rate).probabilities.shape == (10,)


def test_a_network_slides_over_long_speech_and_averages_its_windows(clip):
    from ser_utils import models

    samples, rate = clip
    cnn = models.build_model("cnn", ["a", "b"], seed=0, epochs=1)
    data = np.random.default_rng(0).normal(size=(8, *cnn.recipe.shape)).astype(np.float32)
    cnn.fit(data, np.arange(8) % 2, (data, np.arange(8) % 2))
    import librosa

    speech = librosa.resample(samples, orig_sr=rate, target_sr=cnn.sample_rate)
    result = prediction.predict_samples(cnn, np.tile(speech, 6))
    assert len(result.window_starts) >= 3 and np.all(np.diff(result.window_starts) > 0)
    np.testing.assert_allclose(result.probabilities, result.window_probabilities.mean(axis=0))


def test_noise_is_added_at_the_requested_snr():
    rng = np.random.default_rng(0)
    signal = np.sin(np.arange(16000) / 5).astype(np.float32)
    noisy = prediction.add_noise(signal, 10.0, rng)
    snr = 10 * np.log10(np.mean(signal**2) / np.mean((noisy - signal) ** 2))
    assert snr == pytest.approx(10.0, abs=0.3)


def test_robustness_returns_one_row_per_condition(model, mini_table):
    clips = prediction.test_clips(mini_table, model.metadata)
    assert set(clips["actor"]) == set(model.metadata["split"]["test_actors"])
    clips = clips.head(20)
    by_snr, by_length = prediction.robustness(model, clips, snrs_db=[120, 0], lengths_s=[2.0, 0.5])
    assert list(by_snr["snr_db"]) == [120, 0] and list(by_length["length_s"]) == [2.0, 0.5]
    clean = [prediction.predict_file(model, path).label for path in clips["path"]]
    assert by_snr["accuracy"][0] == pytest.approx(np.mean(np.array(clean) == clips["label"].astype(str)))


def test_cli_predicts_json_and_radar(svm_run, mini_table, tmp_path, capsys):
    paths = list(mini_table["path"][:2])
    assert cli.main(["predict", *paths, "--model", str(svm_run), "--json", "--radar", str(tmp_path / "r.png")]) == 0
    output = json.loads(capsys.readouterr().out)
    assert [item["path"] for item in output] == paths
    assert {"label", "gender", "gender_probability", "emotion", "probabilities"} <= set(output[0])
    assert (tmp_path / "r.png").stat().st_size > 10_000


def test_cli_reports_bad_files_and_exits_non_zero(svm_run, mini_table, tmp_path, capsys):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all")
    status = cli.main(["predict", mini_table["path"][0], str(broken), "--model", str(svm_run)])
    captured = capsys.readouterr()
    assert status == cli.EXIT_BAD_INPUT
    assert "broken.wav" in captured.err and "corrupt" in captured.err
    assert mini_table["filename"][0] in captured.out


def test_cli_refuses_a_missing_model(tmp_path, capsys):
    assert cli.main(["predict", "x.wav", "--model", str(tmp_path / "none")]) == cli.EXIT_BAD_INPUT
    assert "no metadata.json" in capsys.readouterr().err
