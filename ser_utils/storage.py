"""Atomic writes (a file is either absent or complete, never half-written), what tells that a file changed, and how a
folder a user names is read."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    ``suffix`` is the temporary file's suffix (default: the target's), so writers that
    infer the format from the extension (numpy, soundfile, Keras) keep working.
    ``replace=False`` creates ``path`` exclusively: if a file of that name appeared meanwhile
    (another process wrote it), :class:`FileExistsError` ("already exists") and that file is kept.

    >>> with atomic_path("out.txt") as tmp:  # doctest: +SKIP
    ...     tmp.write_text("done")
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=suffix if suffix is not None else target.suffix
    )
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp creates 0600; give the usual permissions
        if replace:
            os.replace(tmp, target)
        else:
            _create_exclusively(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _create_exclusively(tmp: Path, target: Path) -> None:
    """Give the complete file ``tmp`` the name ``target`` too, unless ``target`` exists by now.

    A hard link tests and creates the name in one step. A file system without hard links (FAT,
    some network shares) gets the name reserved with ``O_EXCL``, then filled by a rename.
    """
    try:
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise
        except OSError:
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            os.replace(tmp, target)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "already exists", str(target)) from None


def _current_umask() -> int:
    """The process's umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, data: dict) -> Path:
    """Write ``data`` as indented JSON atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    return Path(path)


def read_json(path: str | os.PathLike) -> dict:
    """Read a JSON file written by :func:`write_json`."""
    return json.loads(Path(path).read_text())


def remove_leftovers(folder: Path, pattern: str, *, older_than_s: float = 3600.0) -> None:
    """Delete what an interrupted write left in ``folder`` (files or folders matching ``pattern``, untouched for
    ``older_than_s`` seconds, so that a write still in progress elsewhere is kept)."""
    import shutil
    import time

    for leftover in Path(folder).glob(pattern):
        if time.time() - leftover.stat().st_mtime > older_than_s:
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def file_stamp(path: str) -> str:
    """Size and modification time of a file, or "missing" (deleted or unreadable since labelling: extraction
    reports it): a changed file changes the keys of everything cached from it."""
    try:
        stat = os.stat(path)
        return f"{stat.st_size}\0{stat.st_mtime_ns}"
    except OSError:
        return "missing"


def corpus_folder(folder: str | Path) -> Path:
    """``folder`` as an absolute path: ``~`` expanded (``~someone`` unknown here is left as written), and ``a/../b``
    written as ``b`` where that is the same folder (past a link, ``..`` leads to the link target's parent)."""
    path = Path(folder)
    try:
        path = path.expanduser()
    except RuntimeError:  # no home folder known for that user
        pass
    path = path.absolute()
    tidy = Path(os.path.normpath(path))
    try:
        return tidy if os.path.samefile(tidy, path) else path
    except OSError:  # either does not exist: keep what was given, for the message
        return path
