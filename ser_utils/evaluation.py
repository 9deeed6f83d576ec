"""Metrics from class probabilities: the seed's figures, the honest ones, and the gender rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from . import config
from .calibration import ece_of_bins, reliability_bins, with_temperature
from .decisions import decide, gender_decision, gender_split
from .protocols import PROTOCOLS, validation_source
from .runs import probability_column
from .storage import read_json, write_json


def chance_levels(labels: list[str]) -> dict[str, float]:
    """Accuracy of guessing, per measure: 1 / classes, and for ``gender_emotion`` labels 1/2 for the gender and
    1 / emotions for the emotion."""
    levels = {"accuracy": 1 / len(labels)}
    if gender_split(labels):
        levels |= {"gender_accuracy": 0.5, "emotion_accuracy": 1 / len({config.split_label(l)[1] for l in labels})}
    return levels


def roc_auc_ovr(y_true: np.ndarray, probabilities: np.ndarray, average: str) -> float:
    """One-vs-rest ROC AUC, NaN where a class is absent from ``y_true``."""
    present = np.unique(y_true)
    if len(present) < probabilities.shape[1]:
        return float("nan")
    one_hot = np.eye(probabilities.shape[1])[y_true]
    return float(skm.roc_auc_score(one_hot, probabilities, average=average))


def classification_metrics(y_true: np.ndarray, probabilities: np.ndarray, labels: list[str]) -> dict[str, float]:
    """Accuracy, micro and macro precision/recall/F1, UAR, micro/macro ROC AUC, and for
    ``gender_emotion`` labels the gender accuracy (seed's rule) and the emotion accuracy of the printed class.

    Macro averages (UAR is the macro recall) run over the classes a fold holds: a class with no clip in a fold
    (clips left out as unreadable) is not counted as a recall of 0.
    """
    y_true = np.asarray(y_true)
    y_pred = decide(probabilities, labels)
    result = {"accuracy": float(skm.accuracy_score(y_true, y_pred))}
    for average, classes in (("micro", list(range(len(labels)))), ("macro", np.unique(y_true))):
        p, r, f, _ = skm.precision_recall_fscore_support(y_true, y_pred, labels=classes, average=average,
                                                         zero_division=0)
        result |= {f"precision_{average}": float(p), f"recall_{average}": float(r), f"f1_{average}": float(f)}
    result["uar"] = result["recall_macro"]
    result["auc_micro"] = roc_auc_ovr(y_true, probabilities, "micro")
    result["auc_macro"] = roc_auc_ovr(y_true, probabilities, "macro")
    if gender_split(labels):
        true_labels = np.array(labels)[y_true]
        predicted_gender, _ = gender_decision(probabilities, labels)
        result["gender_accuracy"] = float(np.mean(predicted_gender == [config.split_label(l)[0] for l in true_labels]))
        emotion_of = np.array([config.split_label(label)[1] for label in labels])
        result["emotion_accuracy"] = float(np.mean(emotion_of[y_pred] == emotion_of[y_true]))
    return result


def per_class_auc(y_true: np.ndarray, probabilities: np.ndarray, labels: list[str]) -> pd.Series:
    """ROC AUC of each class against the rest (the seed's table)."""
    return pd.Series(
        [skm.roc_auc_score(np.asarray(y_true) == i, probabilities[:, i]) if len(np.unique(np.asarray(y_true) == i)) == 2
         else np.nan for i in range(len(labels))],
        index=labels, name="roc_auc",
    )


def per_class_report(y_true: np.ndarray, probabilities: np.ndarray, labels: list[str]) -> pd.DataFrame:
    """Precision, recall, F1, support and ROC AUC of every class."""
    report = skm.classification_report(np.asarray(y_true), decide(probabilities, labels), labels=list(range(len(labels))),
                                       target_names=labels, output_dict=True, zero_division=0)
    frame = pd.DataFrame(report).T.loc[labels]
    frame["support"] = frame["support"].astype(int)
    return frame.join(per_class_auc(y_true, probabilities, labels))


def run_arrays(predictions: pd.DataFrame, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(true class ids, probabilities) of the rows of a predictions table (see :mod:`ser_utils.runs`)."""
    y_true = pd.Categorical(predictions["label"], categories=labels).codes
    if (y_true < 0).any():
        unknown = sorted(set(predictions["label"]) - set(labels))
        raise ValueError(f"predictions hold labels {unknown} that are not among the classes {labels}")
    return np.asarray(y_true), predictions[[probability_column(label) for label in labels]].to_numpy()


def fold_metrics(run, predictions: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row of :func:`classification_metrics` per fold of a :class:`~ser_utils.runs.Run` (of its test
    predictions, or of another predictions table of the run, e.g. one condition of its robustness study)."""
    predictions = run.predictions if predictions is None else predictions
    rows = [classification_metrics(*run_arrays(rows, run.labels), run.labels) | {"fold": fold}
            for fold, rows in predictions.groupby("fold", sort=True)]
    return pd.DataFrame(rows).set_index("fold")


def uncalibrated(run) -> pd.DataFrame:
    """The run's predictions with each fold's temperature undone: what the models gave before calibration."""
    columns = [probability_column(label) for label in run.labels]
    raw = run.predictions.copy()
    for fold in run.folds:
        rows = raw["fold"] == fold["fold"]
        raw.loc[rows, columns] = with_temperature(raw.loc[rows, columns].to_numpy(), 1.0 / fold.get("temperature", 1.0))
    return raw


def fold_temperatures(run) -> list[float]:
    """The temperature each fold of ``run`` divided its log-probabilities by (1.0 where none was fitted)."""
    return [fold.get("temperature", 1.0) for fold in run.folds]


def fitted_temperatures(run) -> bool:
    """Whether any fold of ``run`` fitted a temperature (one other than 1.0)."""
    return set(fold_temperatures(run)) - {1.0} != set()


def calibration_bins(run) -> dict[str, pd.DataFrame]:
    """Reliability bins over all test folds pooled: before calibration, and as predicted (calibrated); for a run
    whose folds fitted no temperature, its predictions' only."""
    def bins(predictions):
        targets, probabilities = run_arrays(predictions, run.labels)
        return reliability_bins(probabilities, targets, answers=decide(probabilities, run.labels))

    if not fitted_temperatures(run):
        return {"as predicted (no temperature fitted)": bins(run.predictions)}
    return {"before calibration": bins(uncalibrated(run)), "calibrated (as predicted)": bins(run.predictions)}


def calibration_summary(run) -> dict:
    """Expected calibration error over all test folds pooled, as predicted and before calibration, and the temperatures."""
    eces = [ece_of_bins(table) for table in calibration_bins(run).values()]
    before, after = eces[0], eces[-1]
    return {"ece": round(after, 4), "ece_uncalibrated": round(before, 4),
            "temperatures": fold_temperatures(run)}


def temperature_note(run, table: pd.DataFrame) -> str:
    """One line: each fold's temperature of a speaker-protocol ``run``, and whose clips they were fitted on (``table``:
    the labels table), or that none was fitted."""
    fitted = f"(each fitted on its fold's validation clips: {validation_source(table, run.folds)})" \
        if fitted_temperatures(run) else "(none fitted)"
    return f"temperature per fold: {', '.join(f'{t:.2f}' for t in fold_temperatures(run))} {fitted}"


def summarise(run) -> dict:
    """Mean and standard deviation over folds of every metric, with the protocol, fold count and calibration."""
    per_fold = fold_metrics(run)
    return {
        "model": run.model_name,
        "protocol": run.protocol,
        "n_folds": int(len(per_fold)),
        "mean": per_fold.mean().round(4).to_dict(),
        "std": per_fold.std(ddof=0).round(4).to_dict(),
        "train_seconds": round(float(sum(fold["seconds"] for fold in run.folds)), 1),
        "predict_ms_per_clip": round(1000 * sum(fold.get("predict_seconds", 0) for fold in run.folds)
                                     / max(1, len(run.predictions)), 3),
        "calibration": calibration_summary(run),
    }


def robustness_summary(run) -> pd.DataFrame:
    """Per condition and level of the robustness study: the clips scored, UAR and gender accuracy, mean and std over
    test folds.

    The first rows are the clean clips (condition "clean"); ``uar_vs_clean`` is the mean UAR
    as a fraction of the clean mean UAR.
    """
    if run.robustness is None:
        raise ValueError(f"run {run.model_name!r} / {run.protocol} has no robustness study "
                         "(train with study=augment.STUDY_CONDITIONS)")
    groups = [("clean", 0.0, run.predictions)] + [
        (condition, level, rows) for (condition, level), rows in run.robustness.groupby(["condition", "level"], sort=False)]
    rows = []
    for condition, level, predictions in groups:
        per_fold = fold_metrics(run, predictions)
        rows.append({"condition": condition, "level": level, "clips": len(predictions), "uar": per_fold["uar"].mean(),
                     "uar_std": per_fold["uar"].std(ddof=0)}
                    | ({"gender_accuracy": per_fold["gender_accuracy"].mean()} if "gender_accuracy" in per_fold else {}))
    table = pd.DataFrame(rows)
    table["uar_vs_clean"] = table["uar"] / table.loc[0, "uar"]
    return table.round(4)


#: Protocols in leaderboard order: the strict one first (the order of :data:`~ser_utils.protocols.PROTOCOLS`).
PROTOCOL_ORDER = tuple(PROTOCOLS)


def _mean_std(summary: dict, metric: str) -> str:
    """'mean ± std' of a metric over folds ('–' if the metric does not apply to the scheme)."""
    if metric not in summary["mean"]:
        return "–"
    return f"{summary['mean'][metric]:.3f} ± {summary['std'][metric]:.3f}"


def _calibration(summary: dict) -> str:
    """'ECE (ECE before calibration)' over all test folds pooled ('–' for runs saved without it)."""
    calibration = summary.get("calibration")
    return "–" if calibration is None else f"{calibration['ece']:.3f} ({calibration['ece_uncalibrated']:.3f})"


def leaderboard(summaries: list[dict]) -> pd.DataFrame:
    """Every run, strict protocol first, best UAR first: UAR, macro-F1, gender and emotion accuracy, ECE, seconds."""
    ranked = sorted(summaries, key=lambda s: (PROTOCOL_ORDER.index(s["protocol"]), -s["mean"]["uar"]))
    rows = [{"protocol": s["protocol"], "model": s["model"], "folds": s["n_folds"], "UAR": _mean_std(s, "uar"),
             "macro-F1": _mean_std(s, "f1_macro"), "gender acc": _mean_std(s, "gender_accuracy"),
             "emotion acc (5)": _mean_std(s, "emotion_accuracy"),
             "ECE (before calibration)": _calibration(s), "fit s (all folds)": s["train_seconds"],
             "predict ms/clip": s.get("predict_ms_per_clip", float("nan"))} for s in ranked]
    return pd.DataFrame(rows).set_index(["protocol", "model"])


def headline(summaries: list[dict], model: str = "best") -> dict:
    """The headline run: ``model`` (or, for ``"best"``, the highest mean UAR) under the strict speaker protocol."""
    strict = [s for s in summaries if s["protocol"] == "speaker"]
    if not strict:
        raise ValueError("no run under the speaker protocol: the headline must be speaker-independent")
    if model == "best":
        return max(strict, key=lambda s: s["mean"]["uar"])
    try:
        return next(s for s in strict if s["model"] == model)
    except StopIteration:
        raise ValueError(f"no run of {model!r} under the speaker protocol; trained: {[s['model'] for s in strict]}") from None


def find_run(summaries: list[dict], model: str, protocol: str) -> dict | None:
    """The summary of ``model`` under ``protocol``, or None if it was not run."""
    return next((s for s in summaries if (s["model"], s["protocol"]) == (model, protocol)), None)


def protocol_pair(summaries: list[dict], model: str) -> tuple[dict, dict] | None:
    """(speaker, random) summaries of ``model``, or else of the best speaker-protocol model run under both
    protocols; None when no model was run under both."""
    strict, random = find_run(summaries, model, "speaker"), find_run(summaries, model, "random")
    if strict is not None and random is not None:
        return strict, random
    pairs = [(s, find_run(summaries, s["model"], "random")) for s in summaries if s["protocol"] == "speaker"]
    pairs = [(a, b) for a, b in pairs if b is not None]
    return max(pairs, key=lambda pair: pair[0]["mean"]["uar"]) if pairs else None


def protocol_gap(summaries: list[dict], model: str) -> str:
    """One sentence, from the figures, on how the random per-clip split moves ``model``'s UAR (Markdown)."""
    pair = protocol_pair(summaries, model)
    if pair is None:
        return "No model was run under both the speaker and the random protocol, so their gap is not measured here."
    strict, random = pair
    gap = 100 * (random["mean"]["uar"] - strict["mean"]["uar"])
    spread = 100 * max(strict["std"]["uar"], random["std"]["uar"])
    if abs(gap) <= spread:
        verdict = f"a difference within the spread over folds (±{spread:.1f} points), so no clear gap on this corpus"
    else:
        verdict = (f"the random split {'overstates' if gap > 0 else 'understates'} it by {abs(gap):.1f} points "
                   f"(spread over folds ±{spread:.1f})")
    return (f"**{strict['model']}**: UAR {strict['mean']['uar']:.3f} on speakers never heard in training, "
            f"{random['mean']['uar']:.3f} under the random per-clip split: {verdict}.")


def markdown_table(frame: pd.DataFrame) -> str:
    """A DataFrame (index included) as a GitHub Markdown table."""
    flat = frame.reset_index()
    lines = ["| " + " | ".join(map(str, flat.columns)) + " |", "|" + "---|" * len(flat.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in flat.itertuples(index=False)]
    return "\n".join(lines)


def write_metrics(path, summaries: list[dict], *, dataset: dict, scheme: dict, primary: dict) -> dict:
    """Write ``metrics.json``: the corpus, the label scheme, every model x protocol summary, and the headline run."""
    record = {"dataset": dataset, "scheme": scheme, "headline": primary, "runs": summaries}
    write_json(path, record)
    return record


def probability_reading(ece: float) -> str:
    """How to read a model's probabilities, given its expected calibration error."""
    if ece <= 0.05:
        return "the radar chart's values can be read as probabilities."
    return "read the radar chart's values as scores that rank the classes, not as probabilities."


def calibration_statement(metrics_path, model: str, protocol: str) -> str:
    """One sentence on how far ``model``'s probabilities can be trusted, from its ECE in ``metrics.json``."""
    summary = find_run(read_json(metrics_path)["runs"], model, protocol)
    calibration = (summary or {}).get("calibration")
    if calibration is None:
        return f"{model} ({protocol} protocol): calibration not measured; read its values as scores."
    return (f"{model}'s probabilities are off by {calibration['ece']:.3f} on average over its test folds (expected "
            f"calibration error): {probability_reading(calibration['ece'])}")


def random_split_note(summaries: list[dict], model: str) -> str:
    """Why ``model`` has no random-split figure here, and which model the protocol gap used instead (Markdown)."""
    pair = protocol_pair(summaries, model)
    instead = (f" The protocol gap above compares **{pair[0]['model']}**, trained under both." if pair else "")
    return (f"**{model}** has no run under the random split in this report: the report trains the costly models and "
            "the combinations built on them under the speaker protocol only (the `SPLIT=random` parameter adds the "
            f"random split).{instead}")


def read_headline(metrics_path) -> dict:
    """The headline run's summary recorded in ``metrics.json`` by notebook 04."""
    return read_json(metrics_path)["headline"]


def trust_statement(metrics_path, model: str, protocol: str) -> str:
    """One sentence on how well ``model`` did under ``protocol``, read from ``metrics.json`` (notebook 04)."""
    metrics = read_json(metrics_path)
    summary = find_run(metrics["runs"], model, protocol)
    if summary is None:
        return f"{metrics_path}: no evaluation of {model} under the {protocol} protocol"
    mean, std, folds = summary["mean"]["uar"], summary["std"]["uar"], summary["n_folds"]
    spread = f" ± {std:.3f} over {folds} folds" if folds > 1 else " on 1 fold (a smoke test, not a result)"
    return (f"{model} ({protocol} protocol) scored UAR {mean:.3f}{spread} on {metrics['dataset']['label']}; "
            f"chance is {metrics['scheme']['chance']:.3f}")
