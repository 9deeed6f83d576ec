"""Predict emotion and gender of audio clips of any length with a saved model.

A clip is read exactly as in training: its leading and trailing silence trimmed, then
pooled over the whole speech (classical models) or read as one window (networks).
Speech longer than twice a network's window is scored over sliding windows (hop: half
a window) whose probabilities are averaged; an ensemble averages its members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config, spectral
from .audio import audio_info, load_audio_noting, resample, speech_bounds
from .decisions import decide, emotion_probabilities, gender_decision, gender_split
from .models import Model, ModelMismatch
from .vad import speech_span

#: Less speech than this (after trimming silence) gives unreliable answers (notebook 05's length study).
MIN_SPEECH_S = 1.0
#: Speech quieter than this (RMS, dBFS) is below 99 % of RAVDESS clips (median -38 dBFS).
LOW_LEVEL_DBFS = -60.0
#: A clip with more than this fraction of samples at full scale is clipped.
CLIPPED_FRACTION = 0.001
#: Recordings below this rate lack part of the band the models read (they work at 16 kHz).
MIN_SAMPLE_RATE = 16000
#: Median spectral flatness above this is noise-like (RAVDESS speech: at most 0.014; synthetic: 0.21; white noise: 0.56).
NOISE_FLATNESS = 0.35
#: Less than this fraction of the energy above 2 kHz is a muffled or low-passed clip (RAVDESS: at least 0.017).
MIN_HIGH_BAND = 0.002
#: A mean beyond this fraction of the RMS is a DC offset (RAVDESS: at most 0.008; synthetic: 0.05).
MAX_DC_RATIO = 0.2
#: Speech longer than this is likely several utterances (a RAVDESS sentence lasts 1.5-2.5 s), yet gets one answer.
LONG_SPEECH_S = 30.0
#: Sample formats (soundfile's subtypes) with fewer bits than the 16-bit recordings the models learnt from.
LOW_BIT_DEPTHS = {"PCM_S8": 8, "PCM_U8": 8, "ULAW": 8, "ALAW": 8, "DWVW_12": 12, "IMA_ADPCM": 4, "MS_ADPCM": 4,
                  "VOX_ADPCM": 4, "G721_32": 4, "G723_24": 3, "G723_40": 5}


@dataclass
class Prediction:
    """What a model says about one clip, and what the user should know before trusting it."""

    path: str
    labels: list[str]
    probabilities: np.ndarray
    window_starts: np.ndarray
    window_probabilities: np.ndarray
    warnings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The predicted class, decided as in evaluation (:func:`~ser_utils.decisions.decide`)."""
        return self.labels[int(decide(self.probabilities[None, :], self.labels)[0])]

    @property
    def probability(self) -> float:
        """The probability of :attr:`label`."""
        return float(self.probabilities[self.labels.index(self.label)])

    @property
    def gender(self) -> tuple[str, float] | None:
        """The seed's gender decision and its summed probability (None if labels carry no gender)."""
        if not gender_split(self.labels):
            return None
        gender, total = gender_decision(self.probabilities[None, :], self.labels)
        return str(gender[0]), float(total[0])

    def describe(self) -> str:
        """One line: the class and its probability, the gender decision and its probability, any warnings."""
        text = f"{self.label} ({self.probability:.2f})"
        if self.gender is not None:
            text += f"; gender {self.gender[0]} ({self.gender[1]:.2f})"
        return text + "".join(f" [warning: {warning}]" for warning in self.warnings)

    def emotions_by_gender(self) -> tuple[dict[str, np.ndarray], list[str]]:
        """Each gender's emotion probabilities (the radar chart's polygons) and the emotion order."""
        columns = gender_split(self.labels)
        emotions = [config.split_label(self.labels[i])[1] for i in next(iter(columns.values()))]
        return {g: self.probabilities[idx] for g, idx in columns.items()}, emotions

    def to_dict(self) -> dict:
        """JSON-able summary: label and its probability, gender decision, every class's probability, warnings."""
        result = {"path": self.path, "label": self.label, "probability": round(self.probability, 4)}
        if self.gender is not None:
            summed, emotions = emotion_probabilities(self.probabilities[None, :], self.labels)
            result |= {"gender": self.gender[0], "gender_probability": round(self.gender[1], 4),
                       "emotion": config.split_label(self.label)[1],
                       "emotion_probabilities": {e: round(float(p), 4) for e, p in zip(emotions, summed[0])}}
        return result | {
            "probabilities": {label: round(float(p), 4) for label, p in zip(self.labels, self.probabilities)},
            "windows": int(len(self.window_starts)), "warnings": list(self.warnings),
        }


def signal_warnings(samples: np.ndarray, sample_rate: int) -> list[str]:
    """Warnings about a clip's speech (as the voice-activity detector finds it): none heard, too short, too long, too
    quiet, unlike speech (noise, muffled, DC offset)."""
    span = speech_span(samples, sample_rate)
    warnings = [] if span else ["no speech heard (the voice-activity detector found none): the answer reads the "
                                "clip without its silence, and is unlikely to mean anything"]
    start, stop = speech_bounds(samples, sample_rate)  # the span, or the level trim where none is heard
    speech = samples[start:stop]
    if span and len(speech) / sample_rate < MIN_SPEECH_S:
        warnings.append(f"only {len(speech) / sample_rate:.2f} s of speech heard "
                        f"(under {MIN_SPEECH_S:g} s answers are unreliable)")
    if len(speech) / sample_rate > LONG_SPEECH_S:
        warnings.append(f"long input ({len(speech) / sample_rate:.0f} s of speech, over {LONG_SPEECH_S:g} s): "
                        "averaged into one answer over all its windows, so several utterances, speakers or emotions "
                        "are not told apart (cut it into single utterances)")
    level = 20 * np.log10(np.sqrt(np.mean(speech**2)) + 1e-12)
    if level < LOW_LEVEL_DBFS:
        warnings.append(f"very low level (speech at {level:.0f} dBFS, quieter than the training recordings)")
    return warnings + unlike_speech(samples, speech, sample_rate)


def unlike_speech(samples: np.ndarray, speech: np.ndarray, sample_rate: int) -> list[str]:
    """Warnings for input outside what the models learnt from: noise, a muffled band, a DC offset."""
    warnings = []
    magnitude = spectral.stft_magnitude(speech, n_fft=512, hop_length=256)
    flatness = float(np.median(spectral.spectral_flatness(magnitude)))
    power = magnitude**2
    if flatness > NOISE_FLATNESS:
        warnings.append(f"sounds like noise, not speech (spectral flatness {flatness:.2f}; speech is below 0.25)")
    high_band = power[np.fft.rfftfreq(512, 1 / sample_rate) >= 2000].sum() / max(power.sum(), 1e-20)
    if high_band < MIN_HIGH_BAND:
        warnings.append(f"band-limited: {100 * high_band:.2f} % of the energy above 2 kHz (muffled or low-pass filtered)")
    offset = abs(float(samples.mean()))
    if offset > MAX_DC_RATIO * float(np.sqrt(np.mean(samples**2))):
        warnings.append(f"DC offset (the waveform is shifted by {offset:.3f} of full scale)")
    return warnings


def recording_warnings(native: np.ndarray, native_rate: int, subtype: str) -> list[str]:
    """Warnings about how a file was recorded: clipped, sampled below the models' rate, or with few bits per sample.

    ``subtype`` is the file's sample format as soundfile names it (``soundfile.info(path).subtype``).
    """
    warnings = []
    if subtype in LOW_BIT_DEPTHS:
        warnings.append(f"low bit depth ({LOW_BIT_DEPTHS[subtype]}-bit {subtype}): its quantisation noise is unlike "
                        "the 16-bit recordings the models learnt from, and can change the answer")
    clipped = float(np.mean(np.abs(native) >= 0.999))
    if clipped > CLIPPED_FRACTION:
        warnings.append(f"clipped ({100 * clipped:.1f} % of samples at full scale)")
    if native_rate < MIN_SAMPLE_RATE:
        warnings.append(f"sampled at {native_rate} Hz: the band above {native_rate // 2} Hz that the model reads is missing")
    return warnings


def model_corpus(model: Model) -> str:
    """The caption of the corpus ``model`` was trained on (as its metadata records it)."""
    return model.metadata.get("dataset", {}).get("label", "an unknown corpus")


def model_warnings(model: Model) -> list[str]:
    """Warnings about the model itself: trained on synthetic speech, or never tested on unseen speakers."""
    warnings = []
    dataset = model.metadata.get("dataset", {})
    if dataset.get("synthetic"):
        warnings.append("the model was trained on synthetic speech: its answers are not meaningful for real voices")
    elif not dataset:
        warnings.append("the model does not record which corpus it was trained on")
    if model.metadata.get("protocol") == "random":
        warnings.append("the model was evaluated only under the random split (its test speakers were also "
                        "training speakers): its accuracy on a new voice is unknown")
    return warnings


def predict_many(model: Model, clips: list[np.ndarray], *, paths: list[str] | None = None,
                 extra_warnings: list[list[str]] | None = None) -> list[Prediction]:
    """Predict several in-memory clips (mono, at ``model.sample_rate``) in one batch.

    Raises ``ValueError`` if a clip cannot be scored: features that are not finite numbers (which every model
    refuses: :meth:`~ser_utils.models.Model.check_features`) or probabilities that are not. :func:`predict_each`
    tells which clip it was.
    """
    paths = paths or ["<samples>"] * len(clips)
    extra_warnings = extra_warnings or [[] for _ in clips]
    scored = model.predict_clips(clips)
    if not all(np.all(np.isfinite(probabilities)) for _, probabilities in scored):
        raise ValueError("NaN or infinite probabilities (features that are not finite numbers)")
    return [Prediction(path, model.labels, probabilities.mean(axis=0), starts, probabilities,
                       extra + signal_warnings(samples, model.sample_rate))
            for path, samples, extra, (starts, probabilities) in zip(paths, clips, extra_warnings, scored)]


def predict_each(model: Model, clips: list[np.ndarray], *, paths: list[str],
                 extra_warnings: list[list[str]]) -> list[Prediction | str]:
    """Per clip, its :class:`Prediction`, or a one-line error naming it if the model cannot score it.

    The clips go through the model in one batch; if that fails, each clip goes alone, so that a
    clip whose features are NaN or infinite is an error of its own and never an answer, and the
    others are still answered. A :class:`~ser_utils.models.ModelMismatch` (the model does not fit
    the features) is raised: it would fail every clip.
    """
    try:
        return predict_many(model, clips, paths=paths, extra_warnings=extra_warnings)
    except ModelMismatch:
        raise
    except ValueError as error:
        if len(clips) == 1:
            return [f"{paths[0]}: not scored: {str(error).splitlines()[0]}"]
    return [answer for clip, path, extra in zip(clips, paths, extra_warnings)
            for answer in predict_each(model, [clip], paths=[path], extra_warnings=[extra])]


def predict_samples(model: Model, samples: np.ndarray, *, path: str = "<samples>") -> Prediction:
    """Predict one in-memory clip: mono samples at the model's sample rate, any length."""
    return predict_many(model, [samples], paths=[path])[0]


def read_clip(model: Model, path: str | Path) -> tuple[np.ndarray, list[str]]:
    """A file's samples at the model's rate, and the warnings about its recording (clipping, low rate).

    Raises :class:`~ser_utils.audio.AudioError` naming the file if it cannot be used.
    """
    native, native_rate, noted = load_audio_noting(path)  # e.g. channels that cancel out when mixed
    loading = [message.removeprefix(f"{path}: ") for message in noted]
    samples = resample(native, native_rate, model.sample_rate, res_type=model.res_type)
    return samples, loading + recording_warnings(native, native_rate, audio_info(path).subtype)


def predict_file(model: Model, path: str | Path) -> Prediction:
    """Predict one audio file of any length, rate, channel count or format (WAV/FLAC/OGG/MP3)."""
    samples, warnings = read_clip(model, path)
    return predict_many(model, [samples], paths=[str(path)], extra_warnings=[warnings])[0]


def test_clips(table, run_dir):
    """The rows of ``table`` that the run's first-fold model (``<run>/fold-0``) was tested on, so never trained on:
    under the speaker protocol, clips of actors it never heard; under the random split, other clips of voices it
    heard. (The delivered model was fitted on every clip: no clip of the corpus is new to it.)"""
    from .runs import load_run

    tested = load_run(run_dir).predictions.query("fold == 0")["path"]
    return table[table["path"].isin(tested)].reset_index(drop=True)


def robustness(model: Model, clips, conditions=None, *, seed: int = 0, cache_dir=config.PROCESSED_DIR,
               progress: bool = False):
    """The robustness study of one saved model on ``clips`` (actors it never heard): one row per condition and level.

    Each clip is corrupted by every level of every condition of
    :data:`~ser_utils.augment.STUDY_CONDITIONS` (or the ``conditions`` named; babble from the other
    ``clips``), and scored as in training (features of the first segment, cached). Returns
    :func:`~ser_utils.evaluation.robustness_summary`: UAR and gender accuracy per condition and
    level, the clean clips first. Features are cached in ``cache_dir`` (None: not cached).
    """
    from . import augment
    from .evaluation import robustness_summary
    from .features import corrupted_features, corrupted_key, extract_features
    from .runs import Run, predictions_table, study_table

    parts = getattr(model, "members", None) or [model]
    recipes = list(dict.fromkeys(part.recipe for part in parts))
    tested = augment.study_corruptions(clips, np.arange(len(clips)), tuple(conditions or augment.STUDY_CONDITIONS),
                                       seed=seed)
    banks = corrupted_features([c for *_, c in tested], recipes, cache_dir=cache_dir, progress=progress)
    clean = {recipe: extract_features(clips, recipe, cache_dir=cache_dir, progress=progress) for recipe in recipes}
    readable = set.intersection(*(set(feature_set.table["path"]) for feature_set in clean.values()))
    clips = clips[clips["path"].isin(readable)].reset_index(drop=True)
    rows = {recipe: dict(zip(feature_set.table["path"], feature_set.features)) for recipe, feature_set in clean.items()}

    def inputs(by_recipe: dict):
        batches = {recipe: np.stack(values) for recipe, values in by_recipe.items()}
        return batches[model.recipe] if len(parts) == 1 else {part.name: batches[part.recipe] for part in parts}

    usable = [(name, level, c) for name, level, c in tested if c.path in readable
              and not any(isinstance(banks[recipe][corrupted_key(c)], str) for recipe in recipes)]
    clean_probabilities = model.predict_proba(inputs({r: [rows[r][path] for path in clips["path"]] for r in recipes}))
    corrupted_probabilities = model.predict_proba(inputs({r: [banks[r][corrupted_key(c)] for *_, c in usable]
                                                          for r in recipes}))
    run = Run(model.name, "speaker", model.labels, predictions_table(clips, 0, clean_probabilities, model.labels),
              [{"fold": 0}], robustness=study_table(clips, usable, 0, corrupted_probabilities, model.labels))
    return robustness_summary(run)
