"""The ``ser`` command: build the corpus, predict files, assemble the report and the slides.

    ser data [--out DIR] [--seed N] [--actors N]
    ser predict FILE_OR_DIR... [--model DIR] [--csv FILE|-] [--json [FILE|-]] [--radar PNG|SVG|PDF|JPG] [--force]
    ser report [--dataset NAME]
    ser slides [--dataset NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import config

EXIT_BAD_INPUT = 2
#: The shell's status for a command stopped by Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 128 + signal.SIGINT
#: The shell's status for a command whose reader went away (128 + SIGPIPE): ``ser predict ... | head``.
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE
#: The output name that means the terminal (standard output).
STDOUT = "-"
#: The radar chart's file formats, by suffix (matplotlib's format names).
RADAR_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg"}


def printable(text: str) -> str:
    """``text`` safe to print and to write as UTF-8: bytes of a file name that are not UTF-8 (which Python
    holds as lone surrogates) are shown as ``\\xNN``."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _tell(message: str) -> None:
    """Print one line to the terminal's error stream."""
    print(printable(message), file=sys.stderr)


def _refuse(message: str) -> int:
    """Print ``error: message`` and return the bad-input exit status."""
    _tell(f"error: {message}")
    return EXIT_BAD_INPUT


def _reason(path: Path | str, error: Exception) -> str:
    """A one-line error naming the file: an OS error's own file (else ``path``) and wording, or the error's message."""
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename or path}: {error.strerror}"
    return str(error)


def _data(args) -> int:
    from .synth import build_synthetic_corpus

    try:
        path = build_synthetic_corpus(args.out, seed=args.seed, n_actors=args.actors)
    except (OSError, ValueError) as error:
        return _refuse(_reason(args.out, error))
    print(f"synthetic corpus ready in {path}")
    return 0


#: Files read and predicted together (one pass of each model per batch).
PREDICT_BATCH = 32


def audio_files(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The files named, and every audio file (WAV/FLAC/OGG/MP3, any case) under the folders named, in order; and
    ``(path, reason)`` for what under those folders could not be read (a folder that cannot be listed, a pipe).

    A name that is not a folder (missing, or in a folder that cannot be read) is kept, to be reported as bad input.
    """
    from .corpus import find_audio_files

    found, skipped = [], []
    for path in paths:
        if not _is_folder(path):
            found.append(path)
            continue
        found += find_audio_files(path, skipped)
    return found, skipped


def _is_folder(path: Path) -> bool:
    """True for a folder; False otherwise, also if a folder above ``path`` cannot be read (reading the file says so)."""
    try:
        return path.is_dir()
    except OSError:
        return False


def default_model() -> Path:
    """The ensemble that `make report` trained: on real RAVDESS if there is one, else on the synthetic corpus."""
    candidates = [config.run_dir(dataset, "ensemble", "speaker") for dataset in ("ravdess", "synthetic")]
    return next((path for path in candidates if (path / "metadata.json").exists()), candidates[-1])


def output_problem(args, inputs: list[Path]) -> str | None:
    """Why the outputs asked for (``--csv``, ``--json``, ``--radar``) cannot be written, or None: checked before work.

    Two outputs never share a path (nor the terminal), the chart is never sent to the terminal and has a format
    matplotlib writes, and no output goes over an input, an audio file name, a pipe or a device, even with ``--force``.
    """
    outputs = {option: str(value) for option, value in (("--csv", args.csv), ("--json", args.json),
                                                         ("--radar", args.radar)) if value is not None}
    radar = outputs.get("--radar")
    if radar == STDOUT:
        return "--radar -: the chart is an image, not text for the terminal; give a file name"
    written = {}
    for option, value in outputs.items():
        destination = value if value == STDOUT else Path(value).resolve()
        if destination in written:
            return f"{value}: {written[destination]} and {option} would both write there; give each its own"
        written[destination] = option
    inputs = {path.resolve() for path in inputs}
    for option, value in outputs.items():
        problem = value != STDOUT and _file_output_problem(option, Path(value), inputs, args.force)
        if problem:
            return problem
    if radar and Path(radar).suffix.lower() not in RADAR_FORMATS:
        return f"{radar}: unsupported radar chart format; name it {', '.join(RADAR_FORMATS)}"
    return None


def _file_output_problem(option: str, path: Path, inputs: set[Path], force: bool) -> str | None:
    """Why ``option``'s file ``path`` cannot be written (an input or audio name, a folder, a pipe or device, exists
    without --force, in a missing or read-only folder), or None."""
    if path.suffix.lower() in config.AUDIO_SUFFIXES or path.resolve() in inputs:
        advice = "; for JSON on the terminal, put --json last or give --json -" if option == "--json" else ""
        return f"{path}: {option} would write over an input or an audio file, which ser never does{advice}"
    try:
        if path.is_dir():
            return f"{path}: is a folder; give a file name"
        if path.exists() and not path.is_file():
            return (f"{path}: not a regular file (a device or pipe is never replaced); give a file name, or - for the "
                    "terminal")
        if path.exists() and not force:
            return f"{path}: already exists; use --force to replace it"
        if not path.parent.is_dir():
            return f"{path.parent}: no such folder for {path.name}"
    except OSError as error:
        return _reason(path, error)
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return f"{path.parent}: folder not writable, so {path.name} cannot be written there"
    return _refused_file(path)


def _refused_file(path: Path) -> str | None:
    """Why no file can be created beside ``path`` although the folder's permissions allow it, or None.

    Tried with a temporary file (removed at once): a read-only mount or a kernel folder such as
    ``/sys`` is found here, before any work, and not after another output was written.
    """
    try:
        handle, probe = tempfile.mkstemp(dir=path.parent, prefix=".ser-probe-")
    except OSError as error:
        return f"{path.parent}: no file can be created there ({error.strerror}), so {path.name} cannot be written"
    os.close(handle)
    Path(probe).unlink(missing_ok=True)
    return None


class HeldInterrupts:
    """Hold Ctrl-C (SIGINT) while inside, and raise it as :class:`KeyboardInterrupt` at :meth:`check`, or on leaving.

    Raised at once, it could land in a C library's Python callback (openSMILE's), where ctypes prints
    "Exception ignored" and drops it, and the library goes on with NaN features: a wrong answer. Held, it
    stops the work at the next file answered, every time.
    """

    def __enter__(self) -> HeldInterrupts:
        self.requested = False
        self._previous = signal.signal(signal.SIGINT, self._request)
        return self

    def _request(self, _signal_number, _frame) -> None:
        self.requested = True

    def check(self) -> None:
        """Raise :class:`KeyboardInterrupt` if Ctrl-C was pressed since entering."""
        if self.requested:
            raise KeyboardInterrupt

    def __exit__(self, error_type, *_) -> None:
        signal.signal(signal.SIGINT, self._previous)
        if error_type is None:
            self.check()


def predict_batches(model, files: list[Path], *, progress: bool):
    """Yield (printable name, Prediction or None, error or None) for every file, predicted a batch at a time.

    A file that cannot be read or scored yields its error; the others are unaffected.
    """
    from tqdm import tqdm

    from .audio import AudioError
    from .models import ModelMismatch
    from .prediction import Prediction, predict_each, read_clip

    with tqdm(total=len(files), desc="predicting", unit="file", disable=None if progress else True,
              file=sys.stderr) as bar:
        for first in range(0, len(files), PREDICT_BATCH):
            readable = []
            for path in files[first : first + PREDICT_BATCH]:
                try:
                    readable.append((printable(str(path)), *read_clip(model, path)))
                except (AudioError, OSError) as error:
                    yield printable(str(path)), None, printable(_reason(path, error))
            names = [name for name, _, _ in readable]
            try:
                answers = predict_each(model, [s for _, s, _ in readable], paths=names,
                                       extra_warnings=[w for _, _, w in readable]) if readable else []
            except ModelMismatch as error:
                answers = [f"{name}: {error}" for name in names]
            for name, answer in zip(names, answers):
                yield (name, answer, None) if isinstance(answer, Prediction) else (name, None, answer)
            bar.update(min(PREDICT_BATCH, len(files) - first))


def _predict(args) -> int:
    """Predict every file; bad files are listed on stderr, kept out of the answers, and make the exit status 2."""
    from .models import load_model
    from .prediction import model_corpus, model_warnings

    files, skipped = audio_files(args.files)
    problem = output_problem(args, files)
    if problem:
        return _refuse(problem)
    failures = [{"path": printable(str(path)), "error": printable(reason)} for path, reason in skipped]
    for failure in failures:
        _tell(f"error: {failure['error']}")
    if not files:
        return _refuse(f"no audio files (WAV/FLAC/OGG/MP3) in {', '.join(map(str, args.files))}")
    try:
        args.model = args.model or default_model()
        model = load_model(args.model)
    except (OSError, ValueError) as error:
        return _refuse(_reason(args.model or config.MODELS_DIR, error))
    _tell(f"model {args.model} ({model.name}, trained on {model_corpus(model)})")
    warnings = model_warnings(model)
    for warning in warnings:
        _tell(f"warning: {warning}")
    results = _answer(model, files, failures, show=STDOUT not in (args.json, str(args.csv)))
    try:
        _write_outputs(args, model, warnings, results, failures)
    except OSError as error:
        return _refuse(_reason(error.filename, error))
    if len(files) > 1:
        _tell(f"{len(results)} file(s) predicted, {len(failures)} skipped")
    return EXIT_BAD_INPUT if failures else 0


def _answer(model, files: list[Path], failures: list[dict], *, show: bool) -> list:
    """The predictions of ``files``, each printed as it comes if ``show``; a file that cannot be answered is listed
    and added to ``failures``. Ctrl-C stops it at the next file answered (:class:`HeldInterrupts`)."""
    results = []
    with HeldInterrupts() as interrupts:
        for name, result, error in predict_batches(model, files, progress=len(files) > 1):
            interrupts.check()
            if error:
                failures.append({"path": name, "error": error})
                _tell(f"error: {error}")
            else:
                results.append(result)
                if show:
                    print(f"{result.path}: {result.describe()}")
    return results


def _write_outputs(args, model, warnings: list[str], results, failures) -> None:
    """The --json, --csv and --radar outputs (each written whole, or not at all; a new file unless --force)."""
    from .prediction import model_corpus

    if args.json:
        document = {"model": {"path": printable(str(args.model)), "name": model.name, "corpus": model_corpus(model),
                              "warnings": warnings},
                    "predictions": [r.to_dict() for r in results], "failures": failures}
        if args.json == STDOUT:
            print(json.dumps(document, indent=2))
        else:
            _write_whole(Path(args.json), lambda tmp: tmp.write_text(json.dumps(document, indent=2) + "\n"),
                         replace=args.force)
            _tell(f"predictions written to {args.json}")
    if args.csv:
        table = prediction_table(results, failures, model.labels)
        if str(args.csv) == STDOUT:
            table.to_csv(sys.stdout, index=False)
        else:
            _write_whole(args.csv, lambda tmp: table.to_csv(tmp, index=False), replace=args.force)
            _tell(f"predictions written to {args.csv}")
    if args.radar and results:
        _save_radar(results[0], model, args.radar, replace=args.force)


def _write_whole(path: Path, write: Callable[[Path], object], *, replace: bool) -> None:
    """Write ``path`` with ``write(temporary path)``, whole or not at all (:func:`~ser_utils.storage.atomic_path`);
    an OS error names ``path``, not the temporary file."""
    from .storage import atomic_path

    try:
        with atomic_path(path, replace=replace) as tmp:
            write(tmp)
    except OSError as error:
        raise OSError(error.errno, error.strerror or str(error), str(path)) from None


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


def _save_radar(result, model, path: Path, *, replace: bool) -> None:
    """Write the radar chart of ``result`` to ``path``, in the format its suffix names (:data:`RADAR_FORMATS`)."""
    import matplotlib

    matplotlib.use("Agg")
    from . import plots
    from .prediction import model_corpus

    if result.gender is None:
        _tell("warning: no radar chart; the model's labels carry no gender")
        return
    polygons, emotions = result.emotions_by_gender()
    caption = f"model {model.name} ({model_corpus(model)})"
    figure = plots.radar(polygons, emotions, result.gender[0], f"Emotion probabilities: {Path(result.path).name}", caption)
    _write_whole(path, lambda tmp: figure.savefig(tmp, dpi=120, format=RADAR_FORMATS[path.suffix.lower()]),
                 replace=replace)
    _tell(f"radar chart written to {path}")


def _executed_folder(dataset: str) -> Path | None:
    """The folder of ``dataset``'s executed notebooks, or None (with a one-line error) before `make report`."""
    folder = config.REPORTS_DIR / dataset
    if config.metrics_path(dataset).is_file():
        return folder
    ready = sorted(p.parent.name for p in config.REPORTS_DIR.glob(f"*/{config.METRICS_FILE}"))
    print(f"error: {folder}: no executed notebooks for dataset {dataset!r} (run `make report "
          f"DATASET={dataset}`); ready: {', '.join(ready) or 'none'}", file=sys.stderr)
    return None


def _report(args) -> int:
    from .report import build_report

    folder = _executed_folder(args.dataset)
    if folder is None:
        return EXIT_BAD_INPUT
    for hide_code in (False, True):
        print(f"wrote {build_report(folder, dataset_name=args.dataset, hide_code=hide_code)}")
    return 0


def _slides(args) -> int:
    from .slides import build_slides

    folder = _executed_folder(args.dataset)
    if folder is None:
        return EXIT_BAD_INPUT
    print(f"wrote {build_slides(folder)}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The ``ser`` argument parser."""
    main_parser = argparse.ArgumentParser(prog="ser", description="Speech emotion recognition helpers")
    commands = main_parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("data", help="build the synthetic corpus (offline)")
    data.add_argument("--out", default=config.SYNTHETIC_DIR, type=Path)
    data.add_argument("--seed", default=config.DEFAULT_SEED, type=int)
    data.add_argument("--actors", default=config.SYNTHETIC_ACTORS, type=int,
                      help="speakers, an even number from %d to %d (default %%(default)s)" % config.SYNTHETIC_ACTORS_RANGE)
    data.set_defaults(run=_data)
    predict = commands.add_parser("predict", help="predict emotion and gender of audio files and folders")
    predict.add_argument("files", nargs="+", type=Path,
                         help="audio files (WAV/FLAC/OGG/MP3, any rate, any length) or folders (searched recursively)")
    predict.add_argument("--model", type=Path, help="trained model folder (default: the ensemble trained by `make "
                         "report`, on RAVDESS if it was run on it, else on the synthetic corpus)")
    predict.add_argument("--csv", type=Path, help="write a table of the answers (one row per file) to this CSV file "
                         "(-: print it)")
    predict.add_argument("--json", nargs="?", const=STDOUT, help="print JSON instead of text, or write it to this file")
    predict.add_argument("--radar", type=Path, help="write the first file's radar chart to this file "
                         f"({', '.join(RADAR_FORMATS)}: the format follows the suffix)")
    predict.add_argument("--force", action="store_true", help="replace output files that already exist (never an "
                         "input or an audio file)")
    predict.set_defaults(run=_predict)
    report = commands.add_parser("report", help="assemble the HTML reports from executed notebooks")
    report.add_argument("--dataset", default="synthetic")
    report.set_defaults(run=_report)
    slides = commands.add_parser("slides", help="write the slide deck (reveal.js, offline) from executed notebooks")
    slides.add_argument("--dataset", default="synthetic")
    slides.set_defaults(run=_slides)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ser`` console script; Ctrl-C, or a reader of its output that went away, stops it
    with the shell's status for it (and one line for Ctrl-C), never a traceback."""
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        _tell("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
