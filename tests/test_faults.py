"""Faults and odd inputs, one row per case: what a user did, and what must then happen.

Each :class:`Case` names the situation, a ``run`` function that sets it up in a fresh
folder and acts (through the ``ser`` command where a user would), and what must hold:
the exit status, a phrase of the one-line message naming the file, how many files were
still answered, and any check that nothing the user had was lost. To add a case, write a
small function and one row of :data:`CASES`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from ser_utils import cli, config, corpus, features, runs, training


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
    message: str
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


def _truncate(env: Env) -> Outcome:
    weights = env.model / "model.joblib"
    weights.write_bytes(weights.read_bytes()[:100])
    return env.predict(env.clean())


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


def _broken_metadata(env: Env) -> Outcome:
    (env.model / "metadata.json").write_text("{oops")
    return env.predict(env.clean())


def _changed_weights(env: Env) -> Outcome:
    with open(env.model / "model.joblib", "ab") as weights:
        weights.write(b"\0")
    return env.predict(env.clean())


def _resampled(env: Env, rate: int) -> Path:
    import librosa

    return env.audio(f"{rate}.wav", librosa.resample(env.samples, orig_sr=env.rate, target_sr=rate), rate)


def _speech(env: Env, seconds: float) -> np.ndarray:
    """``seconds`` of the clip from where its speech starts."""
    start = int(np.argmax(np.abs(env.samples) > 0.05 * np.abs(env.samples).max()))
    return env.samples[start : start + int(seconds * env.rate)]


NOISE = np.random.default_rng(0).normal(0, 0.1, 3 * 22050).astype(np.float32)

CASES = [
    # ---- ser predict: files that cannot be used are listed, the others still answered
    Case("folder given, no audio inside", lambda e: e.predict(e.folder / "model"), 2, "no audio files"),
    Case("named pipe", _fifo, 2, "not a regular file", answered=1),
    Case("file the user may not read", _unreadable, 2, "permission denied", answered=1),
    Case("empty file", _empty, 2, "empty file", answered=1),
    Case("corrupt file", _corrupt, 2, "corrupt", answered=1),
    Case("missing file", lambda e: e.predict(e.folder / "absent.wav", e.clean()), 2, "no such file", answered=1),
    Case("10 ms clip", lambda e: e.predict(e.audio("short.wav", e.samples[:220])), 2, "too short", answered=0),
    Case("silent clip", lambda e: e.predict(e.audio("silent.wav", np.zeros(22050, np.float32))), 2, "silent"),
    # ---- ser predict: odd audio is answered with a warning
    Case("stereo, one channel inverted", _inverted_channel, 0, "channels cancel out", answered=1),
    Case("white noise", lambda e: e.predict(e.audio("noise.wav", NOISE)), 0, "sounds like noise", answered=1),
    Case("DC offset", lambda e: e.predict(e.audio("dc.wav", e.samples + 0.3)), 0, "DC offset", answered=1),
    Case("1 kHz low-pass", _tone_low_passed, 0, "band-limited", answered=1),
    Case("8 kHz recording", lambda e: e.predict(_resampled(e, 8000)), 0, "sampled at 8000 Hz", answered=1),
    Case("-40 dB copy", lambda e: e.predict(e.audio("quiet.wav", e.samples * 0.01)), 0, "very low level", answered=1),
    Case("0.5 s of speech", lambda e: e.predict(e.audio("half.wav", _speech(e, 0.5))), 0, "of speech after trimming",
         answered=1),
    Case("clipped recording", lambda e: e.predict(e.audio("loud.wav", np.clip(e.samples * 20, -1, 1))), 0, "clipped",
         answered=1),
    # ---- ser predict: outputs never overwritten, never half-written
    Case("--csv onto an existing file", _existing_csv, 2, "--force",
         check=lambda e: (e.folder / "answers.csv").read_text() == "the user's own table"),
    Case("--radar into a missing folder", lambda e: e.predict(e.clean(), extra=("--radar", e.folder / "no/r.png")),
         2, "no such folder"),
    Case("--radar given a folder", lambda e: e.predict(e.clean(), extra=("--radar", e.folder)), 2, "is a folder"),
    # ---- saved models: what they expect is checked on load
    Case("model folder missing", lambda e: e.ser("predict", e.clean(), "--model", e.folder / "none"), 2,
         "no metadata.json"),
    Case("labels cut to 5 in metadata", lambda e: e.edit_metadata(lambda m: m.update(labels=m["labels"][:5]))
         or e.predict(e.clean()), 2, "differ from those the model was saved with"),
    Case("recipe switched in metadata", lambda e: e.edit_metadata(lambda m: m["recipe"]["matrix"].update(
        representation="logmel")) or e.predict(e.clean()), 2, "recipe differs"),
    Case("n_mfcc changed in metadata", lambda e: e.edit_metadata(lambda m: m["recipe"]["matrix"].update(n_mfcc=13))
         or e.predict(e.clean()), 2, "recipe differs"),
    Case("recipe missing from metadata", lambda e: e.edit_metadata(lambda m: m.pop("recipe")) or e.predict(e.clean()),
         2, "lacks recipe"),
    Case("metadata.json not JSON", _broken_metadata, 2, "unreadable model metadata"),
    Case("weights file changed", _changed_weights, 2, "changed since it was saved"),
    Case("weights file truncated", _truncate, 2, "changed since it was saved"),
    # ---- corpus scanning
    Case("X.WAV beside X.wav", lambda e: _scan(e, ["03-01-05-01-01-01-01.wav", "03-01-05-01-01-01-01.WAV"]), 0,
         "the same clip as", answered=1),
    Case("non-ASCII digits in a name", lambda e: _scan(e, ["03-01-05-01-01-01-01.wav", "03-01-0٥-01-01-01-01.wav"]),
         0, "seven two-digit fields", answered=1),
    Case("song clip", lambda e: _scan(e, ["03-01-05-01-01-01-01.wav", "03-02-05-01-01-01-01.wav"]), 0,
         "song clip", answered=1),
    Case("corpus of one actor", _one_actor_corpus, 2, "at least 2 female and 2 male"),
    # ---- feature cache and extraction
    Case("corrupt cache file", _corrupt_cache, 0, "damaged feature cache", answered=1,
         check=lambda e: len(list((e.folder / "cache").glob("*.npz"))) == 1),
    Case("file deleted after labelling", _deleted_after_labelling, 0, "no such file", answered=1),
    Case("prosody on a DC-only clip", lambda e: _extract(e, [e.clean(), e.audio("dc.wav", np.full(22050, 0.5,
                                                                                                  np.float32))],
                                                         features.ProsodyRecipe()), 0, "", answered=None),
    Case("temp file left by a killed run", _stale_temporary, 0, "", answered=1,
         check=lambda e: not list((e.folder / "cache").glob(".*"))),
    # ---- other commands
    Case("ser report --dataset bogus", lambda e: e.ser("report", "--dataset", "bogus"), 2, "no executed notebooks"),
]


@pytest.fixture(scope="module")
def saved_svm(mini_table, tmp_path_factory):
    """An SVM trained on the mini corpus, saved as a run folder."""
    feature_set = features.extract_features(mini_table, features.StatsRecipe(), cache_dir=None, progress=False)
    run = training.cross_validate(feature_set, "svm", "speaker", max_folds=1, progress=False)
    run.model.metadata["dataset"] = {"name": "mini", "label": "mini corpus", "synthetic": False}
    return runs.save_run(run, tmp_path_factory.mktemp("model") / "svm-speaker")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fault(case, saved_svm, mini_table, tmp_path):
    env = Env(tmp_path, saved_svm, mini_table["path"].iloc[0])
    outcome = case.run(env)
    assert outcome.status == case.status, outcome.text
    assert case.message.lower() in outcome.text.lower(), outcome.text
    assert "Traceback" not in outcome.text
    if case.answered is not None:
        assert outcome.answered == case.answered, outcome.text
    if case.check is not None:
        assert case.check(env), outcome.text
