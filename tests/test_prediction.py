"""Prediction of clips of any length, rate and channel count; the ``ser`` command."""

import json

import numpy as np
import pytest

from ser_utils import cli, decisions, evaluation, features, models, prediction, runs, training


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
    gender, total = result.gender  # the gender whose classes hold the larger share, and that share
    shares = {g: result.probabilities[columns].sum() for g, columns in decisions.gender_split(model.labels).items()}
    assert total == pytest.approx(shares[gender]) and total == pytest.approx(max(shares.values()))
    assert result.label.startswith(f"{gender}_")
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


def test_the_robustness_study_scores_the_model_as_prediction_does(svm_run, mini_table, tmp_path):
    model = models.load_model(svm_run / runs.FOLD_MODEL_DIR)  # the delivered model has heard every actor
    clips = prediction.test_clips(mini_table, svm_run)
    assert set(clips["actor"]) == set(model.metadata["split"]["test_actors"])
    clips = clips.head(20)
    summary = prediction.robustness(model, clips, ("white", "length"), seed=1, cache_dir=tmp_path)
    assert list(summary["condition"]) == ["clean"] + ["white"] * 5 + ["length"] * 4
    probabilities = np.stack([prediction.predict_file(model, path).probabilities for path in clips["path"]])
    clean = evaluation.classification_metrics(clips["label"].cat.codes.to_numpy(), probabilities, model.labels)
    assert summary.iloc[0]["uar"] == pytest.approx(clean["uar"], abs=1e-4)
    assert summary.iloc[0]["gender_accuracy"] == pytest.approx(clean["gender_accuracy"], abs=1e-4)


def test_cli_predicts_json_and_radar(svm_run, mini_table, tmp_path, capsys):
    paths = list(mini_table["path"][:2])
    assert cli.main(["predict", *paths, "--model", str(svm_run), "--json", "--radar", str(tmp_path / "r.png")]) == 0
    output = json.loads(capsys.readouterr().out)
    assert [item["path"] for item in output["predictions"]] == paths and output["failures"] == []
    assert output["model"]["corpus"] == "SYNTHETIC mini"
    assert {"label", "probability", "gender", "gender_probability", "emotion", "probabilities", "warnings"} \
        <= set(output["predictions"][0])
    assert (tmp_path / "r.png").stat().st_size > 10_000


def _corpus_folder(mini_table, tmp_path, write_audio):
    """A folder tree: two corpus clips at the top, one in a sub-folder with an upper-case suffix, one as MP3, a broken
    one, a text file."""
    import shutil

    import soundfile as sf

    root = tmp_path / "clips"
    (root / "sub").mkdir(parents=True)
    for path in mini_table["path"][:2]:
        shutil.copy(path, root)
    shutil.copy(mini_table["path"][2], root / "sub" / "LOUD.WAV")
    samples, rate = sf.read(mini_table["path"][3])
    sf.write(root / "sub" / "voice.mp3", samples, rate, format="MP3")
    (root / "sub" / "broken.wav").write_bytes(b"not audio")
    (root / "notes.txt").write_text("not a clip")
    return root


def test_cli_predicts_a_folder_into_csv_and_json_files_and_lists_the_bad_file(svm_run, mini_table, tmp_path,
                                                                               write_audio, capsys):
    import pandas as pd

    root = _corpus_folder(mini_table, tmp_path, write_audio)
    csv_path, json_path = tmp_path / "out.csv", tmp_path / "out.json"
    status = cli.main(["predict", str(root), "--model", str(svm_run), "--csv", str(csv_path), "--json", str(json_path)])
    assert status == cli.EXIT_BAD_INPUT  # one bad file, the rest predicted and written
    assert "broken.wav" in capsys.readouterr().err
    table = pd.read_csv(csv_path, keep_default_na=False)
    assert len(table) == 5 and table["error"].astype(bool).sum() == 1
    answered = table[table["error"] == ""]
    assert sorted(answered["path"].map(lambda p: p.split("/")[-1])) == sorted(
        [*mini_table["filename"][:2], "LOUD.WAV", "voice.mp3"])
    probabilities = answered[[c for c in table if c.startswith("p_")]].to_numpy(dtype=float)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-3)
    document = json.loads(json_path.read_text())
    assert [p["label"] for p in document["predictions"]] == list(answered["label"])
    assert [f["path"].split("/")[-1] for f in document["failures"]] == ["broken.wav"]


def test_cli_never_overwrites_an_output_without_force(svm_run, mini_table, tmp_path, capsys):
    existing = tmp_path / "out.csv"
    existing.write_text("the user's own table")
    arguments = ["predict", mini_table["path"][0], "--model", str(svm_run), "--csv", str(existing)]
    assert cli.main(arguments) == cli.EXIT_BAD_INPUT
    assert "--force" in capsys.readouterr().err and existing.read_text() == "the user's own table"
    assert cli.main([*arguments, "--force"]) == 0 and existing.read_text().startswith("path,label")
    assert cli.main(["predict", mini_table["path"][0], "--model", str(svm_run), "--radar", str(tmp_path / "no" / "r.png")]) \
        == cli.EXIT_BAD_INPUT
    assert "no such folder" in capsys.readouterr().err


def test_the_printed_class_never_contradicts_the_gender_decision():
    labels = ["female_angry", "female_calm", "male_angry", "male_calm"]
    # female_angry is the single most probable class, but the male classes sum to more
    result = prediction.Prediction("x.wav", labels, np.array([0.40, 0.05, 0.25, 0.30]), np.zeros(1), np.zeros((1, 4)))
    assert result.gender == ("male", pytest.approx(0.55))
    assert result.label == "male_calm" and result.probability == pytest.approx(0.30)
    assert result.to_dict()["emotion"] == "calm"
    assert result.describe().startswith("male_calm (0.30); gender male (0.55)")


@pytest.mark.parametrize("condition, expected", [
    ("short", "of speech heard"),
    ("quiet", "very low level"),
    ("clipped", "clipped"),
    ("8 kHz", "sampled at 8000 Hz"),
])
def test_each_recording_problem_is_warned_about(model, clip, write_audio, condition, expected):
    import librosa

    samples, rate = clip
    normal = prediction.predict_file(model, write_audio("normal.wav", samples, rate))
    assert normal.warnings == []
    start = int(np.argmax(np.abs(samples) > 0.05 * np.abs(samples).max()))
    variants = {
        "short": (samples[start : start + int(0.6 * rate)], rate),
        "quiet": (samples * 10 ** (-45 / 20), rate),
        "clipped": (np.clip(samples * 20, -1, 1), rate),
        "8 kHz": (librosa.resample(samples, orig_sr=rate, target_sr=8000), 8000),
    }
    result = prediction.predict_file(model, write_audio(f"{condition}.wav", *variants[condition]))
    assert any(expected in warning for warning in result.warnings), result.warnings
    assert len(result.warnings) == 1


def test_the_model_warns_when_trained_on_synthetic_speech_or_never_tested_on_new_speakers(model):
    synthetic = {"dataset": {"name": "synthetic", "synthetic": True, "label": "SYNTHETIC"}, "protocol": "speaker"}
    real_random = {"dataset": {"name": "ravdess", "synthetic": False, "label": "RAVDESS"}, "protocol": "random"}
    real_speaker = real_random | {"protocol": "speaker"}
    warnings = {}
    for name, metadata in (("synthetic", synthetic), ("random", real_random), ("fine", real_speaker)):
        model.metadata, saved = metadata, model.metadata
        warnings[name] = prediction.model_warnings(model)
        model.metadata = saved
    assert len(warnings["synthetic"]) == 1 and "synthetic speech" in warnings["synthetic"][0]
    assert len(warnings["random"]) == 1 and "random split" in warnings["random"][0]
    assert warnings["fine"] == []


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
