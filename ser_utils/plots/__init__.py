"""Figures for the notebooks, by stage. Every figure carries a title, axis labels with units, and a footer naming
the corpus (a synthetic corpus always says so) and, where it applies, the protocol.

- :mod:`.style`: the report's look (:func:`use_style`, which the notebooks call; importing changes no global
  state), one colour per class, legends outside, the corpus footer, panel grids;
- :mod:`.data`: notebooks 01-03's figures of the data; :mod:`.training`: learning curves (03);
  :mod:`.evaluation`: notebook 04's figures; :mod:`.prediction`: notebook 05's.
"""

from .style import (EMOTION_HUES, FIGURE_DPI, GENDER_COLOURS, IMAGE_DPI, class_colour, class_palette, describe_figure,
                    figure_title, legend_outside, panel_grid, stamp, use_style)
from .data import (class_examples, distributions, filter_bank, frame_and_window, image, long_term_spectra,
                   mean_curves, mfcc_image, projection, spectrograms, waveform)
from .training import training_curves
from .evaluation import confusion, protocol_comparison, reliability, roc_curves
from .prediction import (ROBUSTNESS_MEASURES, prediction_chart, probability_bars, radar, robustness, wilson_interval,
                         window_timeline)

__all__ = ["EMOTION_HUES", "FIGURE_DPI", "GENDER_COLOURS", "IMAGE_DPI", "ROBUSTNESS_MEASURES", "class_colour",
           "class_examples", "class_palette", "confusion", "describe_figure", "distributions", "figure_title",
           "filter_bank", "frame_and_window", "image", "legend_outside", "long_term_spectra", "mean_curves",
           "mfcc_image", "panel_grid", "prediction_chart", "probability_bars", "projection", "protocol_comparison",
           "radar", "reliability", "robustness", "roc_curves", "spectrograms", "stamp", "training_curves",
           "use_style", "waveform", "wilson_interval", "window_timeline"]
