"""The ``ser`` command: build the corpus, predict files, assemble the report.

    ser data [--out DIR] [--seed N]
    ser predict FILE_OR_DIR... [--model DIR] [--csv FILE] [--json [FILE]] [--radar PNG] [--force]
    ser report [--dataset NAME]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import config

EXIT_BAD_INPUT = 2


def _data(args) -> int:
    from .synth import build_synthetic_corpus

    path = build_synthetic_corpus(args.out, seed=args.seed)
    print(f"synthetic corpus ready in {path}")
    return 0


#: Files read and predicted together (one pass of each model per batch).
PREDICT_BATCH = 32


def audio_files(paths: list[Path]) -> list[Path]:
    """The files named, and every audio file (WAV/FLAC/OGG, any case) under the folders named, in order.

    A name that is neither an existing file nor a folder is kept, to be reported as bad input.
    """
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in config.AUDIO_SUFFIXES and p.is_file())
        else:
            found.append(path)
    return found


def default_model() -> Path:
    """The ensemble that `make report` trained: on real RAVDESS if there is one, else on the synthetic corpus."""
    candidates = [config.run_dir(dataset, "ensemble", "speaker") for dataset in ("ravdess", "synthetic")]
    return next((path for path in candidates if (path / "metadata.json").exists()), candidates[-1])


def _refuse_overwrite(paths: list[Path | None], force: bool) -> str | None:
    """Why one of the output ``paths`` cannot be written (exists without --force, folder missing), or None."""
    for path in paths:
        if path is None or str(path) == "-":
            continue
        path = Path(path)
        if path.is_dir():
            return f"{path}: is a folder; give a file name"
        if path.exists() and not force:
            return f"{path}: already exists; use --force to replace it"
        if not path.parent.is_dir():
            return f"{path.parent}: no such folder for {path.name}"
    return None


def predict_batches(model, files: list[Path], *, progress: bool):
    """Yield (path, Prediction or None, error or None) for every file, predicted a batch at a time.

    A file that cannot be read or predicted yields its error; the others are unaffected.
    """
    from tqdm import tqdm

    from .audio import AudioError
    from .models import ModelMismatch
    from .prediction import predict_many, read_clip

    with tqdm(total=len(files), desc="predicting", unit="file", disable=None if progress else True,
              file=sys.stderr) as bar:
        for first in range(0, len(files), PREDICT_BATCH):
            readable = []
            for path in files[first : first + PREDICT_BATCH]:
                try:
                    readable.append((path, *read_clip(model, path)))
                except (AudioError, OSError) as error:
                    yield path, None, _reason(path, error)
            try:
                results = predict_many(model, [s for _, s, _ in readable], paths=[str(p) for p, _, _ in readable],
                                       extra_warnings=[w for _, _, w in readable])
                yield from ((result.path, result, None) for result in results)
            except (ModelMismatch, ValueError) as error:
                yield from ((path, None, f"{path}: {error}") for path, _, _ in readable)
            bar.update(min(PREDICT_BATCH, len(files) - first))


def _reason(path: Path, error: Exception) -> str:
    """A one-line error naming the file (OS errors carry their own wording)."""
    if isinstance(error, OSError) and not str(error).startswith(str(path)):
        return f"{path}: {error.strerror or error}"
    return str(error)


def _predict(args) -> int:
    """Predict every file; bad files are listed on stderr, kept out of the answers, and make the exit status 2."""
    from .models import load_model
    from .prediction import model_corpus, model_warnings

    problem = _refuse_overwrite([args.csv, args.json, args.radar], args.force)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    args.model = args.model or default_model()
    try:
        model = load_model(args.model)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"model {args.model} ({model.name}, trained on {model_corpus(model)})", file=sys.stderr)
    warnings = model_warnings(model)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    files = audio_files(args.files)
    if not files:
        print(f"error: no audio files (WAV/FLAC/OGG) in {', '.join(map(str, args.files))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    results, failures = [], []
    for path, result, error in predict_batches(model, files, progress=len(files) > 1):
        if error:
            failures.append({"path": str(path), "error": error})
            print(f"error: {error}", file=sys.stderr)
        else:
            results.append(result)
            if args.json != "-":
                print(f"{result.path}: {result.describe()}")
    _write_outputs(args, model, warnings, results, failures)
    if len(files) > 1:
        print(f"{len(results)} file(s) predicted, {len(failures)} skipped", file=sys.stderr)
    return EXIT_BAD_INPUT if failures else 0


def _write_outputs(args, model, warnings: list[str], results, failures) -> None:
    """The --json, --csv and --radar outputs (each written whole, or not at all)."""
    from .prediction import model_corpus
    from .storage import atomic_path

    if args.json:
        document = {"model": {"path": str(args.model), "name": model.name, "corpus": model_corpus(model),
                              "warnings": warnings},
                    "predictions": [r.to_dict() for r in results], "failures": failures}
        if args.json == "-":
            print(json.dumps(document, indent=2))
        else:
            with atomic_path(args.json) as tmp:
                tmp.write_text(json.dumps(document, indent=2) + "\n")
            print(f"predictions written to {args.json}", file=sys.stderr)
    if args.csv:
        with atomic_path(args.csv) as tmp:
            prediction_table(results, failures, model.labels).to_csv(tmp, index=False)
        print(f"predictions written to {args.csv}", file=sys.stderr)
    if args.radar and results:
        _save_radar(results[0], model, args.radar)


def prediction_table(results, failures: list[dict], labels: list[str]):
    """One row per file: the answer and its warnings, or the error that skipped it; a probability column per class."""
    import pandas as pd

    from .runs import probability_column

    rows = []
    for result in results:
        answer = result.to_dict()
        rows.append({key: answer.get(key) for key in ("path", "label", "probability", "gender", "gender_probability",
                                                      "emotion")}
                    | {"warnings": "; ".join(result.warnings), "error": ""}
                    | {probability_column(label): answer["probabilities"][label] for label in labels})
    rows += [{"path": failure["path"], "error": failure["error"]} for failure in failures]
    columns = ["path", "label", "probability", "gender", "gender_probability", "emotion", "warnings", "error"]
    return pd.DataFrame(rows, columns=columns + [probability_column(label) for label in labels])


def _save_radar(result, model, path) -> None:
    """Write the radar chart of ``result`` to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    from . import plots
    from .prediction import model_corpus
    from .storage import atomic_path

    if result.gender is None:
        print("warning: no radar chart; the model's labels carry no gender", file=sys.stderr)
        return
    polygons, emotions = result.emotions_by_gender()
    caption = f"model {model.name} ({model_corpus(model)})"
    figure = plots.radar(polygons, emotions, result.gender[0], f"Emotion probabilities: {Path(result.path).name}", caption)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=120, format="png")
    print(f"radar chart written to {path}", file=sys.stderr)


def _report(args) -> int:
    from .report import build_report

    folder = config.REPORTS_DIR / args.dataset
    if not (folder / "metrics.json").is_file():
        ready = sorted(p.parent.name for p in config.REPORTS_DIR.glob("*/metrics.json"))
        print(f"error: {folder}: no executed notebooks for dataset {args.dataset!r} (run `make report "
              f"DATASET={args.dataset}`); ready: {', '.join(ready) or 'none'}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for hide_code in (False, True):
        print(f"wrote {build_report(folder, dataset_name=args.dataset, hide_code=hide_code)}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The ``ser`` argument parser."""
    main_parser = argparse.ArgumentParser(prog="ser", description="Speech emotion recognition helpers")
    commands = main_parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("data", help="build the synthetic corpus (offline)")
    data.add_argument("--out", default=config.SYNTHETIC_DIR, type=Path)
    data.add_argument("--seed", default=config.DEFAULT_SEED, type=int)
    data.set_defaults(run=_data)
    predict = commands.add_parser("predict", help="predict emotion and gender of audio files and folders")
    predict.add_argument("files", nargs="+", type=Path,
                         help="audio files (WAV/FLAC/OGG, any rate, any length) or folders (searched recursively)")
    predict.add_argument("--model", type=Path, help="trained model folder (default: the ensemble trained by `make "
                         "report`, on RAVDESS if it was run on it, else on the synthetic corpus)")
    predict.add_argument("--csv", type=Path, help="write a table of the answers (one row per file) to this CSV file")
    predict.add_argument("--json", nargs="?", const="-", help="print JSON instead of text, or write it to this file")
    predict.add_argument("--radar", type=Path, help="write the first file's radar chart to this PNG")
    predict.add_argument("--force", action="store_true", help="replace output files that already exist")
    predict.set_defaults(run=_predict)
    report = commands.add_parser("report", help="assemble the HTML reports from executed notebooks")
    report.add_argument("--dataset", default="synthetic")
    report.set_defaults(run=_report)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ser`` console script."""
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
