"""Every registered model family: fit, save -> load -> identical probabilities, fingerprint checks."""

import json
import subprocess
import sys

import numpy as np
import pytest

from ser_utils import models, training
from ser_utils.models import ModelMismatch


def toy_problem(shape, n=120, seed=0):
    """Two classes that differ in the first 10 channels of noisy features of ``shape``."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    data = rng.normal(size=(n, *shape)).astype(np.float32)
    offset = labels.reshape(n, *[1] * len(shape)) * 1.5
    if len(shape) == 2:  # a (frames x channels) matrix: a pattern over time, which survives per-clip mean removal
        offset = offset * np.where(np.arange(shape[0]) % 2, 1.0, -1.0)[None, :, None]
    data[..., :10] += offset
    return data, labels


def toy_labels(model):
    """Two classes, or for a factorised model two gender_emotion classes that differ in both parts."""
    return ["female_angry", "male_sad"] if "factorised" in model else ["a", "b"]


def toy_data(model, n=120):
    """Toy features for ``model``: an array of its recipe's shape, or for an ensemble one per member."""
    if model.recipe is None:
        labels = np.arange(n) % 2
        return {m: toy_problem(models.model_class(m).default_recipe().shape, n)[0] for m in model.params["members"]}, labels
    return toy_problem(model.recipe.shape, n)


def rows(data, part):
    """``data[part]`` for an array or for each array of a dict."""
    return {k: v[part] for k, v in data.items()} if isinstance(data, dict) else data[part]


def fitted(name, **params):
    model = models.build_model(name, toy_labels(name), seed=0, **params)
    data, labels = toy_data(model)
    validation = (rows(data, slice(80, 100)), labels[80:100]) if model.uses_validation else None
    return model.fit(rows(data, slice(0, 80)), labels[:80], validation), rows(data, slice(100, None)), labels[100:]


FAST = {"svm": {}, "egemaps_lr": {}, "compare_lr": {}, "svm_factorised": {}, "egemaps_lr_factorised": {},
        "compare_lr_factorised": {}, "cnn": {"epochs": 3}, "seed_cnn": {"epochs": 2},
        "ensemble": {"members": ("svm", "egemaps_lr")}}


def test_a_network_without_held_out_data_trains_the_epochs_and_learning_rates_it_is_given():
    rates = [1e-3, 5e-4, 2.5e-4]
    model = models.build_model("cnn", ["a", "b"], seed=0, epochs=3, learning_rates=rates)
    data, labels = toy_problem(model.recipe.shape, n=40)
    model.fit(data, labels)
    assert model.epochs_run == 3
    np.testing.assert_allclose(model.history["learning_rate"], rates, rtol=1e-6)


def test_a_network_never_keeps_an_epoch_of_its_warm_up():
    """Validation labels the opposite of training's: validation loss is lowest after the first epoch and then rises,
    as on a fold of real voices where early stopping used to restore a network at chance."""
    model = models.build_model("cnn", ["a", "b"], seed=0, epochs=12, patience=2, warmup_epochs=3)
    data, labels = toy_problem(model.recipe.shape, n=100)
    model.fit(data[:80], labels[:80], (data[80:], 1 - labels[80:]))
    assert np.argmin(model.history["val_loss"]) < 3  # the first epochs were the best on validation...
    assert model.epochs_run >= 3 + 2 + 1  # ...yet training went on past the warm-up, then waited its patience
    kept = training.kept_epoch(model.history["val_loss"], 3)  # after the warm-up: the weights the model holds
    probabilities = model.predict_proba(data[80:])[np.arange(20), 1 - labels[80:]]
    assert -np.log(probabilities).mean() == pytest.approx(model.history["val_loss"][kept - 1], rel=1e-4)


@pytest.mark.parametrize("name", sorted(models.REGISTRY))
def test_each_family_saves_and_loads_to_identical_probabilities(tmp_path, name):
    model, test_data, _ = fitted(name, **FAST[name])
    model.metadata = {"note": "toy"}
    model.save(tmp_path / "run")
    loaded = models.load_model(tmp_path / "run", runtime="native")
    assert type(loaded) is type(model) and loaded.labels == toy_labels(name) and loaded.recipe == model.recipe
    np.testing.assert_allclose(loaded.predict_proba(test_data), model.predict_proba(test_data), atol=1e-6)
    assert loaded.metadata["note"] == "toy" and loaded.params == json.loads(json.dumps(model.params))
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.startswith(".")]
    fast = models.load_model(tmp_path / "run")  # every model of one framework: its ONNX copy; composites: their parts'
    runners = [fast] if not hasattr(fast, "parts") and not hasattr(fast, "members") else \
        list(getattr(fast, "parts", {}).values()) + getattr(fast, "members", [])
    assert fast.name == name and runners and all(type(runner).__name__ == "OnnxModel" for runner in runners)
    np.testing.assert_allclose(fast.predict_proba(test_data), model.predict_proba(test_data), atol=1e-5)


@pytest.mark.parametrize("name", ["svm", "egemaps_lr", "cnn", "ensemble", "svm_factorised"])  # compare_lr: 10 of 6373 toy features carry signal
def test_families_learn_a_separable_toy_problem(name):
    small_batches = {"epochs": 20, "batch_size": 4}  # enough steps for batch norm's running statistics
    model, test_data, test_labels = fitted(name, **(FAST[name] | (small_batches if name == "cnn" else {})))
    assert (model.predict_proba(test_data).argmax(axis=1) == test_labels).mean() >= 0.9


def test_factorised_model_multiplies_gender_and_emotion():
    labels = ["female_angry", "female_sad", "male_angry", "male_sad"]
    model = models.build_model("svm_factorised", labels, seed=0)
    data, _ = toy_problem(model.recipe.shape, n=160)
    targets = np.arange(160) % 4
    data[:, 20:30] += (targets >= 2)[:, None] * 2.0  # gender signal apart from the emotion signal
    model.fit(data[:120], targets[:120])
    gender = model.parts["gender"].predict_proba(data[120:])
    emotion = model.parts["emotion"].predict_proba(data[120:])
    expected = np.stack([gender[:, 0] * emotion[:, 0], gender[:, 0] * emotion[:, 1],
                         gender[:, 1] * emotion[:, 0], gender[:, 1] * emotion[:, 1]], axis=1)
    np.testing.assert_allclose(model.predict_proba(data[120:]), expected / expected.sum(axis=1, keepdims=True))
    with pytest.raises(ModelMismatch, match="needs gender_emotion labels"):
        models.build_model("svm_factorised", ["angry", "sad"])


def test_ensemble_averages_its_members_and_refuses_a_changed_member(tmp_path):
    ensemble, test_data, _ = fitted("ensemble", **FAST["ensemble"])
    expected = np.mean([m.predict_proba(test_data[m.name]) for m in ensemble.members], axis=0)
    np.testing.assert_allclose(ensemble.predict_proba(test_data), expected)
    with pytest.raises(ModelMismatch, match="lack the batch of member"):
        ensemble.predict_proba({"svm": test_data["svm"]})
    ensemble.save(tmp_path / "run")
    other, _, _ = fitted("svm", C=0.01)
    other.save(tmp_path / "run" / "members" / "svm")  # swap a member behind the ensemble's back
    with pytest.raises(ModelMismatch, match="member changed since the ensemble was saved"):
        models.load_model(tmp_path / "run")


def test_the_cnn_pools_each_channels_mean_and_spread_over_time():
    from ser_utils.models.cnn import StatisticsPooling

    frames = np.random.default_rng(0).normal(size=(3, 50, 4)).astype(np.float32)
    pooled = np.asarray(StatisticsPooling()(frames))
    expected = np.concatenate([frames.mean(axis=1), np.sqrt(frames.var(axis=1) + 1e-5)], axis=1)
    np.testing.assert_allclose(pooled, expected, rtol=1e-5)


def test_network_training_is_deterministic_for_a_seed():
    losses = [fitted("cnn", epochs=2)[0].history["loss"] for _ in range(2)]
    assert losses[0] == losses[1] and len(losses[0]) == 2


@pytest.fixture(scope="module")
def saved_svm(tmp_path_factory):
    model, test_data, _ = fitted("svm")
    return model.save(tmp_path_factory.mktemp("svm") / "run"), test_data


def _edit_metadata(run_dir, tmp_path, change):
    import shutil

    copy = shutil.copytree(run_dir, tmp_path / "edited")
    metadata = json.loads((copy / "metadata.json").read_text())
    change(metadata)
    (copy / "metadata.json").write_text(json.dumps(metadata))
    return copy


def test_labels_edited_in_metadata_are_refused(saved_svm, tmp_path):
    run_dir = _edit_metadata(saved_svm[0], tmp_path, lambda m: m.update(labels=["a", "b", "c"]))
    with pytest.raises(ModelMismatch, match="labels .* differ from those the model was saved with"):
        models.load_model(run_dir)


def test_recipe_edited_in_metadata_is_refused(saved_svm, tmp_path):
    run_dir = _edit_metadata(saved_svm[0], tmp_path, lambda m: m["recipe"]["matrix"].update(n_mfcc=20))
    with pytest.raises(ModelMismatch, match="feature recipe differs from the one the model was saved with"):
        models.load_model(run_dir)


@pytest.mark.parametrize("runtime, weights", [("native", "model.skops"), ("auto", "model.onnx")])
def test_changed_weights_file_is_refused(saved_svm, tmp_path, runtime, weights):
    run_dir = _edit_metadata(saved_svm[0], tmp_path, lambda m: None)
    with open(run_dir / weights, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelMismatch, match=f"{weights}: weights file changed"):
        models.load_model(run_dir, runtime=runtime)


def test_features_of_the_wrong_shape_are_refused(saved_svm):
    model = models.load_model(saved_svm[0])
    with pytest.raises(ModelMismatch, match=r"expects a batch of stats features of shape \(160,\)"):
        model.predict_proba(np.zeros((2, 216)))


@pytest.mark.parametrize("runtime, weights", [("native", "model.skops"), ("auto", "model.onnx")])
def test_missing_or_unknown_models_are_explained(tmp_path, saved_svm, runtime, weights):
    with pytest.raises(FileNotFoundError, match="no metadata.json"):
        models.load_model(tmp_path)
    with pytest.raises(ValueError, match="unknown model 'forest'"):
        models.build_model("forest", ["a", "b"])
    with pytest.raises(TypeError, match="has no parameter"):
        models.build_model("svm", ["a", "b"], epochs=3)
    run_dir = _edit_metadata(saved_svm[0], tmp_path, lambda m: None)
    (run_dir / weights).unlink()
    with pytest.raises(FileNotFoundError, match=f"{weights}, which is missing"):
        models.load_model(run_dir, runtime=runtime)


def test_classical_models_never_import_keras():
    code = ("import sys; from ser_utils import models, training, evaluation, runs, prediction; "
            "models.build_model('svm', ['a', 'b']); print('keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("name, params", [("cnn", {"epochs": 2}), ("svm", {}), ("compare_lr_factorised", {})])
def test_a_saved_model_predicts_from_its_onnx_copy_without_its_framework(tmp_path, name, params):
    model, test_data, _ = fitted(name, **params)
    model.save(tmp_path / name)
    np.save(tmp_path / "batch.npy", test_data)
    frameworks = ("tensorflow", "keras", "sklearn", "skops")
    code = ("import sys, numpy as np; from ser_utils import models, prediction; "
            f"m = models.load_model({str(tmp_path / name)!r}); "
            f"p = m.predict_proba(np.load({str(tmp_path / 'batch.npy')!r})); "
            f"np.save({str(tmp_path / 'onnx.npy')!r}, p); "
            f"print(m.name, [module for module in {frameworks!r} if module in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == [name, "[]"]
    np.testing.assert_allclose(np.load(tmp_path / "onnx.npy"), model.predict_proba(test_data), atol=1e-5)


@pytest.mark.parametrize("seen", [(0, 2, 3), (0, 1, 2)], ids=["a class in the middle unseen", "the last unseen"])
def test_a_pipeline_that_never_saw_a_class_gives_it_probability_0_from_either_file(tmp_path, seen):
    labels = ["a", "b", "c", "d"]
    data, _ = toy_problem((160,), n=90)
    targets = np.array(seen)[np.arange(90) % 3]
    model = models.build_model("svm", labels, seed=0).fit(data[:60], targets[:60])
    model.save(tmp_path / "svm")
    unseen = sorted(set(range(4)) - set(seen))
    for runtime in ("auto", "native"):
        loaded = models.load_model(tmp_path / "svm", runtime=runtime)
        probabilities = loaded.predict_proba(data[60:])
        np.testing.assert_allclose(probabilities, model.predict_proba(data[60:]), atol=1e-5)
        assert (probabilities[:, unseen] == 0).all() and np.allclose(probabilities.sum(axis=1), 1)


def test_features_that_are_not_finite_are_refused_by_every_runtime(saved_svm):
    for runtime in ("auto", "native"):
        model = models.load_model(saved_svm[0], runtime=runtime)
        for value in (np.inf, -np.inf, np.nan):
            features = np.zeros((2, 160))
            features[1, 3] = value
            with pytest.raises(ValueError, match="not finite numbers"):
                model.predict_proba(features)


def test_a_model_loaded_from_onnx_cannot_be_saved_into_an_ensemble_and_writes_nothing(saved_svm, tmp_path):
    from ser_utils.models.ensemble import EnsembleModel

    onnx = models.load_model(saved_svm[0])
    ensemble = EnsembleModel.from_members([models.load_model(saved_svm[0], runtime="native"), onnx])
    with pytest.raises(NotImplementedError, match="runtime='native'"):
        ensemble.save(tmp_path / "ensemble")
    assert not (tmp_path / "ensemble").exists() or not any((tmp_path / "ensemble").rglob("*.*"))
    assert onnx.clone().name == "svm" and type(onnx.clone()).__name__ == "SVMModel"


def _graph(path, inputs: int, width):
    """An ONNX graph of ``inputs`` float inputs of ``width`` values (an int, or a name: a width the graph does not
    fix) whose first is passed through to its output."""
    import onnx
    from onnx import TensorProto, helper

    names = [f"x{i}" for i in range(inputs)]
    graph = helper.make_graph([helper.make_node("Identity", names[:1], ["y"])], "toy",
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, width]) for n in names],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, width])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


@pytest.mark.parametrize("inputs, width", [(2, 160), (1, "width"), (0, 160)],
                         ids=["two inputs", "size not fixed", "no input"])
def test_an_onnx_graph_that_is_not_one_of_this_projects_models_is_refused(saved_svm, tmp_path, inputs, width):
    run_dir = _edit_metadata(saved_svm[0], tmp_path, lambda m: None)
    _graph(run_dir / "model.onnx", inputs, width)
    metadata = json.loads((run_dir / "metadata.json").read_text())
    metadata["exports"]["onnx"]["sha256"] = models.sha256(run_dir / "model.onnx")
    (run_dir / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelMismatch, match="not a model graph of this project|not a readable ONNX model"):
        models.load_model(run_dir)


def test_a_changed_onnx_copy_is_refused(tmp_path):
    model, _, _ = fitted("svm")  # the copy's hash is checked alike for every family that writes one
    model.save(tmp_path / "svm")
    with open(tmp_path / "svm" / "model.onnx", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(models.ModelMismatch, match="model.onnx"):
        models.load_model(tmp_path / "svm")


def test_a_model_saved_twice_is_converted_to_onnx_once_until_it_is_fitted_again(tmp_path, monkeypatch):
    """A delivered model is saved as its run's and again as an ensemble's member: one conversion serves both."""
    from ser_utils.models.onnx_model import OnnxModel

    model, test_data, _ = fitted("svm")
    conversions, convert = [], type(model)._write_onnx

    def counted_conversion(self, path):
        conversions.append(path)
        convert(self, path)

    monkeypatch.setattr(type(model), "_write_onnx", counted_conversion)
    run, member = tmp_path / "run", tmp_path / "ensemble" / "members" / "svm"
    model.save(run)
    model.save(member)
    assert len(conversions) == 1
    assert (run / "model.onnx").read_bytes() == (member / "model.onnx").read_bytes()
    data, labels = toy_data(model)
    model.fit(data[:60], labels[:60])  # other rows: other weights, so a stale graph would predict otherwise
    model.save(tmp_path / "refitted")
    assert len(conversions) == 2
    from_graph = models.load_model(tmp_path / "refitted")
    assert isinstance(from_graph, OnnxModel)
    np.testing.assert_allclose(from_graph.predict_proba(test_data), model.predict_proba(test_data), atol=1e-5)


@pytest.mark.parametrize("name", ["svm", "compare_lr_factorised"])
def test_a_clone_is_unfitted_and_refits_to_the_same_probabilities(name):
    model, test_data, _ = fitted(name, **FAST[name])
    copy = model.clone()
    assert copy.estimator is None and copy.params == model.params and copy.seed == model.seed
    data, labels = toy_data(copy)
    copy.fit(rows(data, slice(0, 80)), labels[:80])
    np.testing.assert_allclose(copy.predict_proba(test_data), model.predict_proba(test_data))


def test_networks_run_tensorflow_on_one_thread_per_process():
    """Folds are trained side by side, a process each: TensorFlow's own threads would compete with them for the
    cores, and a fold's network would depend on how many threads the process that trained it had."""
    code = ("import ser_utils.models.network, tensorflow as tf; threading = tf.config.threading; "
            "print(threading.get_intra_op_parallelism_threads(), threading.get_inter_op_parallelism_threads())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["1", "1"]
