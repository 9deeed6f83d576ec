"""Accuracy benchmark: every model under every protocol over all folds, as a leaderboard.

Run with ``make accuracy`` (``DATASET=``, ``RAVDESS_DIR=``, ``SCHEME=`` as for ``make report``):

    make accuracy RAVDESS_DIR=../shared/ravdess-sample
    make accuracy RAVDESS_DIR=../shared/ravdess-sample ACCURACY_ARGS="--augment --robustness"

``--augment`` trains every model that can use it on corrupted copies of its training clips as well
(``ser_utils.augment``); ``--robustness`` scores every model of the speaker protocol, over all test folds,
on its test clips corrupted by each condition of the robustness study (noise, rooms, telephone, length).
``--draws N`` runs the whole benchmark on N draws of the folds (seeds ``SEED``, ``SEED``+1000, ...: which actors
test together, which validate, the networks' seeds and the copies) and puts a table over the draws first, since
one draw's figures carry its luck (``accuracy-3-draws.*`` for 3 draws, ``accuracy-augmented-3-draws.*`` with
``--augment``):

    make accuracy RAVDESS_DIR=../shared/ravdess-sample ACCURACY_ARGS="--draws 3"

Prints the leaderboard (UAR mean ± std over folds, macro-F1, gender and 5-emotion
accuracy, fit and predict seconds) and writes it to ``reports/<dataset>/accuracy.md``
and ``accuracy.json`` (``accuracy-augmented.*`` with ``--augment``). Nothing is saved to ``models/``: the benchmark only measures.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from dataclasses import asdict

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from ser_utils import augment, config, corpus, datasets, evaluation, training  # noqa: E402
from ser_utils.interrupts import interrupt_on_sigterm  # noqa: E402
from ser_utils.models import ALL_PROTOCOLS, model_class  # noqa: E402
from ser_utils.runs import probability_column  # noqa: E402
from ser_utils.storage import atomic_path, write_json  # noqa: E402

#: Member sets compared for the ensemble (speaker protocol); the default is the registry's.
ENSEMBLE_CANDIDATES = [
    list(model_class("ensemble").defaults["members"]),
    ["svm", "egemaps_lr", "compare_lr"],
    ["svm", "compare_lr", "cnn"],
    ["svm", "egemaps_lr", "compare_lr", "cnn"],
]


def command_line() -> argparse.ArgumentParser:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="synthetic", choices=["synthetic", "ravdess"])
    parser.add_argument("--data-dir", default=None, help="folder holding the Actor_XX folders")
    parser.add_argument("--scheme", default=config.DEFAULT_SCHEME, choices=sorted(config.LABEL_SCHEMES))
    parser.add_argument("--folds", type=int, default=6)
    parser.add_argument("--models", nargs="+", default=list(training.accuracy_plan()), help="subset of the plan")
    parser.add_argument("--protocols", nargs="+", default=list(ALL_PROTOCOLS), help="subset of the protocols")
    parser.add_argument("--seed", type=int, default=config.DEFAULT_SEED)
    parser.add_argument("--draws", type=int, default=1,
                        help="draws of the folds (seeds SEED, SEED+1000, ...), each a whole benchmark, and a table "
                             "over them")
    parser.add_argument("--augment", action="store_true", help="train on corrupted copies of the training clips too")
    parser.add_argument("--copies", type=int, default=augment.Augmentation.copies, help="corrupted copies per clip")
    parser.add_argument("--snr-db", nargs=2, type=float, metavar=("LOW", "HIGH"),
                        default=list(augment.Augmentation.snr_db), help="SNR range the copies' noise is drawn from")
    parser.add_argument("--noises", nargs="+", metavar="KIND=SHARE", default=_noise_words(augment.Augmentation.noises),
                        help=f"each noise kind's share of the copies' noise draws ({', '.join(augment.NOISE_KINDS)})")
    parser.add_argument("--robustness", action="store_true", help="score every model on corrupted test clips")
    return parser


def main() -> None:
    interrupt_on_sigterm()  # `kill PID` stops the workers too, as Ctrl-C does
    parser = command_line()
    args = parser.parse_args()
    if args.draws < 1:
        parser.error(f"--draws {args.draws}: at least one draw")
    seeds = draw_seeds(args.seed, args.draws)
    policies = {seed: _augmentation(parser, args, seed) for seed in seeds} if args.augment else {}  # checked first

    dataset = datasets.resolve_dataset(args.dataset, args.data_dir, seed=args.seed, download=False)
    table = corpus.build_labels_table(dataset.path, args.scheme)
    dataset = dataset.counted(table)
    plan = {name: [p for p in protocols if p in args.protocols]
            for name, protocols in training.accuracy_plan(args.models).items()}
    print(f"{len(table)} clips, {table['actor'].nunique()} actors of the {dataset.label}; scheme {args.scheme}; "
          f"{os.cpu_count()} cores")
    start = time.perf_counter()
    draws = []
    for seed in seeds:
        runs = training.train_all(table, plan=plan, n_folds=args.folds, seed=seed, augmentation=policies.get(seed),
                                  study=tuple(augment.STUDY_CONDITIONS) if args.robustness else (), deliver=False,
                                  progress=False)
        draws.append(draw_results(seed, runs) | {"augmentation": asdict(policies[seed]) if args.augment else None})
    seconds = time.perf_counter() - start
    training_kind = f"trained with {args.copies} corrupted cop{'y' if args.copies == 1 else 'ies'} per clip" \
        if args.augment else "trained on clean clips"
    custom = _policy_switches(args)
    if custom:
        training_kind += f" ({' '.join(custom)})"
    folds = "all folds" if len(seeds) == 1 else f"all folds of {len(seeds)} draws (seeds {', '.join(map(str, seeds))})"
    title = (f"Accuracy benchmark: {dataset.label}, scheme {args.scheme} ({len(table)} clips, "
             f"{table['actor'].nunique()} actors), {training_kind}, {folds}, {seconds / 60:.1f} min on "
             f"{os.cpu_count()} cores")
    command = " ".join(["make accuracy", *_make_args(args)])
    markdown = f"# {title}\n\nCommand: `{command}`\n\n"
    over_draws = draws_table(draws) if len(draws) > 1 else None
    if over_draws is not None:
        markdown += (f"Over the {len(draws)} draws of the folds (each draw's own folds, validation actors and seeds; "
                     "UAR: the mean of the draws' means ± their spread; gender accuracy and ECE: the mean of the "
                     f"draws'):\n\n{evaluation.markdown_table(over_draws)}\n\n")
    markdown += "\n".join(draw["markdown"] if len(draws) == 1 else
                          f"## Draw {n + 1}: seed {draw['seed']}\n\n{draw['markdown']}" for n, draw in enumerate(draws))
    print(markdown)
    out = config.REPORTS_DIR / dataset.name
    out.mkdir(parents=True, exist_ok=True)
    stem = ("accuracy-augmented-policy" if custom else "accuracy-augmented") if args.augment else "accuracy"
    stem += f"-{len(draws)}-draws" if len(draws) > 1 else ""
    with atomic_path(out / f"{stem}.md") as tmp:
        tmp.write_text(markdown)
    record = {"title": title, "command": command,
              "dataset": dataset.to_dict(), "scheme": args.scheme, "seconds": round(seconds, 1)}
    kept = [{key: value for key, value in draw.items() if key not in ("markdown", "summaries")} for draw in draws]
    if len(draws) == 1:  # the one draw's record, as before draws were an option
        record |= {key: value for key, value in kept[0].items() if key != "seed"}
    else:
        record |= {"over_draws": over_draws.reset_index().to_dict("records"), "draws": kept}
    write_json(out / f"{stem}.json", record)
    print(f"wrote {out / stem}.md and {out / stem}.json")


def draw_seeds(seed: int, draws: int) -> list[int]:
    """The seeds of ``draws`` draws of the folds: ``seed``, then 1000 apart (the seed benchmark's spacing), so that
    no two draws share a network seed (a fold's network is seeded by the draw's seed plus the fold's number)."""
    return [seed + 1000 * draw for draw in range(draws)]


def draw_results(seed: int, runs: dict) -> dict:
    """One draw's leaderboard, ensemble tables and robustness study: as markdown, and as records for the JSON."""
    summaries = {f"{model}/{protocol}": evaluation.summarise(run) for (model, protocol), run in runs.items()}
    board = evaluation.leaderboard(list(summaries.values()))
    candidates, choices = ensemble_candidates(runs), ensemble_choices(runs)
    markdown = f"{evaluation.markdown_table(board)}\n"
    if candidates is not None:
        markdown += f"\nEnsemble member sets, speaker protocol:\n\n{evaluation.markdown_table(candidates)}\n"
    if choices is not None:
        markdown += ("\nThe ensemble's members and fusion, speaker protocol: UAR mean ± std over folds on each fold's "
                     "validation actors (which a choice may look at) and on its test actors:\n\n"
                     f"{evaluation.markdown_table(choices.set_index('ensemble'))}\n")
    studies = {name: evaluation.robustness_summary(run) for (name, protocol), run in runs.items()
               if run.robustness is not None}
    if studies:
        markdown += robustness_markdown(studies)
    return {"seed": seed, "markdown": markdown, "runs": board.reset_index().to_dict("records"),
            "summaries": summaries,
            "ensemble_candidates": [] if candidates is None else candidates.reset_index().to_dict("records"),
            "ensemble_choices": [] if choices is None else choices.to_dict("records"),
            "robustness": {name: study.to_dict("records") for name, study in studies.items()}}


def draws_table(draws: list[dict]) -> pd.DataFrame:
    """Per protocol and model, over the draws: UAR (mean of the draws' means ± their population std), each draw's
    UAR, and the mean over draws of the gender accuracy and the ECE; ranked as the leaderboard ranks runs."""
    rows = []
    for key, first in draws[0]["summaries"].items():
        summaries = [draw["summaries"][key] for draw in draws]
        uar = pd.Series([summary["mean"]["uar"] for summary in summaries])
        gender = [summary["mean"].get("gender_accuracy") for summary in summaries]
        ece = [summary["calibration"]["ece"] for summary in summaries if summary.get("calibration")]
        rows.append({"protocol": first["protocol"], "model": first["model"],
                     "UAR": _mean_std(uar),
                     "UAR per draw": " / ".join(f"{value:.3f}" for value in uar),
                     "gender acc": "–" if None in gender else f"{np.mean(gender):.3f}",
                     "ECE (calibrated)": f"{np.mean(ece):.3f}" if len(ece) == len(draws) else "–",
                     "_uar": uar.mean()})
    order = evaluation.PROTOCOL_ORDER
    rows.sort(key=lambda row: (order.index(row["protocol"]), -row["_uar"]))
    return pd.DataFrame(rows).drop(columns="_uar").set_index(["protocol", "model"])


def robustness_markdown(studies: dict) -> str:
    """Tables of the robustness study: UAR (mean ± std over folds) and gender accuracy, a column per model."""
    def wide(value):
        columns = {name: study.set_index(["condition", "level"]).apply(value, axis=1) for name, study in studies.items()}
        return evaluation.markdown_table(pd.DataFrame(columns))

    uar = wide(lambda row: f"{row['uar']:.3f} ± {row['uar_std']:.3f} ({row['uar_vs_clean']:.0%})")
    text = (f"\nRobustness, speaker protocol, all test folds (test clips corrupted; babble from the fold's other test "
            f"clips). UAR mean ± std over folds (share of the clean UAR):\n\n{uar}\n")
    if all("gender_accuracy" in study for study in studies.values()):
        text += f"\nGender accuracy (mean over folds):\n\n{wide(lambda row: format(row['gender_accuracy'], '.3f'))}\n"
    return text


def ensemble_candidates(runs: dict):
    """Leaderboard rows of the ensemble for each candidate member set whose runs exist (speaker protocol)."""
    summaries = []
    for members in ENSEMBLE_CANDIDATES:
        if all((m, "speaker") in runs for m in members):
            summary = evaluation.summarise(training.combine_runs([runs[m, "speaker"] for m in members]))
            summaries.append(summary | {"model": " + ".join(members)})
    return evaluation.leaderboard(summaries) if summaries else None


def ensemble_choices(runs: dict):
    """The delivered ensemble, the same with each member left out (ablation), and the same members fused with
    weights fitted on each fold's validation actors instead of averaged (speaker protocol); None without them."""
    members = list(model_class("ensemble").defaults["members"])
    if not all((m, "speaker") in runs for m in members):
        return None
    rows = []
    for left_out in [None, *members]:
        run = training.combine_runs([runs[m, "speaker"] for m in members if m != left_out])
        rows.append({"ensemble": f"without {left_out}" if left_out else "the ensemble: the average of all members",
                     "validation UAR": _mean_std(evaluation.fold_metrics(run, run.validation)["uar"]),
                     "test UAR": _mean_std(evaluation.fold_metrics(run)["uar"])})
    validation, test = fitted_weights_uar([runs[m, "speaker"] for m in members])
    rows.append({"ensemble": "weights fitted on each fold's validation actors (log loss; grid of 0.1)",
                 "validation UAR": _mean_std(validation), "test UAR": _mean_std(test)})
    return pd.DataFrame(rows)


def fitted_weights_uar(member_runs: list, step: float = 0.1) -> tuple[pd.Series, pd.Series]:
    """Per fold, UAR on its validation and test actors of the members' probabilities weighted by the weights (on a
    grid of ``step``, summing to 1) that minimise the log loss on that fold's validation actors: a learned fusion
    that never sees a test speaker. The answer is decided as for every other row (the decided gender's most
    probable emotion, :func:`~ser_utils.evaluation.classification_metrics`)."""
    labels = member_runs[0].labels
    columns = [probability_column(label) for label in labels]
    steps = round(1 / step)
    grid = [np.array(w) / steps for w in itertools.product(range(steps + 1), repeat=len(member_runs)) if sum(w) == steps]
    scores = {"validation": {}, "test": {}}
    for fold in sorted(member_runs[0].predictions["fold"].unique()):
        parts = {}
        for part, table in (("validation", "validation"), ("test", "predictions")):
            tables = [getattr(run, table) for run in member_runs]
            tables = [t[t["fold"] == fold].set_index("path") for t in tables]
            paths = tables[0].index
            targets = pd.Categorical(tables[0]["label"], categories=labels).codes
            parts[part] = (np.stack([t.loc[paths, columns].to_numpy() for t in tables]), targets)
        stacked, targets = parts["validation"]
        weights = min(grid, key=lambda w: log_loss(targets, _mixed(w, stacked), labels=range(len(labels))))
        for part, (stacked, targets) in parts.items():
            scores[part][fold] = evaluation.classification_metrics(targets, _mixed(weights, stacked), labels)["uar"]
    return pd.Series(scores["validation"]), pd.Series(scores["test"])


def _mixed(weights: np.ndarray, stacked: np.ndarray) -> np.ndarray:
    """The members' probabilities (members x clips x classes) weighted, each row summing to 1 to the last bit."""
    mixed = np.tensordot(weights, stacked, 1)
    return mixed / mixed.sum(axis=1, keepdims=True)


def _mean_std(values: pd.Series) -> str:
    """'mean ± std' (population std, as the leaderboard) of per-fold (or per-draw) values."""
    return f"{values.mean():.3f} ± {values.std(ddof=0):.3f}"


def _noise_words(noises) -> list[str]:
    """``(("white", 0.2), ...)`` as the command line writes it: ``["white=0.2", ...]``."""
    return [f"{kind}={share:g}" for kind, share in noises]


def _augmentation(parser: argparse.ArgumentParser, args, seed: int | None = None) -> augment.Augmentation:
    """The training policy the command line asks for, its copies drawn from ``seed`` (default ``--seed``); a bad
    ``--noises`` or ``--snr-db`` stops with why."""
    try:
        noises = tuple((kind, float(share)) for kind, share in (word.split("=", 1) for word in args.noises))
        low, high = args.snr_db
        if low > high:
            raise ValueError(f"--snr-db {low:g} {high:g}: the lower bound comes first")
        return augment.Augmentation(copies=args.copies, seed=args.seed if seed is None else seed, snr_db=(low, high),
                                     noises=noises)
    except ValueError as error:
        hint = "" if str(error).startswith("--snr-db") else " (--noises takes KIND=SHARE words, e.g. white=0.5 babble=0.5)"
        parser.error(f"{error}{hint}")


def _policy_switches(args) -> list[str]:
    """The options that set the copies' policy apart from :class:`~ser_utils.augment.Augmentation`'s (none without
    ``--augment``)."""
    if not args.augment:
        return []
    default = augment.Augmentation
    switches = [f"--snr-db {args.snr_db[0]:g} {args.snr_db[1]:g}"] if tuple(args.snr_db) != default.snr_db else []
    return switches + ([f"--noises {' '.join(args.noises)}"] if args.noises != _noise_words(default.noises) else [])


def _make_args(args) -> list[str]:
    """The Make variables that reproduce this run."""
    words = [f"DATASET={args.dataset}"] if args.dataset != "synthetic" else []
    words += [f"RAVDESS_DIR={args.data_dir}"] if args.data_dir else []
    words += [f"SCHEME={args.scheme}"] if args.scheme != config.DEFAULT_SCHEME else []
    words += [f"FOLDS={args.folds}"] if args.folds != command_line().get_default("folds") else []
    words += [f"SEED={args.seed}"] if args.seed != config.DEFAULT_SEED else []
    switches = [f"--models {' '.join(args.models)}"] if args.models != list(training.accuracy_plan()) else []
    switches += [f"--protocols {' '.join(args.protocols)}"] if args.protocols != list(ALL_PROTOCOLS) else []
    switches += ["--augment"] if args.augment else []
    switches += [f"--copies {args.copies}"] if args.augment and args.copies != augment.Augmentation.copies else []
    switches += _policy_switches(args)
    switches += ["--robustness"] if args.robustness else []
    switches += [f"--draws {args.draws}"] if args.draws != 1 else []
    return words + ([f'ACCURACY_ARGS="{" ".join(switches)}"'] if switches else [])


if __name__ == "__main__":
    main()
