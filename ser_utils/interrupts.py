"""Stopping a script's work, with its workers, when it is asked to stop.

A process stopped by SIGTERM alone (``kill PID``, or a supervisor that signals only the main process) leaves its
joblib (loky) workers behind: they outlive their parent, about 1.1 GB each while they hold a corpus's features.
Turned into the ``KeyboardInterrupt`` that Ctrl-C raises, SIGTERM unwinds the script instead, and joblib stops the
workers on the way out. The script then ends as Ctrl-C ends it (status 130, a traceback ending in
``KeyboardInterrupt: stopped by signal 15``); a signal that arrives during a long call into a C library takes effect
when the call returns.
"""

from __future__ import annotations

import signal


def _interrupt(signum, frame) -> None:
    """Raise ``KeyboardInterrupt``, as Ctrl-C does, once: a second SIGTERM stops the process at once, even if the
    first was lost (raised inside a C library's Python callback, openSMILE's, where ctypes prints and drops it)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def interrupt_on_sigterm() -> None:
    """From now on, SIGTERM to this process raises ``KeyboardInterrupt`` (call it in a script's main thread)."""
    signal.signal(signal.SIGTERM, _interrupt)
