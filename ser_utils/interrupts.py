"""Stopping a script's work, with its workers, when it is asked to stop.

A process killed by SIGTERM (``kill PID``, a job scheduler's time limit, a closed terminal's clean-up) leaves its
joblib (loky) workers behind: they outlive their parent, about 1 GB each while they hold a corpus's features, until
someone kills them by hand. Turned into the ``KeyboardInterrupt`` that Ctrl-C raises, SIGTERM unwinds the script
instead, and joblib stops the workers on the way out.
"""

from __future__ import annotations

import signal


def _interrupt(signum, frame) -> None:
    """Raise ``KeyboardInterrupt``, as Ctrl-C does."""
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def interrupt_on_sigterm() -> None:
    """From now on, SIGTERM to this process raises ``KeyboardInterrupt`` (call it in a script's main thread)."""
    signal.signal(signal.SIGTERM, _interrupt)
