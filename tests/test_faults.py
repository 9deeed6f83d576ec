"""Faults and odd inputs, one row per case: what a user did, and what must then happen.

Each :class:`Case` names the situation, a ``run`` function that sets it up in a fresh
folder and acts (through the ``ser`` command where a user would), and what must hold:
the exit status, a phrase of the one-line message naming the file, how many files were
still answered, and any check that nothing the user had was lost. To add a case, write a
small function and one row of :data:`CASES`.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import shutil
import signal
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ser_utils import cli, config, corpus, features, runs, synth, training
from ser_utils.models import load_model, sha256
from ser_utils.models.ensemble import EnsembleModel


@dataclass
class Outcome:
    """What the user saw: exit status, the terminal's text, and the answers given."""

    status: int
    text: str
    answered: int = 0


@dataclass
class Case:
    """One situation and what must happen (``answered=None``: not counted; ``check``: extra condition)."""

    id: str
    run: Callable[[Env], Outcome]
    status: int
    message: str | None  # None: no message is expected (the case checks what happened instead)
    answered: int | None = None
    check: Callable[[Env], bool] | None = None


class Env:
    """A fresh folder with a clean speech clip, a trained model to copy, and helpers to act as a user."""

    def __init__(self, folder: Path, model_dir: Path, clip_path: str):
        self.folder, self.clip_path = folder, clip_path
        self.samples, self.rate = sf.read(clip_path, dtype="float32")
        self.model = folder / "model"
        shutil.copytree(model_dir, self.model)

    def audio(self, name: str, samples: np.ndarray, rate: int | None = None) -> Path:
        """Write ``samples`` as ``name`` in the folder."""
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, samples, rate or self.rate)
        return path

    def clean(self, name: str = "clean.wav") -> Path:
        """A copy of the clean clip."""
        return self.audio(name, self.samples)

    def ser(self, *arguments) -> Outcome:
        """Run ``ser`` with ``arguments``; count the answered files from its JSON output."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main([str(a) for a in arguments])
        answered = 0
        if "--json" in arguments and out.getvalue().strip().startswith("{"):
            answered = len(json.loads(out.getvalue())["predictions"])
        return Outcome(status, out.getvalue() + err.getvalue(), answered)

    def predict(self, *files, extra=()) -> Outcome:
        """``ser predict FILES --model <the copied model> --json``."""
        return self.ser("predict", *files, "--model", self.model, "--json", *extra)

    def edit_metadata(self, change: Callable[[dict], None]) -> None:
        """Edit the copied model's metadata.json as a user might."""
        path = self.model / "metadata.json"
        metadata = json.loads(path.read_text())
        change(metadata)
        path.write_text(json.dumps(metadata))


def _raises(function, *args) -> Outcome:
    """Run a library call; an exception becomes status 2 with its message."""
    try:
        function(*args)
    except Exception as error:  # noqa: BLE001 - the message is what the case checks
        return Outcome(2, f"{type(error).__name__}: {error}")
    return Outcome(0, "")


def _scan(env: Env, names: list[str]) -> Outcome:
    """Scan a corpus of copies of the clean clip under ``names``; report what was rejected and kept."""
    for name in names:
        target = env.folder / "corpus" / "Actor_01" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(env.clip_path, target)
    with pytest.warns(UserWarning, match="skipped"):
        table, rejected = corpus.scan_corpus(env.folder / "corpus")
    return Outcome(0, "\n".join(reason for _, reason in rejected), len(table))


def _silent_copy_first(env: Env) -> Outcome:
    """A clip in three places, as repeated downloads leave it: the copies sorted first are silent and empty."""
    good = env.folder / "corpus" / "Actor_01 (1)" / "03-01-05-01-01-01-01.wav"
    good.parent.mkdir(parents=True)
    shutil.copy(env.clip_path, good)
    env.audio(f"corpus/Actor_01/{good.name}", np.zeros(22050, np.float32))
    (env.folder / "corpus" / "Actor_01 (2)").mkdir()
    (env.folder / "corpus" / "Actor_01 (2)" / good.name.replace(".wav", ".WAV")).write_bytes(b"")
    with pytest.warns(UserWarning, match="skipped"):
        table, rejected = corpus.scan_corpus(env.folder / "corpus")
    env.kept = [Path(path) for path in table["path"]]
    return Outcome(0, "\n".join(reason for _, reason in rejected), len(table))


def _extract(env: Env, paths: list[Path], recipe=None) -> Outcome:
    """Extract features of ``paths`` (cached in the folder); report the files skipped and the clips kept."""
    table = pd.DataFrame({"path": [str(p) for p in paths]})
    messages = io.StringIO()
    with contextlib.redirect_stderr(messages):
        result = features.extract_features(table, recipe or features.StatsRecipe(), cache_dir=env.folder / "cache",
                                           n_jobs=1, progress=False)
    return Outcome(0, "\n".join([messages.getvalue(), *(reason for _, reason in result.failed)]), len(result.table))


def _fifo(env: Env) -> Outcome:
    os.mkfifo(env.folder / "pipe.wav")
    return env.predict(env.folder / "pipe.wav", env.clean())


def _unreadable(env: Env) -> Outcome:
    locked = env.clean("locked.wav")
    real_access = os.access
    with pytest.MonkeyPatch.context() as patch:  # tests run as root, who can read a mode-000 file
        patch.setattr(os, "access", lambda path, mode: str(path) != str(locked) and real_access(path, mode))
        return env.predict(locked, env.clean())


def _inverted_channel(env: Env) -> Outcome:
    return env.predict(env.audio("inverted.wav", np.stack([env.samples, -env.samples], axis=1)))


def _tone_low_passed(env: Env) -> Outcome:
    from scipy.signal import butter, sosfilt

    return env.predict(env.audio("muffled.wav", sosfilt(butter(10, 1000, fs=env.rate, output="sos"), env.samples)))


#: How each weights file of a scikit-learn model folder is read: ``ser predict`` runs the ONNX copy; the skops file is
#: read by ``load_model(..., runtime="native")`` (a researcher inspecting the pipeline).
READER = {"model.onnx": "auto", "model.skops": "native"}


def _load(env: Env, weights: str) -> Outcome:
    """Load the copied model the way that reads ``weights``: ``ser predict`` one clip, or a native load."""
    if READER[weights] == "auto":
        return env.predict(env.clean())
    return _raises(lambda: load_model(env.model, runtime="native"))


def _truncate(weights: str) -> Callable[[Env], Outcome]:
    def case(env: Env) -> Outcome:
        path = env.model / weights
        path.write_bytes(path.read_bytes()[:100])
        return _load(env, weights)
    return case


def _corrupt_cache(env: Env) -> Outcome:
    clip = env.clean()
    _extract(env, [clip])
    for cached in (env.folder / "cache").glob("*.npz"):
        cached.write_bytes(b"PK\x03\x04 not a zip any more")
    return _extract(env, [clip])


def _deleted_after_labelling(env: Env) -> Outcome:
    gone = env.clean("gone.wav")
    gone.unlink()
    return _extract(env, [env.clean(), gone])


def _stale_temporary(env: Env) -> Outcome:
    (env.folder / "cache").mkdir()
    stale = env.folder / "cache" / ".stats-0123.npz.abcd.npz"
    stale.write_bytes(b"left by a killed run")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    return _extract(env, [env.clean()])


def _existing_csv(env: Env) -> Outcome:
    (env.folder / "answers.csv").write_text("the user's own table")
    return env.ser("predict", env.clean(), "--model", env.model, "--csv", env.folder / "answers.csv")


def _one_actor_corpus(env: Env) -> Outcome:
    table = corpus.build_labels_table(Path(env.clip_path).parent)  # one Actor_XX folder
    return _raises(lambda: corpus.save_labels(table, env.folder / "labels.csv", scheme=config.DEFAULT_SCHEME,
                                              dataset={"path": "one-actor corpus"}))


def _empty(env: Env) -> Outcome:
    (env.folder / "empty.wav").touch()
    return env.predict(env.folder / "empty.wav", env.clean())


def _corrupt(env: Env) -> Outcome:
    (env.folder / "corrupt.wav").write_bytes(b"RIFF not really a wave file at all")
    return env.predict(env.folder / "corrupt.wav", env.clean())


def _metadata_list(env: Env) -> Outcome:
    """A model whose metadata.json is valid JSON but not an object."""
    (env.model / "metadata.json").write_text("[]")
    return env.predict(env.clean())


def _csv_onto_pipe(env: Env) -> Outcome:
    """``--csv`` given a named pipe, with ``--force``."""
    os.mkfifo(env.folder / "pipe.csv")
    return env.ser("predict", env.clean(), "--model", env.model, "--csv", env.folder / "pipe.csv", "--force")


def _csv_into_kernel_folder(env: Env) -> Outcome:
    """``--json`` into a folder, ``--csv`` into /sys, whose permission bits let root write but no file be created."""
    if not Path("/sys/kernel").is_dir():
        pytest.skip("no /sys on this system")
    return env.ser("predict", env.clean(), "--model", env.model, "--json", env.folder / "a.json",
                   "--csv", "/sys/kernel/answers.csv")


def _cut_short(env: Env) -> Outcome:
    """A WAV whose second half is missing, as an interrupted download leaves it."""
    data = env.clean("cut.wav").read_bytes()
    (env.folder / "cut.wav").write_bytes(data[: len(data) // 2])
    return env.predict(env.folder / "cut.wav")


def _broken_metadata(env: Env) -> Outcome:
    (env.model / "metadata.json").write_text("{oops")
    return env.predict(env.clean())


def _changed_weights(weights: str) -> Callable[[Env], Outcome]:
    def case(env: Env) -> Outcome:
        with open(env.model / weights, "ab") as handle:
            handle.write(b"\0")
        return _load(env, weights)
    return case


def _onnx_not_a_graph(env: Env) -> Outcome:
    """model.onnx replaced by other bytes, its hash in metadata.json updated to match."""
    (env.model / "model.onnx").write_bytes(b"not a protobuf at all \xff\xfe")
    env.edit_metadata(lambda m: m["exports"]["onnx"].update(sha256=sha256(env.model / "model.onnx")))
    return env.predict(env.clean())


def _resampled(env: Env, rate: int) -> Path:
    import librosa

    return env.audio(f"{rate}.wav", librosa.resample(env.samples, orig_sr=env.rate, target_sr=rate), rate)


def _speech(env: Env, seconds: float) -> np.ndarray:
    """``seconds`` of the clip from where its speech starts."""
    start = int(np.argmax(np.abs(env.samples) > 0.05 * np.abs(env.samples).max()))
    return env.samples[start : start + int(seconds * env.rate)]


def _in_locked_folder(env: Env) -> Outcome:
    """A file named inside a folder that cannot be read, beside a clean clip."""
    inside = env.clean("locked/inside.wav")
    with _locked(inside.parent):
        return env.predict(inside, env.clean())


def _locked_subfolder(env: Env) -> Outcome:
    """A folder given whose sub-folder cannot be read (its clip is lost), beside a clean clip."""
    env.clean("clips/locked/inside.wav")
    env.clean("clips/clean.wav")
    with _locked(env.folder / "clips" / "locked"):
        return env.predict(env.folder / "clips")


def _unsearchable_subfolder(env: Env) -> Outcome:
    """A folder given whose sub-folder can be listed but not entered, and a clean clip named on its own."""
    env.clean("clips/listed/inside.wav")
    with _locked(env.folder / "clips" / "listed", listable=True):
        return env.predict(env.folder / "clips", env.clean())


@contextlib.contextmanager
def _locked(folder: Path, *, listable: bool = False):
    """As if ``folder`` were ``chmod 000`` (``listable``: ``chmod 444``) for a user who is not root (tests run as
    root, who may read anything): nothing in it can be looked at, and it cannot be listed unless ``listable``."""

    def denied(real, *, folder_itself: bool):
        def call(path=".", *args, **kwargs):
            target = Path(os.fsdecode(path)) if isinstance(path, (str, bytes, os.PathLike)) else None
            if target is not None and (folder in target.parents or (folder_itself and target == folder)):
                raise PermissionError(errno.EACCES, "Permission denied", str(target))
            return real(path, *args, **kwargs)

        return call

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "stat", denied(os.stat, folder_itself=False))
        patch.setattr(os, "scandir", denied(os.scandir, folder_itself=not listable))
        yield


def _interrupted(env: Env) -> Outcome:
    """Ctrl-C while features are computed in a C library's Python callback (openSMILE's), where ctypes would drop
    the KeyboardInterrupt and the library go on with NaN features."""
    compute = features.StatsRecipe.transform

    def transform(recipe, samples):
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:  # what ctypes does with it in a callback: "Exception ignored", then on
            return np.full(recipe.shape, np.nan, np.float32)
        return compute(recipe, samples)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(features.StatsRecipe, "transform", transform)
        return env.predict(env.clean(), env.clean("second.wav"), extra=("--csv", env.folder / "answers.csv"))


def _nan_features(env: Env) -> Outcome:
    """A clip (the quiet one) whose features come out NaN, beside a clean clip."""
    compute, loud = features.StatsRecipe.transform, 0.5 * np.abs(env.samples).max()

    def transform(recipe, samples):
        values = compute(recipe, samples)
        return values if np.abs(samples).max() > loud else np.full_like(values, np.nan)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(features.StatsRecipe, "transform", transform)
        return env.predict(env.audio("nan.wav", env.samples * 0.25), env.clean())


def _undecodable_name(env: Env) -> Outcome:
    """A clip whose name is not UTF-8 (``caf\\xe9.wav`` in Latin-1 bytes) in a folder, with a clean clip."""
    folder = env.folder / "names"
    folder.mkdir()
    shutil.copy(env.clip_path, os.fsencode(folder) + b"/caf\xe9.wav")
    shutil.copy(env.clip_path, folder / "clean.wav")
    return env.ser("predict", folder, "--model", env.model, "--csv", env.folder / "answers.csv")


def _answered_in_csv(env: Env, names: list[str]) -> bool:
    """True if answers.csv answers exactly the files ``names``, in that order."""
    table = pd.read_csv(env.folder / "answers.csv")
    return list(table["path"].map(lambda path: Path(path).name)) == names and table["label"].notna().all()


def _eight_bit(env: Env) -> Path:
    """The clean clip saved as 8-bit unsigned PCM."""
    path = env.folder / "8bit.wav"
    sf.write(path, env.samples, env.rate, subtype="PCM_U8")
    return path


def _ten_minutes(env: Env) -> Path:
    """The clean clip repeated for ten minutes."""
    return env.audio("long.wav", np.tile(env.samples, int(600 * env.rate / len(env.samples)) + 1))


def _temperature(value) -> Callable[[Env], Outcome]:
    """The model's calibration temperature edited to ``value`` in its metadata.json."""
    return lambda env: env.edit_metadata(lambda metadata: metadata.update(temperature=value)) or env.predict(
        env.clean())


def _metadata_folder(env: Env) -> Outcome:
    """A model whose metadata.json is a folder (an unexpected OS error on load)."""
    (env.model / "metadata.json").unlink()
    (env.model / "metadata.json").mkdir()
    return env.predict(env.clean())


def _json_onto_recording(env: Env) -> Outcome:
    """``--json a.wav b.flac``: argparse takes a.wav as the JSON file."""
    return env.ser("predict", "--json", env.clean("a.wav"), env.audio("b.flac", env.samples), "--model", env.model)


def _written_meanwhile(env: Env) -> Outcome:
    """Another ``ser predict --csv answers.csv`` finishes while this one predicts."""
    target, make_table = env.folder / "answers.csv", cli.prediction_table

    def table_after_the_other_run(*args):
        target.write_text("the other run's table")
        return make_table(*args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "prediction_table", table_after_the_other_run)
        return env.ser("predict", env.clean(), "--model", env.model, "--csv", target)


def _disk_full(env: Env) -> Outcome:
    """The disk fills up while the CSV is written."""
    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pd.DataFrame, "to_csv", full)
        return env.predict(env.clean(), extra=("--csv", env.folder / "answers.csv"))


def _read_only_folder(env: Env) -> Outcome:
    """``--csv`` into a folder the user may not write to."""
    read_only, real_access = env.folder / "ro", os.access
    read_only.mkdir()
    with pytest.MonkeyPatch.context() as patch:  # tests run as root, who may write into a read-only folder
        patch.setattr(os, "access", lambda path, mode: not (Path(path) == read_only and mode & os.W_OK)
                      and real_access(path, mode))
        return env.predict(env.clean(), extra=("--csv", read_only / "x.csv"))


def _only_written(env: Env, name: str) -> bool:
    """True if the folder holds ``name`` and no temporary file of an interrupted write."""
    return (env.folder / name).is_file() and not list(env.folder.glob(".*"))


def _nothing_written(env: Env, name: str) -> bool:
    """True if neither ``name`` nor any temporary file of a write was left in the folder."""
    return not (env.folder / name).exists() and not list(env.folder.glob(".*"))


def _data_over(env: Env, name: str) -> Outcome:
    """``ser data --out corpus`` where corpus/ holds the user's file ``name``."""
    kept = env.folder / "corpus" / name
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"the user's own")
    return env.ser("data", "--out", env.folder / "corpus")


def _kept(env: Env, name: str) -> bool:
    """True if the user's file ``name`` that :func:`_data_over` wrote is still there, unchanged."""
    return (env.folder / "corpus" / name).read_bytes() == b"the user's own"


def _older_build(env: Env) -> Outcome:
    """A corpus built before ``ser data`` marked its folders: clips and manifest only (the build may go on)."""
    actor = Path(env.clip_path).parent
    shutil.copytree(actor, env.folder / "corpus" / actor.name)
    (env.folder / "corpus" / synth.MANIFEST_NAME).write_text(json.dumps({"synthetic": True}))
    return _raises(synth.refuse_foreign_files, env.folder / "corpus")


NOISE = np.random.default_rng(0).normal(0, 0.1, 3 * 22050).astype(np.float32)

class _Payload:
    """A pickle that runs a command when it is loaded: what a malicious model file holds."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class _PayloadScaler(StandardScaler):
    """A scaler whose restoring runs a command: a type that no model of this project holds."""

    marker: str = ""

    def __setstate__(self, state):
        os.system(f"touch {state.get('marker', '')}")
        super().__setstate__(state)


def _marker(env: Env) -> Path:
    """Where a payload would leave its trace (never created, if loading runs nothing)."""
    return env.folder / "payload-ran"


def _pickled_folder(env: Env, folder: Path) -> None:
    """``folder`` in the old format, its weights a pickle with a payload, the hash in its metadata updated to match."""
    import pickle

    (folder / "model.skops").unlink()
    (folder / "model.joblib").write_bytes(pickle.dumps(_Payload(_marker(env))))
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata["model_file"] = "model.joblib"
    metadata["fingerprint"]["weights_sha256"] = sha256(folder / "model.joblib")
    (folder / "metadata.json").write_text(json.dumps(metadata))


def _old_pickle_with_payload(env: Env) -> Outcome:
    _pickled_folder(env, env.model)
    return env.predict(env.clean())


def _stray_pickle_beside_skops(env: Env) -> Outcome:
    import pickle

    (env.model / "model.joblib").write_bytes(pickle.dumps(_Payload(_marker(env))))
    return env.predict(env.clean())


def _skops_with_untrusted_type(env: Env) -> Outcome:
    import skops.io

    metadata = json.loads((env.model / "metadata.json").read_text())
    scaler = _PayloadScaler().fit(np.zeros((2, 160)))
    scaler.marker = str(_marker(env))
    skops.io.dump(make_pipeline(scaler), env.model / "model.skops")
    metadata["fingerprint"]["weights_sha256"] = sha256(env.model / "model.skops")
    (env.model / "metadata.json").write_text(json.dumps(metadata))
    return _load(env, "model.skops")


def _malformed_skops(env: Env) -> Outcome:
    import zipfile

    weights = env.model / "model.skops"
    with zipfile.ZipFile(weights) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(files["schema.json"])
    files["schema.json"] = json.dumps(schema | {"content": 5}).encode()
    with zipfile.ZipFile(weights, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    env.edit_metadata(lambda m: m["fingerprint"].update(weights_sha256=sha256(weights)))
    return _load(env, "model.skops")


def _ensemble_member_named(env: Env, ensemble: Path, name: str) -> Outcome:
    shutil.rmtree(env.model)
    shutil.copytree(ensemble, env.model)
    env.edit_metadata(lambda m: m["params"].update(members=[name]))
    return env.predict(env.clean())


def _ensemble_member_weights_named(env: Env, ensemble: Path, name: str) -> Outcome:
    """An ensemble whose member's metadata names ``name`` as its weights file (a path out of the folder)."""
    shutil.rmtree(env.model)
    shutil.copytree(ensemble, env.model)
    member = env.model / "members" / "svm" / "metadata.json"
    member.write_text(json.dumps(json.loads(member.read_text()) | {"model_file": name}))
    return env.predict(env.clean())


def _ensemble_member_with_payload(env: Env, ensemble: Path) -> Outcome:
    shutil.rmtree(env.model)
    shutil.copytree(ensemble, env.model)
    _pickled_folder(env, env.model / "members" / "svm")
    return env.predict(env.clean())


CASES = [
    # ---- ser predict: files that cannot be used are listed, the others still answered
    Case("folder given, no audio inside", lambda e: e.predict(e.folder / "model"), 2, "no audio files"),
    Case("named pipe", _fifo, 2, "not a regular file", answered=1),
    Case("file the user may not read", _unreadable, 2, "permission denied", answered=1),
    Case("empty file", _empty, 2, "empty file", answered=1),
    Case("corrupt file", _corrupt, 2, "corrupt", answered=1),
    Case("missing file", lambda e: e.predict(e.folder / "absent.wav", e.clean()), 2, "no such file", answered=1),
    Case("10 ms clip", lambda e: e.predict(e.audio("short.wav", e.samples[:220])), 2, "too short", answered=0),
    Case("WAV cut short (interrupted download)", _cut_short, 0, "cut short: its header promises", answered=1),
    Case("silent clip", lambda e: e.predict(e.audio("silent.wav", np.zeros(22050, np.float32))), 2, "silent"),
    Case("file inside an unreadable folder", _in_locked_folder, 2, "permission denied", answered=1),
    Case("unreadable folder inside the folder given", _locked_subfolder, 2, "permission denied", answered=1),
    Case("folder inside that can be listed, not entered", _unsearchable_subfolder, 2, "permission denied",
         answered=1),
    Case("header-only WAV (0 frames)", lambda e: e.predict(e.audio("header.wav", np.zeros(0, np.float32)), e.clean()),
         2, "no audio frames", answered=1),
    Case("features come out NaN", _nan_features, 2, "not scored", answered=1),
    Case("name not UTF-8", _undecodable_name, 0, "caf\\xe9.wav: ",
         check=lambda e: _answered_in_csv(e, ["caf\\xe9.wav", "clean.wav"])),
    Case("Ctrl-C in a C callback during a batch", _interrupted, 130, "interrupted", answered=0,
         check=lambda e: _nothing_written(e, "answers.csv")),
    # ---- ser predict: odd audio is answered with a warning
    Case("stereo, one channel inverted", _inverted_channel, 0, "channels cancel out", answered=1),
    Case("white noise", lambda e: e.predict(e.audio("noise.wav", NOISE)), 0, "sounds like noise", answered=1),
    Case("DC offset", lambda e: e.predict(e.audio("dc.wav", e.samples + 0.3)), 0, "DC offset", answered=1),
    Case("1 kHz low-pass", _tone_low_passed, 0, "band-limited", answered=1),
    Case("8 kHz recording", lambda e: e.predict(_resampled(e, 8000)), 0, "sampled at 8000 Hz", answered=1),
    Case("-40 dB copy", lambda e: e.predict(e.audio("quiet.wav", e.samples * 0.01)), 0, "very low level", answered=1),
    Case("0.5 s of speech", lambda e: e.predict(e.audio("half.wav", _speech(e, 0.5))), 0, "of speech heard",
         answered=1),
    Case("clipped recording", lambda e: e.predict(e.audio("loud.wav", np.clip(e.samples * 20, -1, 1))), 0, "clipped",
         answered=1),
    Case("8-bit recording", lambda e: e.predict(_eight_bit(e)), 0, "low bit depth", answered=1),
    Case("10 minutes of speech", lambda e: e.predict(_ten_minutes(e)), 0, "averaged into one answer", answered=1),
    # ---- ser predict: outputs never overwritten, never half-written
    Case("--csv onto an existing file", _existing_csv, 2, "--force",
         check=lambda e: (e.folder / "answers.csv").read_text() == "the user's own table"),
    Case("--radar into a missing folder", lambda e: e.predict(e.clean(), extra=("--radar", e.folder / "no/r.png")),
         2, "no such folder"),
    Case("--radar given a folder", lambda e: e.predict(e.clean(), extra=("--radar", e.folder)), 2, "is a folder"),
    Case("--csv and --json one file", lambda e: e.ser("predict", e.clean(), "--model", e.model, "--csv",
                                                      e.folder / "out", "--json", e.folder / "out"),
         2, "would both write there", check=lambda e: _nothing_written(e, "out")),
    Case("--json a.wav b.flac", _json_onto_recording, 2, "never does",
         check=lambda e: sf.info(e.folder / "a.wav").frames == len(e.samples)),
    Case("--csv onto the input, --force", lambda e: e.ser("predict", e.clean("x.wav"), "--model", e.model, "--csv",
                                                          e.folder / "x.wav", "--force"), 2, "never does",
         check=lambda e: sf.info(e.folder / "x.wav").frames == len(e.samples)),
    Case("--csv written meanwhile by another run", _written_meanwhile, 2, "already exists",
         check=lambda e: (e.folder / "answers.csv").read_text() == "the other run's table" and _only_written(
             e, "answers.csv")),
    Case("--csv - (the terminal)", lambda e: e.ser("predict", e.clean(), "--model", e.model, "--csv", "-"), 0,
         "path,label,probability", check=lambda e: not Path("-").exists()),
    Case("--radar - (the terminal)", lambda e: e.predict(e.clean(), extra=("--radar", "-")), 2, "is an image",
         check=lambda e: not Path("-").exists()),
    Case("--csv into a read-only folder", _read_only_folder, 2, "not writable", answered=0),
    Case("--csv into /sys (no file can be created)", _csv_into_kernel_folder, 2, "cannot be written", answered=0,
         check=lambda e: not (e.folder / "a.json").exists()),
    Case("--csv onto a named pipe, --force", _csv_onto_pipe, 2, "not a regular file",
         check=lambda e: stat.S_ISFIFO((e.folder / "pipe.csv").stat().st_mode)),
    Case("disk full while writing the CSV", _disk_full, 2, "no space left", check=lambda e: _nothing_written(
        e, "answers.csv")),
    Case("--radar r.svg", lambda e: e.predict(e.clean(), extra=("--radar", e.folder / "r.svg")), 0,
         "radar chart written", answered=1, check=lambda e: b"<svg" in (e.folder / "r.svg").read_bytes()[:2000]),
    Case("--radar r.jpg", lambda e: e.predict(e.clean(), extra=("--radar", e.folder / "r.jpg")), 0,
         "radar chart written", answered=1, check=lambda e: (e.folder / "r.jpg").read_bytes()[:2] == b"\xff\xd8"),
    Case("--radar r.gif", lambda e: e.predict(e.clean(), extra=("--radar", e.folder / "r.gif")), 2,
         "unsupported radar chart format", answered=0, check=lambda e: _nothing_written(e, "r.gif")),
    # ---- saved models: what they expect is checked on load
    Case("model folder missing", lambda e: e.ser("predict", e.clean(), "--model", e.folder / "none"), 2,
         "no metadata.json"),
    Case("speaker-norm model folder", lambda e: e.ser("predict", e.clean(), "--model", e.folder / "svm-speaker-norm"),
         2, "speaker-norm models are not saved"),
    Case("metadata.json a folder", _metadata_folder, 2, "is a directory"),
    Case("temperature 0 in metadata", _temperature(0), 2, "temperature 0 is not a finite number > 0"),
    Case("temperature 'nan' in metadata", _temperature("nan"), 2, "temperature 'nan' is not a finite number > 0"),
    Case("temperature -1 in metadata", _temperature(-1), 2, "temperature -1 is not a finite number > 0"),
    Case("temperature a word in metadata", _temperature("hot"), 2, "temperature 'hot' is not a finite number > 0"),
    Case("temperature changed in metadata", lambda e: e.edit_metadata(lambda m: m.update(
        temperature=m["temperature"] * 2 + 0.5)) or e.predict(e.clean()), 2, "differs from the one the model was"),
    Case("labels cut to 5 in metadata", lambda e: e.edit_metadata(lambda m: m.update(labels=m["labels"][:5]))
         or e.predict(e.clean()), 2, "differ from those the model was saved with"),
    Case("recipe switched in metadata", lambda e: e.edit_metadata(lambda m: m["recipe"]["matrix"].update(
        representation="logmel")) or e.predict(e.clean()), 2, "recipe differs"),
    Case("n_mfcc changed in metadata", lambda e: e.edit_metadata(lambda m: m["recipe"]["matrix"].update(n_mfcc=13))
         or e.predict(e.clean()), 2, "recipe differs"),
    Case("recipe missing from metadata", lambda e: e.edit_metadata(lambda m: m.pop("recipe")) or e.predict(e.clean()),
         2, "lacks recipe"),
    Case("metadata.json not JSON", _broken_metadata, 2, "unreadable model metadata"),
    Case("metadata.json a JSON list", _metadata_list, 2, "holds a JSON list, not an object"),
    Case("fingerprint a JSON list", lambda e: e.edit_metadata(lambda m: m.update(fingerprint=[1]))
         or e.predict(e.clean()), 2, "fingerprint holds a JSON list"),
    *[Case(f"{weights} changed", _changed_weights(weights), 2, f"{weights}: weights file changed since it was saved")
      for weights in READER],
    *[Case(f"{weights} truncated", _truncate(weights), 2, f"{weights}: weights file changed since it was saved")
      for weights in READER],
    Case("model.onnx not an ONNX graph, its hash updated", _onnx_not_a_graph, 2, "not a readable ONNX model file"),
    # ---- a shared model folder is data: loading runs nothing from it
    Case("old folder: model.joblib with a payload", _old_pickle_with_payload, 2, "refused: saved in an old format",
         check=lambda e: not _marker(e).exists()),
    Case("model.joblib with a payload left beside model.skops", _stray_pickle_beside_skops, 0, None, answered=1,
         check=lambda e: not _marker(e).exists()),
    Case("skops file with a foreign type", _skops_with_untrusted_type, 2, "_PayloadScaler",
         check=lambda e: not _marker(e).exists()),
    Case("model.skops with a malformed schema", _malformed_skops, 2, "not a readable skops model file"),
    Case("ensemble member named ..", lambda e: _ensemble_member_named(e, e.ensemble, ".."), 2, "not a plain name"),
    Case("ensemble member named /tmp/x", lambda e: _ensemble_member_named(e, e.ensemble, "/tmp/x"), 2,
         "not a plain name"),
    Case("ensemble member's weights file /dev/zero", lambda e: _ensemble_member_weights_named(e, e.ensemble, "/dev/zero"),
         2, "weights file '/dev/zero' is not a plain name"),
    Case("exports a word in metadata", lambda e: e.edit_metadata(lambda m: m.update(exports="onnx"))
         or e.predict(e.clean()), 2, "exports is str, not a mapping"),
    Case("ensemble member: model.joblib with a payload", lambda e: _ensemble_member_with_payload(e, e.ensemble), 2,
         "refused: saved in an old format", check=lambda e: not _marker(e).exists()),
    # ---- corpus scanning
    Case("X.WAV beside X.wav", lambda e: _scan(e, ["03-01-05-01-01-01-01.wav", "03-01-05-01-01-01-01.WAV"]), 0,
         "the same clip as", answered=1),
    Case("X.mp3 in one folder, X.wav in another: the WAV is kept",
         lambda e: _scan(e, ["../Actor_01 (1)/03-01-05-01-01-01-01.wav", "03-01-05-01-01-01-01.mp3"]), 0,
         "Actor_01/03-01-05-01-01-01-01.mp3: the same clip as Actor_01 (1)/03-01-05-01-01-01-01.wav", answered=1),
    Case("X.mp3 beside X.wav: the WAV is kept",
         lambda e: _scan(e, ["03-01-05-01-01-01-01.mp3", "03-01-05-01-01-01-01.wav"]), 0,
         "Actor_01/03-01-05-01-01-01-01.mp3: the same clip as Actor_01/03-01-05-01-01-01-01.wav", answered=1),
    Case("a clip in two folders, the first copy silent: the other kept", _silent_copy_first, 0,
         "Actor_01/03-01-05-01-01-01-01.wav: the same clip as Actor_01 (1)/03-01-05-01-01-01-01.wav, which is kept",
         answered=1,
         check=lambda e: e.kept == [e.folder / "corpus" / "Actor_01 (1)" / "03-01-05-01-01-01-01.wav"]),
    Case("non-ASCII digits in a name", lambda e: _scan(e, ["03-01-05-01-01-01-01.wav", "03-01-0٥-01-01-01-01.wav"]),
         0, "seven two-digit fields", answered=1),
    Case("song clip", lambda e: _scan(e, ["03-01-05-01-01-01-01.wav", "03-02-05-01-01-01-01.wav"]), 0,
         "song clip", answered=1),
    Case("corpus of one actor", _one_actor_corpus, 2, "at least 2 female and 2 male actors; this corpus has 0 female, "
         "1 male among the clips that the label scheme gender_emotion5 keeps"),
    # ---- feature cache and extraction
    Case("corrupt cache file", _corrupt_cache, 0, "damaged feature cache", answered=1,
         check=lambda e: len(list((e.folder / "cache").glob("*.npz"))) == 1),
    Case("file deleted after labelling", _deleted_after_labelling, 0, "no such file", answered=1),
    Case("prosody on a DC-only clip", lambda e: _extract(e, [e.clean(), e.audio("dc.wav", np.full(22050, 0.5,
                                                                                                  np.float32))],
                                                         features.ProsodyRecipe()), 0, None, answered=2),
    Case("temp file left by a killed run", _stale_temporary, 0, None, answered=1,
         check=lambda e: not list((e.folder / "cache").glob(".*"))),
    # ---- other commands
    Case("ser report --dataset bogus", lambda e: e.ser("report", "--dataset", "bogus"), 2, "no executed notebooks"),
    Case("ser data over a user's .flac", lambda e: _data_over(e, "Actor_01/song.flac"), 2, "did not synthesise",
         check=lambda e: _kept(e, "Actor_01/song.flac")),
    Case("ser data over a user's .WAV", lambda e: _data_over(e, "Actor_01/03-01-01-01-01-01-01.WAV"), 2,
         "did not synthesise", check=lambda e: _kept(e, "Actor_01/03-01-01-01-01-01-01.WAV")),
    Case("ser data over notes.txt", lambda e: _data_over(e, "notes.txt"), 2, "did not synthesise",
         check=lambda e: _kept(e, "notes.txt")),
    Case("ser data over recordings", lambda e: _data_over(e, "Actor_01/03-01-01-01-01-01-01.wav"), 2,
         "did not synthesise", check=lambda e: _kept(e, "Actor_01/03-01-01-01-01-01-01.wav")),
    Case("ser data onto a file", lambda e: e.ser("data", "--out", e.model / "metadata.json"), 2, "not a folder"),
    Case("ser data into /proc", lambda e: e.ser("data", "--out", "/proc/x"), 2, "/proc/x: no such file"),
    Case("ser data over an older build (no marker)", _older_build, 0, ""),
]


@pytest.fixture(scope="module")
def saved_svm(mini_table, tmp_path_factory):
    """An SVM trained on the mini corpus, saved as a run folder."""
    feature_set = features.extract_features(mini_table, features.StatsRecipe(), cache_dir=None, progress=False)
    run = training.cross_validate(feature_set, "svm", "speaker", max_folds=1, progress=False)
    run.model.metadata["dataset"] = {"name": "mini", "label": "mini corpus", "synthetic": False}
    return runs.save_run(run, tmp_path_factory.mktemp("model") / "svm-speaker")


@pytest.fixture(scope="module")
def saved_ensemble(mini_table, saved_svm, tmp_path_factory):
    """An ensemble of the SVM and a factorised SVM, saved as a model folder."""
    feature_set = features.extract_features(mini_table, features.StatsRecipe(), cache_dir=None, progress=False)
    factorised = training.cross_validate(feature_set, "svm_factorised", "speaker", max_folds=1, progress=False).model
    ensemble = EnsembleModel.from_members([load_model(saved_svm, runtime="native"), factorised])
    ensemble.metadata["dataset"] = {"name": "mini", "label": "mini corpus", "synthetic": False}
    return ensemble.save(tmp_path_factory.mktemp("model") / "ensemble-speaker")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fault(case, saved_svm, saved_ensemble, mini_table, tmp_path):
    env = Env(tmp_path, saved_svm, mini_table["path"].iloc[0])
    env.ensemble = saved_ensemble
    outcome = case.run(env)
    assert outcome.status == case.status, outcome.text
    if case.message is not None:
        assert case.message.lower() in outcome.text.lower(), outcome.text
    assert "Traceback" not in outcome.text
    if case.answered is not None:
        assert outcome.answered == case.answered, outcome.text
    if case.check is not None:
        assert case.check(env), outcome.text
