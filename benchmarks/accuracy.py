"""Accuracy benchmark: every model under every protocol over all folds, as a leaderboard.

Run with ``make accuracy`` (``DATASET=``, ``RAVDESS_DIR=``, ``SCHEME=`` as for ``make report``):

    make accuracy RAVDESS_DIR=../shared/ravdess-sample

Prints the leaderboard (UAR mean ± std over folds, macro-F1, gender and 5-emotion
accuracy, fit and predict seconds) and writes it to ``reports/<dataset>/accuracy.md``
and ``accuracy.json``. Nothing is saved to ``models/``: the benchmark only measures.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from ser_utils import config, corpus, datasets, evaluation, training  # noqa: E402
from ser_utils.models import model_class  # noqa: E402
from ser_utils.storage import atomic_path, write_json  # noqa: E402

#: Member sets compared for the ensemble (speaker protocol); the default is the registry's.
ENSEMBLE_CANDIDATES = [
    list(model_class("ensemble").defaults["members"]),
    ["svm", "egemaps_lr", "compare_lr"],
    ["svm", "compare_lr", "cnn"],
    ["svm", "egemaps_lr", "compare_lr", "cnn"],
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="synthetic", choices=["synthetic", "ravdess"])
    parser.add_argument("--data-dir", default=None, help="folder holding the Actor_XX folders")
    parser.add_argument("--scheme", default=config.DEFAULT_SCHEME, choices=sorted(config.LABEL_SCHEMES))
    parser.add_argument("--folds", type=int, default=6)
    parser.add_argument("--models", nargs="+", default=list(training.DEFAULT_PLAN), help="subset of the plan")
    parser.add_argument("--protocols", nargs="+", default=list(training.ALL_PROTOCOLS), help="subset of the protocols")
    parser.add_argument("--seed", type=int, default=config.DEFAULT_SEED)
    args = parser.parse_args()

    dataset = datasets.resolve_dataset(args.dataset, args.data_dir, seed=args.seed, download=False)
    table = corpus.build_labels_table(dataset.path, args.scheme)
    plan = {name: [p for p in protocols if p in args.protocols]
            for name, protocols in training.DEFAULT_PLAN.items() if name in args.models}
    print(f"{len(table)} clips, {table['actor'].nunique()} actors of the {dataset.label}; scheme {args.scheme}; "
          f"{os.cpu_count()} cores")
    start = time.perf_counter()
    runs = training.train_all(table, plan=plan, n_folds=args.folds, seed=args.seed, progress=False)
    seconds = time.perf_counter() - start
    board = evaluation.leaderboard([evaluation.summarise(run) for run in runs.values()])
    candidates = ensemble_candidates(runs)
    title = (f"Accuracy benchmark: {dataset.label}, scheme {args.scheme} ({len(table)} clips, "
             f"{table['actor'].nunique()} actors), all folds, {seconds / 60:.1f} min on {os.cpu_count()} cores")
    markdown = f"# {title}\n\nCommand: `{' '.join(['make accuracy', *_make_args(args)])}`\n\n{evaluation.markdown_table(board)}\n"
    if candidates is not None:
        markdown += f"\nEnsemble member sets, speaker protocol:\n\n{evaluation.markdown_table(candidates)}\n"
    print(markdown)
    out = config.REPORTS_DIR / dataset.name
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "accuracy.md") as tmp:
        tmp.write_text(markdown)
    write_json(out / "accuracy.json", {"title": title, "dataset": dataset.to_dict(), "scheme": args.scheme,
                                       "seconds": round(seconds, 1), "runs": board.reset_index().to_dict("records"),
                                       "ensemble_candidates": [] if candidates is None
                                       else candidates.reset_index().to_dict("records")})
    print(f"wrote {out / 'accuracy.md'} and {out / 'accuracy.json'}")


def ensemble_candidates(runs: dict):
    """Leaderboard rows of the ensemble for each candidate member set whose runs exist (speaker protocol)."""
    summaries = []
    for members in ENSEMBLE_CANDIDATES:
        if all((m, "speaker") in runs for m in members):
            summary = evaluation.summarise(training.combine_runs([runs[m, "speaker"] for m in members]))
            summaries.append(summary | {"model": " + ".join(members)})
    return evaluation.leaderboard(summaries) if summaries else None


def _make_args(args) -> list[str]:
    """The Make variables that reproduce this run."""
    words = [f"DATASET={args.dataset}"] if args.dataset != "synthetic" else []
    words += [f"RAVDESS_DIR={args.data_dir}"] if args.data_dir else []
    return words + ([f"SCHEME={args.scheme}"] if args.scheme != config.DEFAULT_SCHEME else [])


if __name__ == "__main__":
    main()
