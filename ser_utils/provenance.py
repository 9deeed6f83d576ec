"""Provenance recorded with every model and report: package versions and the git commit."""

from __future__ import annotations

import inspect
import platform
import subprocess
from importlib import metadata as importlib_metadata
from types import CodeType, FunctionType

from . import config

REPORTED_PACKAGES = (
    "tensorflow", "keras", "librosa", "numpy", "pandas", "scikit-learn", "scipy", "soundfile", "soxr", "espeakng-loader",
)


def git_commit() -> str:
    """The project's current git commit, or 'unknown' outside a git checkout."""
    try:
        result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=config.PROJECT_ROOT,
                                capture_output=True, text=True, timeout=5, check=True)
        return result.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape the results."""
    versions = {"python": platform.python_version()}
    for name in REPORTED_PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


#: The package whose code :func:`code_fingerprint` follows (other packages count by their version).
PACKAGE = __name__.rsplit(".", 1)[0]
#: Types of module-level constants whose value counts in a fingerprint (through :func:`stable_repr`).
CONSTANT_TYPES = (bool, int, float, str, tuple, list, frozenset, set, dict)


def stable_repr(value) -> str:
    """``value`` as text that is the same in every process: sets sorted, dicts by key, functions and classes by
    name, other objects by class name and attributes (never a memory address)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{stable_repr(k)}: {stable_repr(v)}" for k, v in sorted(value.items(), key=str)) + "}"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(map(stable_repr, value))) + "}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(map(stable_repr, value)) + ")"
    if isinstance(value, (type, FunctionType)):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, (bool, int, float, str, bytes, type(None))):
        return repr(value)
    return f"{type(value).__module__}.{type(value).__qualname__}{stable_repr(getattr(value, '__dict__', {}))}"


def versions_of(*packages: str) -> str:
    """``name==version`` of each installed package (code outside this package counts by its version)."""
    found = []
    for name in packages:
        try:
            found.append(f"{name}=={importlib_metadata.version(name)}")
        except importlib_metadata.PackageNotFoundError:
            found.append(f"{name} not installed")
    return ", ".join(found)


def code_fingerprint(*roots) -> str:
    """The source of ``roots`` (functions or classes) and of every function and class of this package that they
    reach by name, recursively, with the values of the simple constants they read.

    A cache keyed by it stays valid when code that does not compute its content changes (a plotting helper, a
    comment elsewhere) and is invalidated when code that does changes. Names are resolved as the code would
    resolve them now: ``module.function`` through a module of this package, or a name in the function's globals.
    Methods reached only through an attribute of another object (``self.matrix.transform``) are not followed:
    pass their classes as roots too.
    """
    sources: dict[str, str] = {}
    pending = list(roots)
    while pending:
        item = pending.pop()
        name = f"{item.__module__}.{item.__qualname__}"
        if name in sources:
            continue
        sources[name] = _source(item)
        reached, constants = _references(item)
        pending += reached
        sources.update(constants)
    return "\n".join(f"{name}\n{text}" for name, text in sorted(sources.items()))


def _ours(value) -> bool:
    """Whether ``value`` is a function or class defined in this package."""
    return (isinstance(value, (type, FunctionType))
            and str(getattr(value, "__module__", "")).startswith(PACKAGE))


def _ours_in(value) -> list:
    """The functions and classes of this package that ``value`` is or holds: itself, the class of an instance, or
    those in a registry (a dict's values, a tuple's items); a class registered from elsewhere counts if it
    extends one of this package's (a plug-in: a corruption step, a model family)."""
    if _ours(value) or (isinstance(value, type) and any(_ours(base) for base in value.__mro__)):
        return [value]
    if isinstance(value, dict):
        return [found for item in value.values() for found in _ours_in(item)]
    if isinstance(value, (tuple, list)):
        return [found for item in value for found in _ours_in(item)]
    return _ours_in(type(value)) if not isinstance(value, (type, FunctionType)) else []


def _source(item) -> str:
    """The source text of a function or class."""
    try:
        return inspect.getsource(item)
    except (OSError, TypeError):  # made at run time (a dataclass's generated methods): its name is all there is
        return f"<no source: {item.__module__}.{item.__qualname__}>"


def _functions(item) -> list:
    """The functions whose names ``item`` uses: itself, or a class's methods (its own and its bases' of this
    package, properties and static and class methods included)."""
    if not isinstance(item, type):
        return [item]
    found = []
    for cls in item.__mro__:
        if not _ours(cls):
            continue
        for member in vars(cls).values():
            member = getattr(member, "__func__", None) or getattr(member, "fget", None) or member
            if isinstance(member, FunctionType):
                found.append(member)
    return found


def _names(code) -> set[str]:
    """Every global or attribute name that a code object and the code nested in it use."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            names |= _names(constant)
    return names


def _references(item) -> tuple[list, dict[str, str]]:
    """(functions and classes of this package, {name: value} of simple constants) that ``item`` names."""
    reached = [cls for cls in item.__mro__[1:] if _ours(cls)] if isinstance(item, type) else []
    constants = {}
    for function in _functions(item):
        names = _names(function.__code__)
        scopes = [(function.__module__, function.__globals__)]
        scopes += [(value.__name__, vars(value)) for name in names
                   if inspect.ismodule(value := function.__globals__.get(name)) and value.__name__.startswith(PACKAGE)]
        for module, namespace in scopes:
            for name in names & namespace.keys():
                value = inspect.unwrap(namespace[name]) if callable(namespace[name]) else namespace[name]  # lru_cache
                reached += _ours_in(value)
                if isinstance(value, CONSTANT_TYPES):
                    constants[f"{module}.{name}"] = stable_repr(value)
    return reached, constants
