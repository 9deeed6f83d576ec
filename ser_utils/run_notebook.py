"""Run papermill as ``make report`` does, so that stopping the build also stops the notebook's kernel and workers.

Jupyter starts each kernel in a session of its own, out of reach of a signal sent to ``make``'s process group;
killed by SIGTERM, papermill would leave the kernel to notice its parent is gone and exit at once, leaving its
joblib (loky) workers behind. Here SIGTERM is turned into the ``KeyboardInterrupt`` that Ctrl-C raises
(:func:`~ser_utils.interrupts.interrupt_on_sigterm`), so papermill's own clean-up shuts the kernel down, and with it
every process of the kernel's process group.

    python -m ser_utils.run_notebook [papermill arguments]
"""

from __future__ import annotations

import sys

from .interrupts import interrupt_on_sigterm


def main() -> None:
    """papermill's command line, with SIGTERM handled as Ctrl-C."""
    interrupt_on_sigterm()
    from papermill.cli import papermill

    papermill(prog_name="papermill")


if __name__ == "__main__":
    sys.exit(main())
