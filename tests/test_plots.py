"""Every figure reads at a glance: a title, a footer naming the corpus, one colour per class everywhere."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from ser_utils import calibration, config, plots

LABELS = [f"{g}_{e}" for g in config.GENDERS for e in ("angry", "calm", "fearful", "happy", "sad")]
RNG = np.random.default_rng(0)
TARGETS = np.arange(200) % 10
PROBABILITIES = RNG.dirichlet(np.ones(10), 200)
TABLE = pd.DataFrame({"label": pd.Categorical(np.array(LABELS)[TARGETS], categories=LABELS),
                      "gender": [label.split("_")[0] for label in np.array(LABELS)[TARGETS]],
                      "actor": TARGETS % 4 + 1, "emotion": [label.split("_")[1] for label in np.array(LABELS)[TARGETS]],
                      "pitch_hz": RNG.normal(150, 30, 200)})
SUMMARY = {"model": "svm", "protocol": "speaker", "mean": {"uar": 0.5}, "std": {"uar": 0.0}}

FIGURES = {
    "distributions": lambda: plots.distributions(TABLE, {"pitch_hz": "pitch (Hz)"}, "CORPUS"),
    "mean_curves": lambda: plots.mean_curves(RNG.normal(size=(200, 30)), TABLE["label"], title="t", xlabel="x",
                                             ylabel="y", caption="CORPUS"),
    "projection": lambda: plots.projection({"PCA": RNG.normal(size=(200, 2))}, TABLE["label"], "CORPUS"),
    "confusion": lambda: plots.confusion(TARGETS, PROBABILITIES, LABELS, "confusion", "CORPUS"),
    "roc": lambda: plots.roc_curves(TARGETS, PROBABILITIES, LABELS, "ROC", "CORPUS"),
    "protocols": lambda: plots.protocol_comparison([SUMMARY], "uar", "CORPUS", chance=0.1),
    "radar": lambda: plots.radar({"female": np.full(5, 0.02), "male": np.full(5, 0.18)},
                                 ["angry", "calm", "fearful", "happy", "sad"], "male", "radar", "CORPUS"),
    "timeline": lambda: plots.window_timeline(np.arange(3.0), PROBABILITIES[:3], LABELS, 3.0, "timeline", "CORPUS"),
    "robustness": lambda: plots.robustness(
        pd.DataFrame({"condition": ["clean", "white", "white", "telephone"], "level": [0.0, 20, 0, 1], "clips": 30,
                      "uar": [0.6, 0.5, 0.2, 0.4], "gender_accuracy": [0.9, 0.9, 0.6, 0.8]}),
        title="noise", caption="CORPUS", chance={"uar": 0.1, "gender_accuracy": 0.5}),
    "spectrograms": lambda: plots.spectrograms({"clean": RNG.normal(size=8000), "noisy": RNG.normal(size=8000)}, 16000,
                                               title="augmentation", caption="CORPUS"),
    "reliability": lambda: plots.reliability({"raw": calibration.reliability_bins(PROBABILITIES, TARGETS)},
                                             "reliability", "CORPUS"),
    "mfcc": lambda: plots.mfcc_image(RNG.normal(size=(13, 50)), sample_rate=16000, hop_length=160, title="MFCC",
                                     caption="CORPUS"),
}


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_has_a_title_and_names_its_corpus(name):
    figure = FIGURES[name]()
    titles = [ax.get_title() for ax in figure.axes] + [figure.get_suptitle()]
    assert any(titles), f"{name}: no title"
    assert any(text.get_text() == "CORPUS" for text in figure.texts), f"{name}: no corpus footer"
    plt.close(figure)


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_is_described_from_what_it_shows(name):
    figure = FIGURES[name]()
    title, description = plots.figure_title(figure), plots.describe_figure(figure)
    assert title and description.startswith(title) and description.endswith("CORPUS")
    assert "axis" in description or name == "radar"  # the radar's axes are its emotions, named in the legend
    plt.close(figure)


def test_in_a_notebook_each_figure_carries_its_title_and_description_to_the_report():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        with plt.rc_context():
            plots.use_style()
            figure = plots.confusion(TARGETS, PROBABILITIES, LABELS, "confusion of ten classes", "CORPUS")
            data, metadata = shell.display_formatter.format(figure)
    finally:
        InteractiveShell.clear_instance()
        plt.close("all")
    assert data["image/png"] and metadata["image/png"]["title"] == "confusion of ten classes"
    assert metadata["image/png"]["alt"] == plots.describe_figure(figure)
    assert "Horizontal axis: predicted" in metadata["image/png"]["alt"]


def test_a_class_has_one_colour_in_every_figure_light_for_female_dark_for_male():
    female, male = np.array(plots.class_colour("female_sad")), np.array(plots.class_colour("male_sad"))
    assert female.sum() > male.sum()  # lighter
    assert np.argmax(female) == np.argmax(male) == np.argmax(plots.class_colour("sad"))  # one hue per emotion
    roc = plots.roc_curves(TARGETS, PROBABILITIES, LABELS, "ROC", "CORPUS")
    drawn = {line.get_label().split(" (")[0]: line.get_color() for line in roc.axes[0].lines}
    assert all(np.allclose(drawn[label], plots.class_colour(label)) for label in LABELS)
    plt.close(roc)


def _error_bars_drawn(figure) -> int:
    """Error-bar segments with a finite, non-zero length."""
    from matplotlib.collections import LineCollection

    segments = [segment for collection in figure.axes[0].collections if isinstance(collection, LineCollection)
                for segment in collection.get_segments()]
    return sum(bool(np.ndim(seg) == 2 and np.isfinite(seg).all() and np.ptp(np.asarray(seg)[:, 1]) > 0)
               for seg in segments)


def test_no_error_bar_where_a_single_fold_has_no_spread():
    single = plots.protocol_comparison([SUMMARY], "uar", "CORPUS", chance=0.1)
    spread = plots.protocol_comparison([SUMMARY | {"std": {"uar": 0.05}}], "uar", "CORPUS", chance=0.1)
    assert _error_bars_drawn(single) == 0 and _error_bars_drawn(spread) == 1
    plt.close("all")


def test_importing_the_figures_leaves_matplotlibs_settings_alone():
    """Only ``use_style()`` (the notebooks call it) changes the global look; ``ser predict --radar`` keeps its own."""
    import subprocess
    import sys

    check = ("import matplotlib; before = dict(matplotlib.rcParams); import ser_utils.plots as plots; "
             "assert dict(matplotlib.rcParams) == before; plots.use_style(); "
             "assert matplotlib.rcParams['figure.dpi'] == plots.FIGURE_DPI")
    subprocess.run([sys.executable, "-c", check], check=True)


def test_the_confusion_matrix_counts_the_decision_ser_predict_prints_not_the_top_class():
    """The single most probable class is female_angry, but the male classes hold 70 %: the answer is male_sad."""
    probabilities = np.zeros((1, 10))
    probabilities[0, LABELS.index("female_angry")] = 0.3
    probabilities[0, [LABELS.index(f"male_{e}") for e in ("angry", "calm", "fearful", "happy")]] = 0.125
    probabilities[0, LABELS.index("male_sad")] = 0.2
    truth = np.array([LABELS.index("male_sad")])
    figure = plots.confusion(truth, probabilities, LABELS, "confusion", "CORPUS")
    matrix = np.asarray(figure.axes[0].collections[0].get_array()).reshape(10, 10)
    assert matrix[truth[0], truth[0]] == 1.0
    plt.close(figure)


def test_the_robustness_panels_shade_the_interval_that_few_clips_leave():
    low, high = plots.wilson_interval(np.array([0.5, 0.5]), np.array([100, 30]))
    assert np.allclose([low[0], high[0]], [0.404, 0.596], atol=1e-3) and high[1] - low[1] > high[0] - low[0]
    figure = FIGURES["robustness"]()
    shaded = [collection for ax in figure.axes for collection in ax.collections]
    assert shaded and "UAR, 95 % interval" in plots.describe_figure(figure)
    plt.close(figure)
