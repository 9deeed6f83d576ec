"""The report's own words: its first page, glossary, closing section and footer, every figure read from
``metrics.json`` so that no sentence can contradict the results it introduces."""

from __future__ import annotations

from datetime import datetime, timezone

from . import config
from .evaluation import find_run, probability_reading, protocol_gap, protocol_pair
from .provenance import git_commit, package_versions

#: Models that combine others: the overview's "best single model" is the best of the rest.
COMBINED_MODELS = ("ensemble",)
#: What each well-known model is, in a student's words (the overview table's first column).
MODEL_ROLES = {"cnn": "The convolutional network (reads spectrograms)",
               "seed_cnn": "The seed project's network (the starting point)"}

#: Terms the report uses, defined once (the glossary at the end; the first page links to it).
GLOSSARY = (
    ("UAR (unweighted average recall)", "The share of clips recognised correctly, computed per class and then "
     "averaged, so every class counts the same. With balanced classes it equals accuracy. Guessing scores 1 divided "
     "by the number of classes (*chance*)."),
    ("Fold", "One round of the test: some actors are set aside, the models learn from the others and are scored on "
     "the set-aside actors. Every actor is set aside once; results are the mean ± standard deviation over folds."),
    ("Speaker-independent (*speaker* protocol)", "No actor is in both the training and the test data: the score "
     "says how well the model does on a voice it has never heard. The figure to trust."),
    ("Random split (*random* protocol)", "The seed project's test: clips are shuffled into training and test sets, "
     "so the test actors were also heard in training. It measures something easier and overstates accuracy."),
    ("Speaker-norm (*speaker-norm* protocol)", "The speaker folds, but each voice's features are first rescaled "
     "using all of that voice's clips (not their labels). It needs several clips of a new voice, so it is never "
     "the headline."),
    ("Gender accuracy, emotion accuracy", "The share of clips whose gender (emotion) is right, whatever the other "
     "half of the answer says."),
    ("MFCC", "Mel-frequency cepstral coefficients: a dozen or so numbers per 20-90 ms of sound that describe the shape "
     "of its spectrum (notebook 02 computes them step by step)."),
    ("Log-mel spectrogram", "A picture of the sound: time left to right, pitch-like frequency bottom to top (on the "
     "ear's mel scale), brightness the loudness in decibels."),
    ("eGeMAPS, ComParE", "Two standard sets of voice measurements (pitch, loudness, voice quality, spectrum: 88 and "
     "6 373 numbers per clip) computed by the openSMILE toolkit."),
    ("SVM, LR", "Two classic classifiers: a support vector machine, and logistic regression (`_lr` models)."),
    ("CNN", "A convolutional neural network: it learns its own features from the log-mel spectrogram."),
    ("Factorised (`_factorised` models)", "One model decides the gender, another the emotion; the answer multiplies "
     "their probabilities."),
    ("Ensemble", "The average of several models' probabilities."),
    ("The seed", "The project this report started from: a small network scored on a random split. Its model is "
     "kept as a baseline (`seed_cnn`)."),
    ("Confusion matrix", "A table of true classes (rows) against answers (columns): the diagonal holds the right "
     "answers, every other cell one kind of mistake."),
    ("ROC curve, AUC", "How well a model ranks the clips of one class above the others, at every threshold; the area "
     "under the curve (AUC) is 1 for a perfect ranking and 0.5 for a guess."),
    ("Macro and micro averages", "Macro: a measure computed per class, then averaged, every class counting the same. "
     "Micro: computed over all clips at once."),
    ("Epoch, early stopping", "An epoch is one pass of a network over its training clips. Early stopping ends "
     "training when the score on held-out validation voices stops improving and keeps the best epoch."),
    ("Calibration, ECE", "A model is calibrated when, of the answers it gives with 70 % confidence, about 70 % are "
     "right. The expected calibration error (ECE) is the average gap between confidence and accuracy."),
    ("Temperature scaling", "One number, fitted on validation voices, that sharpens or softens all of a model's "
     "probabilities so that they match how often it is right."),
    ("Voice-activity detector (VAD)", "A small trained model (Silero VAD) that finds where in a recording someone "
     "speaks, so that silence and noise before and after are left out."),
    ("SNR, RT60", "Signal-to-noise ratio: how far the speech is above the noise, in decibels (0 dB: as loud as the "
     "noise). RT60: how long a room's echo takes to fade by 60 dB, in seconds."),
    ("Corrupted copies", "Training clips with noise, a room's echo or a phone line added, so the models meet what "
     "real recordings sound like."),
    ("Delivered model, first fold's model", "The delivered model learnt from every actor once the folds had measured "
     "the method; it answers new recordings. The first fold's model never heard that fold's test actors, so it can "
     "be shown on them honestly."),
    ("Synthetic corpus", "Speech made by a speech synthesiser (eSpeak NG) in RAVDESS's layout, so the project runs "
     "without downloading anything. It proves the pipeline works; it says nothing about real voices."),
)


def percent(value: float) -> str:
    """A share as a whole percentage (0.6823 -> "68 %")."""
    return f"{100 * value:.0f} %"


def _classes_phrase(scheme: dict) -> str:
    """What the classes are, in words."""
    if list(scheme["classes"]) == list(config.GENDERS):
        return "whether a woman or a man speaks: 2 possible answers"
    emotions = scheme.get("emotions") or [label.split("_")[-1] for label in scheme["classes"]]
    listed = ", ".join(emotions[:-1]) + f" or {emotions[-1]}" if len(emotions) > 1 else emotions[0]
    if scheme["has_gender"]:
        return (f"who speaks, a woman or a man, and which emotion they act ({listed}): "
                f"{len(scheme['classes'])} possible answers")
    return f"which emotion the speaker acts ({listed}): {len(scheme['classes'])} possible answers"


def _strict_runs(metrics: dict) -> list[dict]:
    """The speaker-protocol runs, best UAR first."""
    return sorted((s for s in metrics["runs"] if s["protocol"] == "speaker"), key=lambda s: -s["mean"]["uar"])


def headline_is_best(metrics: dict) -> bool:
    """Whether the headline is the best model on new voices (``make report MODEL=`` can choose another)."""
    strict = _strict_runs(metrics)
    return not strict or strict[0]["mean"]["uar"] <= metrics["headline"]["mean"]["uar"]


def overview_rows(metrics: dict) -> list[tuple[str, str, str]]:
    """(what it is, model, UAR) for the first page's short table: the headline, the best single model, the CNN, the
    seed's baseline, a random-split contrast and chance, each where it was run."""
    runs, headline = metrics["runs"], metrics["headline"]
    shown = {headline["model"]}
    chosen = ("the best model on voices it never heard" if headline_is_best(metrics)
              else "the model chosen for this report")
    rows = [(f"**Headline**: {chosen}", headline["model"], _uar(headline, bold=True))]
    singles = [s for s in _strict_runs(metrics) if s["model"] not in COMBINED_MODELS and s["model"] not in shown]
    if singles:
        role = ("The best single model" if headline["model"] in COMBINED_MODELS or not headline_is_best(metrics)
                else "The runner-up")
        rows.append((role, singles[0]["model"], _uar(singles[0])))
        shown.add(singles[0]["model"])
    for model, role in MODEL_ROLES.items():
        summary = find_run(runs, model, "speaker")
        if summary is not None and model not in shown:
            rows.append((role, model, _uar(summary)))
    pair = protocol_pair(runs, headline["model"])
    if pair is not None:
        on_new_voices, on_heard_voices = pair
        who = ("The same model" if on_heard_voices["model"] == headline["model"]
               else f"{on_heard_voices['model']} ({on_new_voices['mean']['uar']:.3f} on new voices)")
        rows.append((f"{who} when the test voices **were** heard in training (random split: the same voices in "
                     "training and test)", on_heard_voices["model"], _uar(on_heard_voices)))
    rows.append(("Guessing (chance)", "–", f"{metrics['scheme']['chance']:.3f}"))
    return rows


def _uar(summary: dict, *, bold: bool = False) -> str:
    """"0.683 ± 0.052" (bold when asked)."""
    text = f"{summary['mean']['uar']:.3f} ± {summary['std']['uar']:.3f}"
    return f"**{text}**" if bold else text


def headline_sentence(metrics: dict) -> str:
    """The headline beside chance, in words and figures."""
    headline, scheme = metrics["headline"], metrics["scheme"]
    mean, std = headline["mean"], headline["std"]
    which = "The best model" if headline_is_best(metrics) else "The model chosen for this report"
    sentence = (f"{which}, **{headline['model']}**, recognises **{percent(mean['uar'])}** of each class on average "
                f"(UAR {mean['uar']:.3f} ± {std['uar']:.3f} over {headline['n_folds']} folds) in voices it never "
                f"heard, where guessing would get {percent(scheme['chance'])}.")
    if "gender_accuracy" in mean and len(scheme["classes"]) > 2:
        sentence += (f" It tells a woman from a man in {100 * mean['gender_accuracy']:.1f} % of clips and names "
                     f"the emotion in {percent(mean['emotion_accuracy'])}.")
    return sentence


def synthetic_warning(dataset: dict) -> str:
    """A block quote saying that the figures come from synthetic speech, or "" for a real corpus."""
    return ("> **Synthetic corpus.** These figures come from speech synthesised offline in RAVDESS's design. "
            "They show that the pipeline works, not how well emotion is recognised in real voices."
            if dataset["synthetic"] else "")


def introduction(metrics: dict) -> str:
    """The task, the data and the test, in three plain sentences (Markdown)."""
    return f"""**The task.** A computer listens to a short recorded sentence and says {_classes_phrase(metrics['scheme'])}.

**The data.** {metrics['dataset']['label']}: actors saying two fixed sentences in each emotion.

**The test.** Every score here comes from voices the model never heard: the actors are split into groups,
the models learn from some groups and are tested on the others, in turn (each round is a *fold*)."""


def overview_table(metrics: dict) -> str:
    """The short table of :func:`overview_rows` (Markdown)."""
    rows = "\n".join(f"| {role} | {model} | {uar} |" for role, model, uar in overview_rows(metrics))
    return f"| | model | UAR (mean ± std over folds) |\n|---|---|---|\n{rows}"


def title_page(metrics: dict) -> str:
    """Markdown of the first page: the task, the data and the test in plain sentences, the headline beside chance
    and a short table."""
    return f"""<a id="top"></a>

# Speech emotion recognition: who speaks, and how do they feel?

{synthetic_warning(metrics['dataset'])}

{introduction(metrics)}

{headline_sentence(metrics)}

{overview_table(metrics)}

Every model and protocol is in the leaderboard of the [evaluation](#04_evaluation); the terms the report uses (UAR,
folds, protocols, the models, calibration, SNR and more) are explained in the [glossary](#glossary).
"""


def glossary() -> str:
    """Markdown of the glossary section."""
    entries = "\n".join(f"| **{term}** | {definition} |" for term, definition in GLOSSARY)
    return f"""<a id="glossary"></a>

## Glossary

| term | meaning |
|---|---|
{entries}
"""


def results_and_limitations(metrics: dict, *, heading: str) -> str:
    """Markdown of the closing section, every figure and direction read from ``metrics.json``."""
    headline, dataset, scheme = metrics["headline"], metrics["dataset"], metrics["scheme"]
    mean, std = headline["mean"], headline["std"]
    strict = _strict_runs(metrics)
    ranking = " > ".join(f"{s['model']} {s['mean']['uar']:.3f}" for s in strict)
    spread = 100 * max(s["std"]["uar"] for s in strict)
    others = [s for s in strict if s["model"] != headline["model"]]
    gap = 100 * (mean["uar"] - others[0]["mean"]["uar"]) if others else 0.0
    lead = ((f"It leads the next model, {others[0]['model']}, by {gap:.1f} points" if gap >= 0 else
             f"It was chosen for this report; the best model, {others[0]['model']}, scores {-gap:.1f} points more")
            + f"; differences smaller than the spread over folds (up to ±{spread:.1f} points here) are not reliable."
            if others else "")
    calibration = headline.get("calibration")
    calibrated = (f"\n\n**Calibration.** Its probabilities are off by {calibration['ece']:.3f} on average (expected "
                  f"calibration error over all test folds; {calibration['ece_uncalibrated']:.3f} before temperature "
                  f"scaling on validation actors): {probability_reading(calibration['ece'])}" if calibration else "")
    return f"""# {heading}

**What worked.** {headline['model']} recognised the {len(scheme['classes'])} classes at UAR **{mean['uar']:.3f} ±
{std['uar']:.3f}** over {headline['n_folds']} folds of speakers it never heard (chance
{scheme['chance']:.3f}){_gender_emotion_figures(mean)}.

**Which models beat which** (speaker-independent, mean UAR): {ranking}. {lead}

**The protocol gap.** {protocol_gap(metrics['runs'], headline['model'])}{calibrated}

**How far to trust these figures.** {limits(dataset, headline)}
"""


def _gender_emotion_figures(mean: dict) -> str:
    """Gender and emotion accuracy as a phrase (", gender 0.980, emotion 0.610") when labels carry gender."""
    if "gender_accuracy" not in mean:
        return ""
    return f", gender {mean['gender_accuracy']:.3f}, emotion {mean['emotion_accuracy']:.3f}"


def limits(dataset: dict, headline: dict) -> str:
    """What the figures cannot show, for the corpus they come from."""
    if dataset["synthetic"]:
        return ("The corpus is synthetic: eSpeak NG voices whose emotions are rules applied to loudness, tempo, "
                "pitch and voice quality. The figures show that every stage runs and what each stage does; they say "
                "nothing about recognising emotion in people. The same report on real RAVDESS is one parameter "
                "away (README).")
    actors = f"{dataset['n_actors']} actors" if "n_actors" in dataset else "its actors"
    return (f"RAVDESS is acted emotion: {actors} (of RAVDESS's 24) reading two fixed sentences in North-American "
            "English in a studio. Spontaneous speech, other languages and accents, noisy rooms and phone microphones "
            f"are outside it, and {headline['n_folds']} folds of a few speakers each make the spread over folds as "
            "large as some differences between models.")


def about(dataset_name: str) -> str:
    """Markdown of the footer: when, from which commit and with which package versions the report was made."""
    versions = ", ".join(f"{name} {version}" for name, version in package_versions().items())
    return (f"<small>Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · dataset `{dataset_name}` · git "
            f"commit `{git_commit()}` · versions: {versions}</small>")
