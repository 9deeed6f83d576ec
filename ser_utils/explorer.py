"""Live in JupyterLab (notebook 06): explore the corpus clip by clip, and answer your own voice from the browser.

The explorer picks a clip by actor, emotion and intensity, plays it, shows its log-mel spectrogram and the model's
radar chart. A clip of an actor the first fold's model never heard is answered by that model; any other clip by
the delivered model, which heard every actor of the corpus, and the view says so (its answer flatters it).

The recorder is a small ``anywidget``: the browser records the microphone (MediaRecorder), decodes the recording to
samples (Web Audio) and sends them to the kernel, which writes them as a WAV file and answers it exactly as
``ser predict`` answers a file: the label, the radar chart and the warnings.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import anywidget
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import soundfile as sf
import traitlets
from IPython.display import Audio, display

from . import audio, config, corpus, evaluation, models, plots, prediction, runs

#: The rate clips are played and drawn at in the explorer (the models read 16 kHz).
VIEW_RATE = 16000


@dataclass
class LiveModels:
    """The two models of a run: the delivered one (every actor) and the first fold's (never heard ``unseen``)."""

    name: str
    delivered: models.Model
    first_fold: models.Model
    unseen_actors: frozenset
    caption: str

    @classmethod
    def load(cls, dataset: str, model: str = "best", protocol: str = "speaker") -> LiveModels:
        """The headline model of `make report` (``"best"``, from ``metrics.json``) or the named one, under
        ``protocol``."""
        name = evaluation.read_headline(config.metrics_path(dataset))["model"] if model == "best" else model
        folder = config.run_dir(dataset, name, protocol)
        delivered = models.load_model(folder)
        first_fold = models.load_model(folder / runs.FOLD_MODEL_DIR)
        unseen = frozenset(first_fold.metadata["split"]["test_actors"]) if protocol != "random" else frozenset()
        _, info = corpus.load_labels(config.labels_path(dataset))
        return cls(name, delivered, first_fold, unseen,
                   f"{info['dataset']['label']} · model {name} trained {delivered.metadata['protocol_description']}")

    def for_actor(self, actor: int) -> tuple[models.Model, str]:
        """The model that should answer a clip of ``actor``, and a sentence saying which one it is."""
        if actor in self.unseen_actors:
            return self.first_fold, f"answered by the first fold's model, which never heard actor {actor}"
        return self.delivered, (f"answered by the delivered model, which heard actor {actor} in training: its "
                                "answer flatters it (actors never heard by the first fold's model: "
                                f"{', '.join(map(str, sorted(self.unseen_actors))) or 'none'})")


def answer_view(result: prediction.Prediction, title: str, caption: str) -> None:
    """Display an answer: the decision in words, then the radar chart (bars for labels without gender)."""
    print(f"answer: {result.describe()}")
    for warning in result.warnings:
        print(f"warning: {warning}")
    figure = plots.prediction_chart(result, title, caption)
    display(figure)
    plt.close(figure)


def clip_view(clip: pd.Series, live: LiveModels) -> None:
    """Display one corpus clip: its player, its log-mel spectrogram and the answer of the model that should answer
    it."""
    samples, _ = audio.load_audio(clip["path"], sample_rate=VIEW_RATE)
    model, which = live.for_actor(int(clip["actor"]))
    print(f"{clip['filename']}: actor {clip['actor']} ({clip['gender']}), {clip['emotion']}, {clip['intensity']}; "
          f"true label {clip['label']}; {which}")
    display(Audio(samples, rate=VIEW_RATE))
    figure = plots.spectrograms({"log-mel": samples}, VIEW_RATE, title=f"{clip['filename']}: log-mel spectrogram",
                                caption=live.caption)
    display(figure)
    plt.close(figure)
    answer_view(prediction.predict_file(model, clip["path"]), f"{clip['filename']} (true: {clip['label']})",
                live.caption)


def clip_explorer(table: pd.DataFrame, live: LiveModels) -> widgets.VBox:
    """Drop-downs for actor, emotion, intensity, statement and repetition; the chosen clip is shown below them."""
    def options(column):
        return sorted(table[column].unique().tolist())

    choosers = {column: widgets.Dropdown(options=options(column), description=column)
                for column in ("actor", "emotion", "intensity", "statement", "repetition")}
    view = widgets.Output()

    def show(_=None):
        wanted = np.logical_and.reduce([table[column] == chooser.value for column, chooser in choosers.items()])
        view.clear_output(wait=True)
        with view:
            if wanted.any():
                clip_view(table[wanted].iloc[0], live)
            else:  # e.g. neutral has no strong intensity
                print("no clip of the corpus has this combination: " +
                      ", ".join(f"{column} {chooser.value}" for column, chooser in choosers.items()))

    for chooser in choosers.values():
        chooser.observe(show, names="value")
    show()
    return widgets.VBox([widgets.HBox(list(choosers.values())[:3]), widgets.HBox(list(choosers.values())[3:]), view])


class Recorder(anywidget.AnyWidget):
    """A record button: the browser records ``seconds`` of microphone, decodes it, sends mono float32 samples
    (``recording``, at ``sample_rate``) to the kernel and counts the take (``take``: two identical recordings are
    still two answers); ``status`` is the line shown beside the button."""

    _esm = Path(__file__).with_name("recorder.js")
    seconds = traitlets.Float(4.0).tag(sync=True)
    recording = traitlets.Bytes(b"").tag(sync=True, **widgets.trait_types.bytes_serialization)  # memoryview -> bytes
    sample_rate = traitlets.Int(0).tag(sync=True)
    take = traitlets.Int(0).tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)


def recording_to_wav(samples: bytes, sample_rate: int, folder: Path) -> Path:
    """Write the browser's float32 samples as a 16-bit WAV file in ``folder``; return its path."""
    path = Path(folder) / "recording.wav"
    sf.write(path, np.frombuffer(samples, dtype="<f4"), sample_rate, subtype="PCM_16")
    return path


def answer_recording(model: models.Model, samples: bytes, sample_rate: int, caption: str) -> str:
    """Display the answer to one recording as ``ser predict`` gives it for a file (the same reading, warnings and
    refusals); return the status line: the label, or why there is none."""
    with tempfile.TemporaryDirectory() as folder:
        path = recording_to_wav(samples, sample_rate, Path(folder))
        try:
            samples_read, warnings = prediction.read_clip(model, path)
        except audio.AudioError as error:
            print(f"this recording cannot be used: {str(error).removeprefix(f'{path}: ')}")
            return "not answered: see below"
    answer = prediction.predict_each(model, [samples_read], paths=["your recording"], extra_warnings=[warnings])[0]
    if isinstance(answer, str):
        print(answer)
        return "not answered: see below"
    display(Audio(np.frombuffer(samples, dtype="<f4"), rate=sample_rate))
    answer_view(answer, "your recording", caption)
    return f"answered: {answer.label}"


def voice_recorder(live: LiveModels, seconds: float = 4.0) -> widgets.VBox:
    """The record button and, below it, the delivered model's answer to each recording."""
    recorder = Recorder(seconds=seconds)
    answer = widgets.Output()

    def respond(_change):
        answer.clear_output(wait=True)
        status = "not answered: see below"
        try:
            with answer:
                status = answer_recording(live.delivered, recorder.recording, recorder.sample_rate, live.caption)
        finally:
            recorder.status = status

    recorder.observe(respond, names="take")
    return widgets.VBox([recorder, answer])
