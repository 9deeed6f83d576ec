"""Labelling: parse RAVDESS file names into a tidy table and apply label schemes.

RAVDESS names a clip ``MM-VV-EE-II-SS-RR-AA.wav``: modality, vocal channel, emotion,
intensity, statement, repetition, actor (odd actors are male, even female).
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from . import config
from .storage import atomic_path, read_json, write_json

_NAME_PATTERN = re.compile(r"^([0-9]{2})-([0-9]{2})-([0-9]{2})-([0-9]{2})-([0-9]{2})-([0-9]{2})-([0-9]{2})$")
_ACTOR_FOLDER = re.compile(r"^Actor_([0-9]{2})$")
TABLE_COLUMNS = [
    "path", "filename", "actor", "gender", "vocal_channel", "emotion",
    "intensity", "statement", "repetition", "label",
]


class RavdessNameError(ValueError):
    """A file name that does not follow the RAVDESS naming scheme."""


@dataclass(frozen=True)
class ClipInfo:
    """What a RAVDESS file name says about one clip."""

    actor: int
    gender: str
    vocal_channel: str
    emotion: str
    intensity: str
    statement: int
    repetition: int


def _code(value: str, table: dict[int, str], field: str, name: str) -> str:
    """Look up a two-digit code in ``table`` or raise naming the file and the field."""
    code = int(value)
    if code not in table:
        raise RavdessNameError(f"{name}: {field} code {value} is not one of {sorted(table)}")
    return table[code]


def parse_ravdess_name(path: str | Path) -> ClipInfo:
    """Parse one RAVDESS file name; raise :class:`RavdessNameError` naming the file if malformed.

    >>> parse_ravdess_name("03-01-05-02-01-01-12.wav").emotion
    'angry'
    """
    path = Path(path)
    name = path.name
    if path.suffix.lower() not in config.AUDIO_SUFFIXES:
        raise RavdessNameError(f"{name}: not an audio file name (expected one of {config.AUDIO_SUFFIXES})")
    match = _NAME_PATTERN.match(path.stem)
    if match is None:
        raise RavdessNameError(f"{name}: expected seven two-digit fields MM-VV-EE-II-SS-RR-AA")
    modality, channel, emotion, intensity, statement, repetition, actor = match.groups()
    if _code(modality, config.MODALITIES, "modality", name) != "audio-only":
        raise RavdessNameError(f"{name}: modality {modality} is not audio-only (03)")
    info = ClipInfo(
        actor=int(actor),
        gender="male" if int(actor) % 2 else "female",
        vocal_channel=_code(channel, config.VOCAL_CHANNELS, "vocal channel", name),
        emotion=_code(emotion, config.EMOTIONS, "emotion", name),
        intensity=_code(intensity, config.INTENSITIES, "intensity", name),
        statement=int(_code(statement, {k: str(k) for k in config.STATEMENTS}, "statement", name)),
        repetition=int(_code(repetition, {1: "1", 2: "2"}, "repetition", name)),
    )
    if info.actor not in config.RAVDESS_ACTORS:
        first, last = config.RAVDESS_ACTORS[0], config.RAVDESS_ACTORS[-1]
        raise RavdessNameError(f"{name}: actor {actor} is outside RAVDESS's {first:02d}-{last:02d}")
    if info.vocal_channel != "speech":
        raise RavdessNameError(f"{name}: a song clip (vocal channel {channel}); this project recognises emotion in speech")
    if info.emotion == "neutral" and info.intensity == "strong":
        raise RavdessNameError(f"{name}: neutral clips have no strong intensity in RAVDESS")
    folder = _ACTOR_FOLDER.match(path.parent.name)
    if folder and int(folder.group(1)) != info.actor:
        raise RavdessNameError(f"{name}: actor {actor} does not match its folder {path.parent.name}")
    return info


def label_of(path: str | Path, scheme: str = config.DEFAULT_SCHEME) -> str | None:
    """The label ``scheme`` gives a RAVDESS-named file, or None (other names, or clips the scheme drops)."""
    try:
        info = parse_ravdess_name(path)
    except RavdessNameError:
        return None
    row = pd.DataFrame([asdict(info)])
    labelled = apply_label_scheme(row, scheme)
    return None if labelled.empty else str(labelled["label"].iloc[0])


def find_audio_files(data_dir: str | Path, skipped: list[tuple[Path, str]] | None = None) -> list[Path]:
    """Return every audio file under ``data_dir`` (``Actor_XX/`` folders or flat), sorted.

    Symbolic links to folders and files are followed (a corpus assembled from links is read whole); a link
    back to a folder already visited is not followed twice. What cannot be read is appended to
    ``skipped`` as ``(path, reason)``: folders that cannot be listed, broken links, loops.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"{data_dir}: no such data directory")
    skipped = [] if skipped is None else skipped
    found, visited = [], set()

    def unreadable(error: OSError) -> None:
        skipped.append((Path(error.filename), f"{error.filename}: {error.strerror or error} (folder skipped)"))

    for folder, subfolders, files in os.walk(data_dir, followlinks=True, onerror=unreadable):
        try:
            status = os.stat(folder)
        except OSError as error:  # listed, but cannot be entered
            unreadable(error)
            subfolders.clear()
            continue
        if (status.st_dev, status.st_ino) in visited:
            skipped.append((Path(folder), f"{folder}: a link to a folder already read (not read twice)"))
            subfolders.clear()
            continue
        visited.add((status.st_dev, status.st_ino))
        for path in (Path(folder, name) for name in files if Path(name).suffix.lower() in config.AUDIO_SUFFIXES):
            try:
                regular = path.is_file()
            except OSError as error:
                skipped.append((path, f"{path}: {error.strerror or error}"))
                continue
            if regular:
                found.append(path)
            else:
                skipped.append((path, f"{path}: a broken link or not a regular file"))
    return sorted(found)


def _clip_then_format(path: Path) -> tuple:
    """Sort key: a clip's copies side by side, wherever they are, the least lossy format first (WAV, FLAC, OGG, then
    MP3), then by folder."""
    return path.stem.lower(), config.AUDIO_SUFFIXES.index(path.suffix.lower()), str(path.parent)


def _relative(path: Path, root: str | Path) -> str:
    """``path`` as seen from the corpus folder ``root`` (where the user looks for it), or whole if outside it."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _copy_to_keep(copies: list[tuple[Path, ClipInfo]]) -> tuple[Path, ClipInfo]:
    """Of a clip's copies (the least lossy format first), the first whose audio can be used, else the first."""
    from .audio import AudioError, load_audio

    for copy in copies if len(copies) > 1 else ():
        try:
            load_audio(copy[0])
        except AudioError:
            continue
        return copy
    return copies[0]


def scan_corpus(data_dir: str | Path) -> tuple[pd.DataFrame, list[tuple[Path, str]]]:
    """Parse every audio file under ``data_dir``.

    Returns the table of all clips (every emotion, no label yet) and the list of
    ``(path, reason)`` for what was left out (names that do not parse, song clips, actors outside
    RAVDESS's 01-24, second copies of a clip, folders that cannot be read); those are also reported
    as one warning, never fatal to the batch. Of a clip's copies (in any folders), the least lossy format is kept,
    unless its audio cannot be used and another copy's can.
    """
    copies, rejected = {}, []
    for path in sorted(find_audio_files(data_dir, rejected), key=_clip_then_format):
        try:
            info = parse_ravdess_name(path)
        except RavdessNameError as error:
            rejected.append((path, str(error)))
            continue
        copies.setdefault(path.stem.lower(), []).append((path, info))  # X.wav, X.WAV, X.flac: one clip
    rows = []
    for clip_copies in copies.values():
        kept, info = _copy_to_keep(clip_copies)
        rejected += [(path, f"{_relative(path, data_dir)}: the same clip as {_relative(kept, data_dir)}, which is kept")
                     for path, _ in clip_copies if path != kept]
        rows.append({"path": str(kept), "filename": kept.name, **asdict(info)})
    if rejected:
        listing = "\n  ".join(reason for _, reason in rejected)
        warnings.warn(f"skipped {len(rejected)} file(s):\n  {listing}", stacklevel=2)
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS[:-1])
    if table.empty:
        raise FileNotFoundError(f"{data_dir}: no RAVDESS-named audio files found")
    return table.sort_values(["actor", "filename"], ignore_index=True), rejected


def apply_label_scheme(table: pd.DataFrame, scheme: str = config.DEFAULT_SCHEME) -> pd.DataFrame:
    """Keep the clips the scheme uses and add its ``label`` column (a categorical in class order)."""
    spec = config.label_scheme(scheme)
    kept = table[table["emotion"].isin(spec["emotions"])].copy()
    if scheme == "gender":
        labels = kept["gender"]
    elif scheme == "emotion5":
        labels = kept["emotion"]
    else:
        labels = kept["gender"] + "_" + kept["emotion"]
    kept["label"] = pd.Categorical(labels, categories=list(spec["classes"]))
    return kept.reset_index(drop=True)


@dataclass(frozen=True)
class ClipCheck:
    """What reading each clip of a table once found: the clips whose audio can be used, the ``(path, reason)`` of the
    files left out (empty, corrupt, too short, silent...) and the ``(path, warning)`` of those used with a warning (cut
    short, channels that cancel out)."""

    table: pd.DataFrame
    unreadable: list[tuple[Path, str]]
    warned: list[tuple[Path, str]]

    def describe(self) -> str:
        """One line per file left out or used with a warning, after a count."""
        warned = len({path for path, _ in self.warned})
        lines = [f"{len(self.table) + len(self.unreadable)} clips' audio read: {len(self.unreadable)} left out, "
                 f"{warned} used with a warning"]
        lines += [f"  left out: {reason}" for _, reason in self.unreadable]
        lines += [f"  used, with a warning: {warning}" for _, warning in self.warned]
        return "\n".join(lines)


def check_clips(table: pd.DataFrame) -> ClipCheck:
    """Read every clip of ``table`` once (about 3 ms each) and keep the rows whose audio can be used.

    Labelling parses names only; a damaged file would otherwise reach the notebooks that play or draw a chosen clip
    and stop them, and the folds, captions and counts would include clips no model trains on.
    """
    from .audio import AudioError, load_audio_noting

    usable, unreadable, warned = [], [], []
    for index, path in table["path"].items():
        try:
            noted = load_audio_noting(path)[2]
        except AudioError as error:
            unreadable.append((Path(path), str(error)))
            continue
        usable.append(index)
        warned += [(Path(path), message) for message in noted]
    return ClipCheck(table.loc[usable].reset_index(drop=True), unreadable, warned)


def build_labels_table(data_dir: str | Path, scheme: str = config.DEFAULT_SCHEME) -> pd.DataFrame:
    """Scan ``data_dir`` and return the labelled table of the clips ``scheme`` keeps whose audio can be used, as
    notebook 01 makes it (what :func:`check_clips` leaves out or reads with a warning is reported as one warning)."""
    table, _ = scan_corpus(data_dir)
    checked = check_clips(apply_label_scheme(table, scheme))
    if checked.unreadable or checked.warned:
        warnings.warn(checked.describe(), stacklevel=2)
    return checked.table


def save_labels(table: pd.DataFrame, path: str | Path, *, scheme: str, dataset: dict) -> Path:
    """Write the labels table as CSV, and beside it a JSON sidecar: the label scheme and the corpus.

    The sidecar is the single source of truth for every later stage: the scheme's
    classes in order, its chance level and whether labels carry gender
    (:func:`config.label_scheme`), and ``dataset`` (name, whether synthetic, caption).
    A corpus too small for the speaker-independent protocol is refused here, at the first
    stage, with the minimum stated (:class:`~ser_utils.protocols.CorpusTooSmall`).
    """
    from .protocols import CorpusTooSmall, n_speaker_folds

    try:
        n_speaker_folds(table)
    except CorpusTooSmall as error:
        raise CorpusTooSmall(f"{dataset.get('path', dataset.get('label'))}: {error} among the clips that the label "
                             f"scheme {scheme} keeps and that can be read") from None
    path = Path(path)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    write_json(path.with_suffix(".json"), {"scheme": config.label_scheme(scheme), "dataset": dataset,
                                           "n_clips": int(len(table)), "n_actors": int(table["actor"].nunique())})
    return path


def load_labels(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Read a labels table written by :func:`save_labels`: (table with ordered labels, sidecar info)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no labels table; run notebook 01 (or `make report`) first")
    info = read_json(path.with_suffix(".json"))
    table = pd.read_csv(path)
    table["label"] = pd.Categorical(table["label"], categories=info["scheme"]["classes"])
    return table, info
