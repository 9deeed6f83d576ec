"""A model family is one new module plus one registry line: the plans, training, evaluation and `ser predict`
then take it up with nothing else changed."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from joblib.externals.loky import get_reusable_executor

from ser_utils import cli, config, evaluation, models, parameters, runs, training

TOY_FAMILY = '''
"""A toy family: each class's mean feature vector; the nearest means are the most probable classes."""

import numpy as np

from ser_utils.features import StatsRecipe
from ser_utils.models import Model


class NearestMeanModel(Model):
    name = "nearest_mean"
    title = "nearest class mean of standardised MFCC statistics"
    weights_file = "means.npz"

    @classmethod
    def default_recipe(cls):
        return StatsRecipe()

    def _fit(self, features, targets, validation):
        self.scale = features.mean(axis=0), features.std(axis=0) + 1e-6
        scaled = (features - self.scale[0]) / self.scale[1]
        self.estimator = np.stack([scaled[targets == k].mean(axis=0) for k in range(len(self.labels))])

    def _predict_proba(self, features):
        scaled = (features - self.scale[0]) / self.scale[1]
        distances = ((scaled[:, None, :] - self.estimator[None]) ** 2).mean(axis=2)
        scores = np.exp(-(distances - distances.min(axis=1, keepdims=True)))
        return scores / scores.sum(axis=1, keepdims=True)

    def _save_weights(self, path):
        np.savez(path, means=self.estimator, mean=self.scale[0], std=self.scale[1])

    def _load_weights(self, path):
        with np.load(path, allow_pickle=False) as saved:
            self.estimator, self.scale = saved["means"], (saved["mean"], saved["std"])

    def _io_shapes(self):
        return (self.estimator.shape[1],), self.estimator.shape[0]
'''


@pytest.fixture
def toy_family(tmp_path, monkeypatch):
    """The toy family in a package of its own, registered with one line."""
    package = tmp_path / "toyfamilies"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "nearest_mean.py").write_text(textwrap.dedent(TOY_FAMILY))
    monkeypatch.syspath_prepend(str(tmp_path))
    get_reusable_executor().shutdown(wait=True)  # folds are fitted in worker processes: new ones see the new path
    monkeypatch.setitem(models.REGISTRY, "nearest_mean",
                        models.Family("toyfamilies.nearest_mean:NearestMeanModel", report=("speaker",)))
    return "nearest_mean"


def test_a_registered_family_is_planned_trained_evaluated_and_predicts(toy_family, mini_table, tmp_path, monkeypatch,
                                                                      capsys):
    assert toy_family in training.report_plan() and toy_family in training.accuracy_plan()
    assert parameters.problems({"SCHEME": config.DEFAULT_SCHEME, "MODEL": toy_family}) == []
    monkeypatch.setattr(config, "MODELS_DIR", tmp_path / "models")
    saved = training.train_and_save(mini_table, dataset={"name": "mini", "synthetic": True}, n_folds=2,
                                    plan=training.report_plan("speaker", [toy_family]), progress=False)
    assert list(saved) == [(toy_family, "speaker")]
    run_dir = config.run_dir("mini", toy_family, "speaker")
    summary = evaluation.summarise(runs.load_run(run_dir, labels=list(mini_table["label"].cat.categories)))
    assert summary["n_folds"] == 2 and summary["mean"]["uar"] > config.label_scheme(config.DEFAULT_SCHEME)["chance"]
    capsys.readouterr()
    assert cli.main(["predict", mini_table["path"].iloc[0], "--model", str(run_dir), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)["predictions"][0]
    assert answer["label"] in mini_table["label"].cat.categories
    assert np.isclose(sum(answer["probabilities"].values()), 1.0, atol=1e-3)


def test_every_registered_family_lists_known_protocols_and_reports_a_subset_of_them():
    from ser_utils.protocols import PROTOCOLS

    assert models.ALL_PROTOCOLS == tuple(PROTOCOLS)
    with pytest.raises(ValueError, match="unknown model"):
        training.report_plan("speaker", ["svmm"])
    for name, family in models.REGISTRY.items():
        assert set(family.report) <= set(family.protocols) <= set(PROTOCOLS), name
        assert models.model_class(name).name == name
