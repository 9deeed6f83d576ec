"""Helpers for the speech emotion recognition report.

One module per pipeline stage: ``corpus`` (labelling), ``synth`` (the built-in
synthetic corpus), ``audio`` (loading), ``features``, ``protocols`` (splits),
``models`` (a sub-package, one module per model family), ``training`` (the
cross-validation loop), ``runs`` (what a run stores), ``evaluation``,
``prediction``, ``plots``, ``datasets`` (real RAVDESS) and ``report``;
``config`` holds paths and label schemes, ``cli`` the ``ser`` command.
"""

__version__ = "0.1.0"
