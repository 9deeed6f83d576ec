"""Model families behind one interface, and a registry that maps names to them.

Every family is a :class:`Model`: it declares the feature recipe it is built for,
and offers ``fit``, ``predict_proba``, ``save`` and ``load``, in scikit-learn's spirit.
A family lives in its own module and is listed once in :data:`REGISTRY`, with the protocols it
is evaluated under (the training plans of ``make report`` and ``make accuracy`` are derived from
it); the module is imported only when the family is used, so scikit-learn families never import Keras.

>>> model = build_model("svm", labels=["calm", "angry"])  # doctest: +SKIP
>>> model.fit(train_features, train_targets).predict_proba(test_features)  # doctest: +SKIP

Adding a family: write ``ser_utils/models/<family>.py`` with a :class:`Model` subclass,
and add one line to :data:`REGISTRY`: ``make report`` and ``make accuracy`` then train and evaluate it.
"""

from .base import Model
from .fingerprint import ModelMismatch, check_metadata, sha256
from .persistence import load_model, load_parts, save_parts
from .registry import ALL_PROTOCOLS, NETWORK_PROTOCOLS, REGISTRY, Family, build_model, model_class

__all__ = ["ALL_PROTOCOLS", "Family", "Model", "ModelMismatch", "NETWORK_PROTOCOLS", "REGISTRY", "build_model",
           "check_metadata", "load_model", "load_parts", "model_class", "save_parts", "sha256"]
