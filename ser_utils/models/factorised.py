"""Factorised gender x emotion: P(gender, emotion) = P(gender) x P(emotion), from two models of one family.

A flat model learns 10 ``gender_emotion`` classes from 1/10 of the data each; a
factorised one learns gender (2 classes) and emotion (5 classes, each with both genders'
clips) separately and multiplies their probabilities. Emotion then gets twice the
examples per class, at the cost of assuming the two independent given the voice. Conditioning instead, an
emotion model per gender, P(gender) x P(emotion | gender), lost on real RAVDESS (12 actors, speaker protocol, all
folds, 2026-12-02) for svm (0.550 against 0.590) and egemaps_lr (0.531 against 0.550) and tied for compare_lr
(0.613 against 0.612): each emotion model learns from half the clips. Gender used to standardise the features, one
emotion model on features standardised within each gender (a test clip under each, weighted by P(gender)), lifted
compare_lr to 0.637 and egemaps_lr to 0.560, cost svm 2.3 points, and did not lift the ensemble (0.702-0.717 against
0.719, 2026-12-03): not kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from .. import config
from ..features import Recipe
from . import Model, ModelMismatch, build_model, load_parts, model_class, save_parts


class FactorisedModel(Model):
    """A gender model times an emotion model, both of the (classical) family :attr:`family`.

    Labels must be ``gender_emotion``; the product is renormalised to sum to 1.
    """

    family: ClassVar[str]
    weights_file = "parts.json"

    def __init__(self, labels, recipe: Recipe | None = None, **kwargs):
        super().__init__(labels, recipe, **kwargs)
        if not config.labels_have_gender(self.labels):
            raise ModelMismatch(f"a factorised model needs gender_emotion labels, got {self.labels}")
        self.emotions = sorted({config.split_label(label)[1] for label in self.labels})
        self.parts: dict[str, Model] = {}

    @classmethod
    def default_recipe(cls) -> Recipe:
        """The recipe of the underlying family."""
        return model_class(cls.family).default_recipe()

    def _part_targets(self, targets: np.ndarray) -> dict[str, np.ndarray]:
        """Gender and emotion class ids of joint class ids."""
        pairs = [config.split_label(self.labels[t]) for t in targets]
        return {"gender": np.array([config.GENDERS.index(g) for g, _ in pairs]),
                "emotion": np.array([self.emotions.index(e) for _, e in pairs])}

    def _fit(self, features: np.ndarray, targets: np.ndarray, validation) -> None:
        part_labels = {"gender": list(config.GENDERS), "emotion": self.emotions}
        validation_targets = None if validation is None else self._part_targets(validation[1])
        for part, targets_of_part in self._part_targets(targets).items():
            model = build_model(self.family, part_labels[part], self.recipe, seed=self.seed)
            model.fit(features, targets_of_part,
                      None if validation is None else (validation[0], validation_targets[part]))
            self.parts[part] = model
        self.estimator = self.parts

    def _predict_proba(self, features: np.ndarray) -> np.ndarray:
        gender = self.parts["gender"].predict_proba(features)
        emotion = self.parts["emotion"].predict_proba(features)
        columns = [(config.GENDERS.index(g), self.emotions.index(e)) for g, e in map(config.split_label, self.labels)]
        joint = np.stack([gender[:, g] * emotion[:, e] for g, e in columns], axis=1)
        return joint / joint.sum(axis=1, keepdims=True)

    def _save_weights(self, path: Path) -> None:
        save_parts(self.parts, path.parent, path)

    def _load_weights(self, path: Path) -> None:
        self.parts = load_parts(("gender", "emotion"), path.parent, path, role="part", owner="factorised model",
                                runtime=self.runtime)
        self.estimator = self.parts

    def _io_shapes(self) -> tuple[tuple[int, ...], int]:
        gender_shape, n_genders = self.parts["gender"]._io_shapes()
        emotion_shape, n_emotions = self.parts["emotion"]._io_shapes()
        if (n_genders, n_emotions, emotion_shape) != (len(config.GENDERS), len(self.emotions), gender_shape):
            raise ModelMismatch(f"factorised parts give {n_genders} genders and {n_emotions} emotions on inputs "
                                f"{gender_shape} and {emotion_shape}; labels {self.labels} need "
                                f"{len(config.GENDERS)} and {len(self.emotions)} on one input")
        return gender_shape, len(self.labels)


class FactorisedSVM(FactorisedModel):
    """Gender SVM x emotion SVM on MFCC statistics."""

    name = "svm_factorised"
    title = "SVM on MFCC statistics, factorised: P(gender) x P(emotion)"
    family = "svm"


class FactorisedComParE(FactorisedModel):
    """Gender x emotion logistic regressions on ComParE functionals."""

    name = "compare_lr_factorised"
    title = "Logistic regression on ComParE 2016, factorised: P(gender) x P(emotion)"
    family = "compare_lr"


class FactorisedEGeMAPS(FactorisedModel):
    """Gender x emotion logistic regressions on eGeMAPS functionals."""

    name = "egemaps_lr_factorised"
    title = "Logistic regression on eGeMAPS, factorised: P(gender) x P(emotion)"
    family = "egemaps_lr"
