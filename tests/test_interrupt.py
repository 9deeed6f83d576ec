"""Stopping `make report` (SIGTERM to its process group) stops the notebook's kernel and its joblib workers; a script
that calls ``interrupt_on_sigterm`` (the benchmarks) stops its workers when SIGTERM reaches the script alone."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def wait_for(condition, seconds: float) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return condition()


def test_sigterm_to_the_build_stops_the_kernel_and_its_workers(tmp_path):
    pids = tmp_path / "pids.json"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(
        "import json, os, time\nfrom joblib import Parallel, delayed\n"
        "workers = sorted(set(Parallel(n_jobs=2)(delayed(os.getpid)() for _ in range(8))))\n"
        f"open({str(pids)!r}, 'w').write(json.dumps([os.getpid(), *workers]))\ntime.sleep(300)")]
    nbformat.write(notebook, tmp_path / "wait.ipynb")
    build = subprocess.Popen([sys.executable, "-m", "ser_utils.run_notebook", "--kernel", "python3",
                              "--log-level", "ERROR", str(tmp_path / "wait.ipynb"), str(tmp_path / "out.ipynb")],
                             start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(pids.exists, 120), "the notebook never started its workers"
        time.sleep(0.5)
        kernel_and_workers = json.loads(pids.read_text())
        assert len(kernel_and_workers) >= 2 and all(map(alive, kernel_and_workers))
        os.killpg(build.pid, signal.SIGTERM)  # what stopping `make report` sends to its process group
        build.wait(60)
        assert wait_for(lambda: not any(map(alive, kernel_and_workers)), 30), \
            [pid for pid in kernel_and_workers if alive(pid)]
    finally:
        if build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)


WORKERS_SCRIPT = """
import os, sys, time
from ser_utils.engine import parallel_map
from ser_utils.interrupts import interrupt_on_sigterm

def wait_in_a_worker(folder):
    written = os.path.join(os.path.dirname(folder), f"{os.getpid()}.tmp")
    open(written, "w").close()
    os.replace(written, os.path.join(folder, str(os.getpid())))  # a name in the folder is a whole pid
    time.sleep(300)

if __name__ == "__main__":
    interrupt_on_sigterm()
    list(parallel_map(wait_in_a_worker, [sys.argv[1]] * 2, n_jobs=2))  # two long tasks: two workers
"""


def test_sigterm_to_a_script_alone_stops_its_workers(tmp_path):
    """What the benchmarks do (without the handler, killed this way, their loky workers outlived them)."""
    (script := tmp_path / "script.py").write_text(WORKERS_SCRIPT)
    (folder := tmp_path / "workers").mkdir()
    process = subprocess.Popen([sys.executable, str(script), str(folder)], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: len(list(folder.iterdir())) == 2, 120), "the script never started two workers"
        workers = [int(marker.name) for marker in folder.iterdir()]
        assert all(map(alive, workers))
        os.kill(process.pid, signal.SIGTERM)  # `kill PID`: the script alone, not its process group
        process.wait(60)
        assert wait_for(lambda: not any(map(alive, workers)), 30), [pid for pid in workers if alive(pid)]
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever is left of the script's session
            os.killpg(process.pid, signal.SIGKILL)
