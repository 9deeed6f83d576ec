"""Helpers for the speech emotion recognition report.

One module per pipeline stage: ``corpus`` (labelling), ``synth`` (the built-in synthetic corpus), ``audio``
(loading), ``augment`` (corrupted copies: one ``Step`` per kind), ``features`` (a sub-package: recipes,
extraction and its cache, the cache of corrupted clips), ``protocols`` (splits), ``folds`` (each protocol's
folds and copies, planned once), ``models`` (a sub-package, one module per model family, one registry),
``training`` (the cross-validation loop and the delivered model), ``runs`` (what a run stores), ``evaluation``,
``prediction``, ``plots``, ``datasets`` (real RAVDESS) and ``report``; ``config`` holds paths and label schemes,
``parameters`` the checks of `make`'s parameters, ``provenance`` versions and code fingerprints, ``cli`` the
``ser`` command.
"""

__version__ = "0.1.0"
