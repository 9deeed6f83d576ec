"""Shared fixtures: small real corpora made on the fly, and audio-file writers."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.pop("SER_SCHEDULER", None)  # tests run on this machine's cores unless one starts a cluster itself

import opensmile  # noqa: E402, F401  before TensorFlow in every test process, whichever test imports it (models/network.py)

from ser_utils import config, corpus, features, synth  # noqa: E402

SHARED_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "ravdess-sample"


def tone(frequency: float = 440.0, seconds: float = 3.5, rate: int = 22050, amplitude: float = 0.3) -> np.ndarray:
    """A pure sine tone."""
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


@pytest.fixture
def write_audio(tmp_path):
    """Write samples to ``tmp_path/name`` (format from the suffix) and return the path."""

    def _write(name: str, samples: np.ndarray, rate: int = 22050) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, samples, rate)
        return path

    return _write


@pytest.fixture(scope="session")
def mini_corpus(tmp_path_factory) -> Path:
    """Four synthetic actors (2 male, 2 female; 240 clips) in RAVDESS layout."""
    root = tmp_path_factory.mktemp("mini_corpus")
    list(synth.render_actors(synth.speaker_voices(seed=7)[:4], root, seed=7))
    return root


@pytest.fixture(scope="session")
def mini_table(mini_corpus):
    """The seed's 10-class labels table of :func:`mini_corpus` (160 clips)."""
    return corpus.build_labels_table(mini_corpus)


@pytest.fixture(scope="session")
def gender_table(mini_table):
    """The first take of each class of :func:`mini_table` labelled by gender only (40 clips, 2 classes): for tests
    whose cost grows with the clips (corrupted copies, a cluster's round trips) and whose point does not."""
    first_take = mini_table[(mini_table["statement"] == 1) & (mini_table["repetition"] == 1)]
    return corpus.apply_label_scheme(first_take.drop(columns="label"), "gender").reset_index(drop=True)


@pytest.fixture(scope="session")
def stats_with_a_broken_clip(mini_table, tmp_path_factory):
    """Stats features of the mini corpus with an unreadable file inserted as the first row (skipped)."""
    broken = tmp_path_factory.mktemp("broken") / "03-01-05-02-01-01-01.wav"
    broken.write_bytes(b"not audio")
    table = pd.concat([mini_table.head(1).assign(path=str(broken)), mini_table], ignore_index=True)
    table["label"] = pd.Categorical(table["label"], categories=mini_table["label"].cat.categories)
    return features.extract_features(table, features.StatsRecipe(), cache_dir=None, progress=False)


@pytest.fixture
def relabel():
    """A function giving a feature set with the labels of ``actors`` rotated by ``shift`` classes.

    Whatever must not read test labels gives the same answers on the relabelled set.
    """

    def _relabel(feature_set, actors, shift):
        table = feature_set.table.copy()
        tested = table["actor"].isin(actors).to_numpy()
        codes = table["label"].cat.codes.to_numpy().copy()
        codes[tested] = np.roll(codes[tested], shift)
        table["label"] = pd.Categorical.from_codes(codes, categories=table["label"].cat.categories)
        return features.FeatureSet(feature_set.features, table, [], feature_set.recipe)

    return _relabel


#: A 1 x 1 PNG image (base64).
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


@pytest.fixture
def executed(tmp_path):
    """Five small executed notebooks and a metrics.json, as `make report` leaves them (for the report and the slides)."""
    import nbformat

    from ser_utils import report

    for name in report.SECTIONS:
        book = nbformat.v4.new_notebook()
        code = nbformat.v4.new_code_cell("print('hello')")
        code.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"output of {name} from {tmp_path}/corpus\n"),
                        nbformat.v4.new_output("stream", name="stderr", text="progress bar noise\n")]
        default = nbformat.v4.new_code_cell("DATASET = 'default value'", metadata={"tags": ["parameters"]})
        injected = nbformat.v4.new_code_cell("DATASET = 'injected value'", metadata={"tags": ["injected-parameters"]})
        plumbing = nbformat.v4.new_markdown_cell("## Save the files", metadata={"tags": ["plumbing"]})
        figure = nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\n# (`make test` compares this output)\nplots.counts(table)")
        figure.outputs = [nbformat.v4.new_output("display_data", data={"image/png": PNG}, metadata={
            "image/png": {"title": f"Clips per class in {name}", "alt": f"Bars of clips per class in {name}."}})]
        book.cells = [nbformat.v4.new_markdown_cell(f"# Section {name}\n\n## Part one of {name}"), default, injected,
                      code, figure, plumbing]
        nbformat.write(book, tmp_path / f"{name}.ipynb")
    mean = {"accuracy": 0.5, "uar": 0.5, "f1_macro": 0.4, "auc_macro": 0.9, "gender_accuracy": 0.99,
            "emotion_accuracy": 0.55}
    run = {"model": "cnn", "protocol": "speaker", "n_folds": 6, "train_seconds": 3.0, "mean": mean,
           "std": {key: 0.04 for key in mean}}
    metrics = {"dataset": {"name": "synthetic", "synthetic": True, "label": "SYNTHETIC corpus (test)",
                           "path": str(tmp_path / "corpus")},
               "scheme": config.label_scheme("gender_emotion5"), "headline": run,
               "runs": [run, run | {"protocol": "random", "mean": mean | {"uar": 0.8}},
                        run | {"model": "seed_cnn", "mean": mean | {"uar": 0.25}},
                        run | {"model": "compare_lr", "mean": mean | {"uar": 0.45}}]}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    return tmp_path


#: Debian's Chromium, which the browser tests drive (`.ci/run` installs it; elsewhere those tests skip).
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def launch_browser():
    """``launch(*chromium_args)``: a headless Chromium driven by Playwright, closed when the session ends; the test
    is skipped, saying why, on a machine without Chromium."""
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine (Debian: apt install chromium): the browser tests need one")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = []

        def launch(*chromium_args):
            launched.append(playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", *chromium_args]))
            return launched[-1]

        yield launch
        for chromium in launched:
            chromium.close()


#: The test modules that take longest (``make test TEST_ARGS=--durations=0``, 2026-12-03: 43, 33, 25, 18, 16, 14 and
#: 14 s), started right after the notebooks so that the two workers end together instead of one waiting on a long
#: module dealt out last. Only an order: a module missing here starts later, in file order.
LONGEST_MODULES = ("test_models", "test_engine", "test_live", "test_augment", "test_accuracy_benchmark",
                   "test_features", "test_training")


def pytest_collection_modifyitems(items):
    """The notebooks' cells first (the longest chain, in order), then :data:`LONGEST_MODULES`, then the rest."""
    def start_rank(item) -> tuple[int, int]:
        if item.nodeid.split("::")[0].endswith(".ipynb"):
            return 0, 0
        module = Path(item.nodeid.split("::")[0]).stem
        return (1, LONGEST_MODULES.index(module)) if module in LONGEST_MODULES else (2, 0)

    items.sort(key=start_rank)  # stable: each module's tests and the notebooks' cells keep their order


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: without it (``-p no:xdist``), never called
def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist (``make test``): each test module on one worker (its fixtures are made once), and every
    notebook cell on one worker, in order: the notebooks are one story, each reading what the one before wrote.
    A distribution mode asked for by name other than the default (``--dist worksteal``) is left to xdist."""
    if config.getoption("dist") not in ("load", "loadscope"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModulesAndTheStory(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "notebooks" if ".ipynb::" in nodeid else super()._split_scope(nodeid)

    return ModulesAndTheStory(config, log)
