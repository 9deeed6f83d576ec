"""The report's look, shared by every figure: style, one colour per class, legends outside, the corpus footer."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.layout_engine import ConstrainedLayoutEngine

from .. import config


#: Inline figures at 90 dpi: sharp on screen and in a projector, and the report stays under 4 MB.
FIGURE_DPI = 90


def use_style() -> None:
    """Give every later figure the report's look (seaborn's white grid, 90 dpi) and, in a notebook, a description
    (:func:`describe_figure`) that the report turns into its numbered caption and alternative text. The notebooks
    call it once; importing this module changes no global state, so a program that draws one chart
    (``ser predict --radar``) keeps its own settings."""
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams["figure.dpi"] = FIGURE_DPI
    shell = _ipython_shell()
    if shell is not None:
        shell.display_formatter.formatters["image/png"].for_type(plt.Figure, described_png)


def _ipython_shell():
    """The running IPython shell, or None outside one (IPython itself is then not imported)."""
    import sys

    return sys.modules["IPython"].get_ipython() if "IPython" in sys.modules else None


def figure_title(fig: plt.Figure) -> str:
    """The figure's title: its suptitle, else its visible axes' titles joined ("" if it has none)."""
    if fig.get_suptitle():
        return fig.get_suptitle()
    return "; ".join(dict.fromkeys(ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()))


def describe_figure(fig: plt.Figure) -> str:
    """Alternative text for ``fig``, read from what it shows: its title, each distinct pair of axis labels, its
    legend entries and its footer (corpus and protocol)."""
    axes = [ax for ax in fig.axes if ax.get_visible()]
    pairs = dict.fromkeys((ax.get_xlabel(), ax.get_ylabel()) for ax in axes if ax.get_xlabel() or ax.get_ylabel())
    parts = [figure_title(fig) + "."] if figure_title(fig) else []
    for x, y in pairs:
        axes_text = "; ".join(f"{side} axis: {label}" for side, label in (("horizontal", x), ("vertical", y)) if label)
        parts.append(axes_text[0].upper() + axes_text[1:] + ".")
    legends = [ax.get_legend() for ax in axes if ax.get_legend()] + list(fig.legends)
    legend = [text.get_text() for box in legends for text in box.get_texts()]
    if legend:
        parts.append("Legend: " + ", ".join(dict.fromkeys(legend)) + ".")
    parts += [text.get_text() for text in fig.texts if text.get_text()]
    return " ".join(parts)


def described_png(fig: plt.Figure):
    """IPython's PNG formatter for a figure, with its title and description in the output's metadata."""
    from IPython.core.pylabtools import print_figure

    return (print_figure(fig, fmt="png", base64=True, bbox_inches="tight"),
            {"title": figure_title(fig), "alt": describe_figure(fig)})


#: One hue per emotion, the same in every figure and label scheme.
EMOTION_HUES = {"neutral": "#7f7f7f", "calm": "#2ca02c", "happy": "#ff9f0e", "sad": "#1f77b4", "angry": "#d62728",
                "fearful": "#9467bd", "disgust": "#8c564b", "surprised": "#e377c2"}
#: Gender as lightness: female light, male dark (of the emotion's hue, or of grey-blue alone).
GENDER_COLOURS = {"female": "#9ecae1", "male": "#08519c"}


def class_colour(label: str):
    """The colour of a class: its emotion's hue, lighter for female and darker for male classes."""
    gender, emotion = config.split_label(label)
    if emotion not in EMOTION_HUES:
        return GENDER_COLOURS.get(label, "#7f7f7f")
    base = np.array(matplotlib.colors.to_rgb(EMOTION_HUES[emotion]))
    if gender == "female":
        return tuple(base + (1 - base) * 0.45)
    if gender == "male":
        return tuple(base * 0.7)
    return tuple(base)


def class_palette(labels) -> dict:
    """``{label: colour}`` for seaborn's ``palette``."""
    return {label: class_colour(label) for label in labels}


def legend_outside(ax, **kwargs) -> None:
    """Put ``ax``'s legend to the right of the plot, where it hides no data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8, **kwargs)


#: Resolution of figures that are mostly spectrogram images: noisy images do not compress, and at the
#: default 100 dpi they alone would take the report over its 4 MB.
IMAGE_DPI = 80


#: The footer's text size (points) and the height kept free for it below the axes (inches).
FOOTER_POINTS, FOOTER_INCHES = 10, 0.3


def stamp(fig: plt.Figure, caption: str) -> plt.Figure:
    """Add a footer naming the corpus and protocol to ``fig`` and tighten its layout above it, so that no axis label
    runs into it whatever the figure's height (a figure made with ``layout="constrained"`` keeps that layout)."""
    footer = FOOTER_INCHES / fig.get_figheight()
    if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        fig.get_layout_engine().set(rect=(0, footer, 1, 1 - footer))  # left, bottom, width, height
    else:
        fig.tight_layout(rect=(0, footer, 1, 1))  # left, bottom, right, top
    fig.text(0.01, 0.005, caption, fontsize=FOOTER_POINTS, color="dimgray", ha="left", va="bottom")
    return fig


def panel_grid(n_panels: int, panel_size: tuple[float, float], *, title: str, ylabel: str, **subplots):
    """(figure, axes grid) for ``n_panels`` panels, three a row, spare ones hidden, ``ylabel`` on the first column."""
    columns = min(3, n_panels)
    rows = -(-n_panels // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(panel_size[0] * columns, panel_size[1] * rows), squeeze=False,
                             **subplots)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    fig.suptitle(title)
    return fig, axes
