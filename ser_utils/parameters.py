"""The parameters of ``make report`` and ``make accuracy``, checked in one place before any work starts.

The Makefile runs ``python -m ser_utils.parameters NAME=value ...`` first: a bad value stops the build
with a message naming the valid values, before a notebook runs or a file is touched.
"""

from __future__ import annotations

import sys

from . import config, engine
from .storage import corpus_folder

#: Protocols whose models ``make report`` saves for notebook 05 (``speaker-norm`` models are never saved: they need
#: several clips of a new speaker before they can judge one).
SPLITS = ("speaker", "random")
#: Folds: at least 2 (one to test, the rest to train); at most RAVDESS's 12 actors of each gender (one of each per
#: speaker fold). A corpus with fewer actors caps the speaker folds lower, and notebook 03 says so.
FOLDS_RANGE = (2, len(config.RAVDESS_ACTORS) // 2)
EPOCHS_RANGE = (1, 1000)
AUGMENT_RANGE = (0, 10)
SEED_RANGE = (0, 2**32 - 1)
EXIT_BAD_PARAMETER = 2


def _integer(name: str, value: str, bounds: tuple[int, int], meaning: str) -> str | None:
    """Why ``value`` is not a whole number within ``bounds``, or None."""
    low, high = bounds
    try:
        number = int(value)
    except ValueError:
        return f"{name}={value!r}: {meaning} must be a whole number from {low} to {high}"
    if not low <= number <= high:
        return f"{name}={value}: {meaning} must be from {low} to {high}"
    return None


def _choice(name: str, value: str, choices, meaning: str) -> str | None:
    """Why ``value`` is not one of ``choices``, or None."""
    return None if value in choices else f"{name}={value!r}: {meaning}; choose one of {', '.join(choices)}"


def report_models(scheme: str) -> list[str]:
    """The models ``make report`` trains and can show in 04/05 under ``scheme`` (factorised ones need gender labels)."""
    from .training import report_plan

    has_gender = config.label_scheme(scheme)["has_gender"]
    return [name for name in report_plan() if has_gender or not name.endswith("_factorised")]


def problems(values: dict[str, str]) -> list[str]:
    """Every problem with the parameters ``values`` (Make variable -> value; absent ones are not checked)."""
    found = []
    checks = {
        "DATASET": lambda v: _choice("DATASET", v, ("synthetic", "ravdess"), "the corpus"),
        "SCHEME": lambda v: _choice("SCHEME", v, tuple(config.LABEL_SCHEMES), "the label scheme"),
        "SPLIT": lambda v: _choice("SPLIT", v, SPLITS, "the protocol of the model used in 05 (speaker-norm models "
                                                       "are not saved: they need several clips of a new speaker)"),
        "FOLDS": lambda v: _integer("FOLDS", v, FOLDS_RANGE, "the number of folds"),
        "EPOCHS": lambda v: _integer("EPOCHS", v, EPOCHS_RANGE, "the CNN's maximum epochs"),
        "AUGMENT": lambda v: _integer("AUGMENT", v, AUGMENT_RANGE, "corrupted copies per training clip"),
        "SEED": lambda v: _integer("SEED", v, SEED_RANGE, "the seed"),
        "SCHEDULER": _check_scheduler,
    }
    for name, check in checks.items():
        if name in values:
            found.append(check(values[name]))
    found.append(_check_corpus(values))
    found.append(_check_actors(values))
    if "MODEL" in values and values.get("SCHEME") in config.LABEL_SCHEMES:
        models = ["best", *report_models(values["SCHEME"])]
        found.append(_choice("MODEL", values["MODEL"], models, f"the model shown in 04/05 (under SCHEME="
                                                                 f"{values['SCHEME']})"))
    return [problem for problem in found if problem]


def _check_corpus(values: dict[str, str]) -> str | None:
    """Why ``RAVDESS_DIR`` cannot be used with ``DATASET``, or None."""
    folder = values.get("RAVDESS_DIR", "")
    if not folder:
        return None
    if values.get("DATASET", "ravdess") != "ravdess":
        return f"RAVDESS_DIR={folder} is given with DATASET={values['DATASET']}: use DATASET=ravdess (or leave it out)"
    if not corpus_folder(folder).is_dir():  # as notebook 01 reads it: a quoted ~ reaches here unexpanded
        return f"RAVDESS_DIR={folder}: no such folder (give the folder holding Actor_01 ... Actor_24)"
    return None


def _check_scheduler(address: str) -> str | None:
    """Why ``address`` (empty: this machine's cores) cannot name a Dask scheduler, or None."""
    problem = address and engine.address_problem(address)
    return f"SCHEDULER={problem}" if problem else None


def _check_actors(values: dict[str, str]) -> str | None:
    """Why ``ACTORS`` (the synthetic corpus's size; empty: its default) cannot be used, or None."""
    actors = values.get("ACTORS", "")
    if not actors:
        return None
    if values.get("DATASET", "synthetic") != "synthetic":
        return f"ACTORS={actors} sizes the synthetic corpus; RAVDESS brings its own actors (leave ACTORS out)"
    if not (actors.isdigit() and config.is_synthetic_corpus_size(int(actors))):
        low, high = config.SYNTHETIC_ACTORS_RANGE
        return (f"ACTORS={actors!r}: the synthetic corpus's speakers must be an even number (as many men as women) "
                f"from {low} to {high}")
    return None


def parse(arguments: list[str]) -> dict[str, str]:
    """``["NAME=value", ...]`` as a dict; a word without ``=`` raises ValueError."""
    values = {}
    for argument in arguments:
        name, equals, value = argument.partition("=")
        if not equals:
            raise ValueError(f"{argument!r}: expected NAME=value")
        values[name] = value
    return values


def main(arguments: list[str] | None = None) -> int:
    """Check ``NAME=value`` arguments; print each problem on stderr and return 2 if there is any."""
    found = problems(parse(sys.argv[1:] if arguments is None else arguments))
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    return EXIT_BAD_PARAMETER if found else 0


if __name__ == "__main__":
    sys.exit(main())
