"""Prepare the notebooks that ``make test`` hands to nbval, all in one process.

    python tests/prepare_notebooks.py INPUT OUTPUT [-p NAME VALUE ...] [--next INPUT OUTPUT [-p NAME VALUE ...]] ...

Each group of arguments is one ``papermill --prepare-only`` command line, given to papermill's own command line
parser: the notebooks get their test parameters exactly as ``papermill`` (and ``make report``) injects parameters.
One process instead of one per notebook saves papermill's start-up (about 1.4 s each, six notebooks).
"""

from __future__ import annotations

import sys

SEPARATOR = "--next"


def command_lines(arguments: list[str]) -> list[list[str]]:
    """The groups of ``arguments`` between :data:`SEPARATOR` words (empty groups dropped)."""
    groups: list[list[str]] = [[]]
    for argument in arguments:
        if argument == SEPARATOR:
            groups.append([])
        else:
            groups[-1].append(argument)
    return [group for group in groups if group]


def main(arguments: list[str]) -> None:
    """Run ``papermill --prepare-only`` once per command line of ``arguments``."""
    from papermill.cli import papermill

    for command_line in command_lines(arguments):
        papermill.main(["--prepare-only", "--log-level", "WARNING", *command_line], prog_name="papermill",
                       standalone_mode=False)


if __name__ == "__main__":
    main(sys.argv[1:])
