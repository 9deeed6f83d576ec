"""Features: recipes, their cached extraction over a labels table, and the cache of corrupted clips' features.

- :mod:`.recipes`: the recipes (small frozen settings objects that turn a clip into features):
  :class:`LegacyRecipe` (the seed project's 216 values), :class:`MatrixRecipe` (a time x coefficient matrix of a
  fixed-length window of speech, for networks), :class:`StatsRecipe` (mean and std of that matrix over the whole
  speech), :class:`OpenSmileRecipe` (openSMILE functionals), :class:`ProsodyRecipe` (pitch, energy and rate, to
  explore the corpus).
- :mod:`.extraction`: :func:`extract_features` over a labels table, in parallel, cached by the recipe, the code that
  computes it (:func:`recipe_code`) and each file's state.
- :mod:`.corrupted`: :func:`corrupted_features` of corrupted clips (:mod:`ser_utils.augment`), cached in shards.
- :mod:`.projection`: :func:`project_2d` (PCA and t-SNE) for notebook 02.
"""

from .corrupted import bank_dir, corrupted_features, corrupted_key
from .extraction import FeatureSet, cache_key, compile_kernels, extract_features, file_stamp, read_cache, recipe_code
from .projection import project_2d
from .recipes import (OPENSMILE_SIZES, RECIPES, LegacyRecipe, MatrixRecipe, OpenSmileRecipe, ProsodyRecipe, Recipe,
                      StatsRecipe, make_recipe, recipe_from_dict, window_starts)

__all__ = ["FeatureSet", "LegacyRecipe", "MatrixRecipe", "OPENSMILE_SIZES", "OpenSmileRecipe", "ProsodyRecipe", "RECIPES",
           "Recipe", "StatsRecipe", "bank_dir", "cache_key", "compile_kernels", "corrupted_features", "corrupted_key", "extract_features",
           "file_stamp", "make_recipe", "project_2d", "read_cache", "recipe_code", "recipe_from_dict", "window_starts"]
