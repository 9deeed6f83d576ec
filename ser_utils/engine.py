"""Where the parallel work runs: this machine's cores, or the workers of a Dask cluster.

Feature extraction, the features of corrupted copies, the simulated rooms, the folds' training and the delivered models'
fits go through :func:`parallel_map`. By default joblib spreads them over this machine's cores. Given the address of a
running Dask scheduler (``make report SCHEDULER=tcp://host:8786``, or the ``SER_SCHEDULER`` environment variable), the
same calls run on that cluster's workers (Dask's ``Client.map``), with identical results: a file's features depend on
that file alone, and a fold's model on its data and seed.
Workers need this project installed (``pip install -e .`` in the same environment), the corpus and the project
folder at the same paths (a shared file system), and one thread each (``dask worker ADDRESS --nthreads 1``): folds
training side by side in one process would share TensorFlow's random state, so a cluster whose workers have more
threads is refused.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterable, Iterator

from joblib import Parallel, delayed

#: The environment variable naming a Dask scheduler; empty or unset: this machine's cores.
SCHEDULER_VARIABLE = "SER_SCHEDULER"
#: What a scheduler address looks like: a protocol Dask speaks, a host and a port (``tcp://10.0.0.5:8786``).
ADDRESS_PATTERN = re.compile(r"(tcp|tls|inproc|ucx|ws|wss)://([^\s/:\[\]]+|\[[0-9A-Fa-f:.]+\])(:\d+)?")
#: Seconds to wait for the scheduler before saying that none answers.
CONNECT_TIMEOUT_S = 10

# loky replaces a worker whose memory grew by 300 MB during a task (its guard against leaks), which TensorFlow's
# allocator does while a worker trains a network; the warning it prints then says nothing a user can act on.
warnings.filterwarnings("ignore", message="A worker stopped while some jobs were given to the executor",
                        category=UserWarning)


class EngineUnavailable(RuntimeError):
    """The scheduler named could not be reached."""


def scheduler_address() -> str | None:
    """The Dask scheduler named by :data:`SCHEDULER_VARIABLE`, or None (this machine's cores)."""
    return os.environ.get(SCHEDULER_VARIABLE, "").strip() or None


def address_problem(address: str) -> str | None:
    """Why ``address`` is not a scheduler address, or None."""
    if ADDRESS_PATTERN.fullmatch(address):
        return None
    return f"{address!r} is not a Dask scheduler address (like tcp://host:8786)"


def parallel_map(function: Callable, items: Iterable, *args, n_jobs: int = -1) -> Iterator:
    """``function(item, *args)`` for each item, computed in parallel: on this machine's cores (``n_jobs``), or on
    the Dask cluster named by :data:`SCHEDULER_VARIABLE` (every worker). Results are yielded in the items' order."""
    address = scheduler_address()
    if address is None:
        yield from Parallel(n_jobs=n_jobs, return_as="generator")(delayed(function)(item, *args) for item in items)
        return
    with _dask_client(address) as client:  # every task on the cluster, even on one worker thread
        futures = client.map(_call, client.scatter(list(items)), function=function, args=args, pure=False,
                             key=function.__name__)
        try:
            for future in futures:
                yield future.result()
        finally:  # stopped early (an error, an interrupt): what is still queued or running is cancelled
            client.cancel(futures)


def _call(item, function: Callable, args: tuple):
    """``function(item, *args)``: what a Dask worker runs for one item."""
    return function(item, *args)


def _dask_client(address: str):
    """A client of the scheduler at ``address`` (a context manager); :class:`EngineUnavailable` if none answers."""
    problem = address_problem(address)
    if problem:
        raise EngineUnavailable(f"{SCHEDULER_VARIABLE}: {problem}")
    from dask.distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as error:
        raise EngineUnavailable(f"{SCHEDULER_VARIABLE}={address}: no Dask scheduler answers there ({error}); start one "
                                f"(`dask scheduler`, then `dask worker {address} --nthreads 1` on each machine) or unset "
                                f"{SCHEDULER_VARIABLE} to use this machine's cores") from error
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except TimeoutError as error:
        client.close()
        raise EngineUnavailable(f"{SCHEDULER_VARIABLE}={address}: the scheduler has no worker; start them with "
                                f"`dask worker {address} --nthreads 1` on each machine") from error
    threaded = sorted(name for name, threads in client.nthreads().items() if threads != 1)
    if threaded:
        client.close()
        raise EngineUnavailable(f"{SCHEDULER_VARIABLE}={address}: worker(s) {threaded} run several threads; start each "
                                f"with `dask worker {address} --nthreads 1` (as many workers as cores: --nworkers), "
                                f"so that no two folds share a process's random state")
    return client
