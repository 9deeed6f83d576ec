"""The ``ser`` command: build the corpus, predict files, assemble the report.

    ser data [--out DIR] [--seed N]
    ser predict FILE... [--model DIR] [--json] [--radar PNG]
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


def _predict(args) -> int:
    """Predict each file; bad files are reported on stderr and make the exit status non-zero."""
    from tqdm import tqdm

    from .audio import AudioError
    from .models import load_model
    from .prediction import predict_file

    try:
        model = load_model(args.model)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    results, failures = [], 0
    for path in tqdm(args.files, desc="predicting", unit="file", disable=len(args.files) < 2 or args.json):
        try:
            results.append(predict_file(model, path))
        except AudioError as error:
            print(f"error: {error}", file=sys.stderr)
            failures += 1
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        for result in results:
            summary = result.to_dict()
            gender = f", gender {summary['gender']} ({summary['gender_probability']:.2f})" if "gender" in summary else ""
            print(f"{result.path}: {summary['label']}{gender}")
    if args.radar and results:
        _save_radar(results[0], model, args.radar)
    return EXIT_BAD_INPUT if failures else 0


def _save_radar(result, model, path) -> None:
    """Write the radar chart of ``result`` to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    from . import plots

    if result.gender is None:
        print("warning: no radar chart; the model's labels carry no gender", file=sys.stderr)
        return
    polygons, emotions = result.emotions_by_gender()
    caption = f"model {model.name} ({model.metadata.get('dataset', {}).get('label', 'unknown corpus')})"
    figure = plots.radar(polygons, emotions, result.gender[0], f"Emotion probabilities: {Path(result.path).name}", caption)
    figure.savefig(path, dpi=120)
    print(f"radar chart written to {path}", file=sys.stderr)


def _report(args) -> int:
    from .report import build_report

    folder = config.REPORTS_DIR / args.dataset
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
    predict = commands.add_parser("predict", help="predict emotion and gender of audio files")
    predict.add_argument("files", nargs="+", help="audio files (WAV/FLAC/OGG, any rate, any length)")
    predict.add_argument("--model", default=config.run_dir("synthetic", "ensemble", "speaker"), type=Path,
                         help="trained model folder (default: %(default)s)")
    predict.add_argument("--json", action="store_true", help="print JSON instead of text")
    predict.add_argument("--radar", type=Path, help="write the first file's radar chart to this PNG")
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
