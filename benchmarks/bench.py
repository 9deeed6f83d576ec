"""Benchmark: ``ser predict`` as a user runs it, prediction latency, and feature extraction.

Run with ``make bench`` (after ``make report``, which trains the models). Prints

- cold start: wall seconds and peak memory of ``ser predict ONE.wav --model M`` in a new
  process (median of ``--repeats-cold`` runs), per model;
- warm latency: milliseconds to predict one clip from its file with a loaded model;
- extraction: milliseconds per file for the seed's sequential loop and this project's
  parallel, cached extraction.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import librosa  # noqa: E402
import numpy as np  # noqa: E402

from ser_utils import config, corpus, datasets, features  # noqa: E402
from ser_utils.interrupts import interrupt_on_sigterm  # noqa: E402


def seed_loop(paths: list[str]) -> np.ndarray:
    """The seed project's extraction, verbatim in substance: one file at a time."""
    rows = []
    for path in paths:
        samples, rate = librosa.load(path, res_type="kaiser_fast", duration=2.5, sr=44100, offset=0.5)
        rows.append(np.mean(librosa.feature.mfcc(y=samples, sr=rate, n_mfcc=13), axis=0))
    return np.array(rows)


def timed(function, *args, **kwargs):
    """(result, seconds) of one call."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def bench_extraction(table, seed_files: int) -> None:
    """Seed loop (on a subset, extrapolated per file) versus the project's cached parallel path."""
    paths = list(table["path"])
    seed_paths = paths[:seed_files]
    seed_loop(seed_paths[:2])  # warm-up: numba compilation, resampy filters
    _, seed_seconds = timed(seed_loop, seed_paths)
    seed_ms = 1000 * seed_seconds / len(seed_paths)
    print(f"seed loop (sequential, kaiser_fast, {len(seed_paths)} files): {seed_ms:7.2f} ms/file")
    with tempfile.TemporaryDirectory() as cache:
        for name, recipe in (("legacy (exact seed feature)", features.LegacyRecipe()),
                             ("legacy with soxr_hq resampling", features.LegacyRecipe(res_type="soxr_hq")),
                             ("matrix (default CNN input)", features.MatrixRecipe()),
                             ("stats (default SVM input)", features.StatsRecipe())):
            result, seconds = timed(features.extract_features, table, recipe, cache_dir=cache, progress=False)
            _, cached = timed(features.extract_features, table, recipe, cache_dir=cache, progress=False)
            ms = 1000 * seconds / len(paths)
            print(f"project {name:32s}: {ms:7.2f} ms/file ({seed_ms / ms:4.1f}x the seed loop), "
                  f"{len(paths)} files in {seconds:5.1f} s; cached re-run {cached * 1000:6.1f} ms"
                  f"{'' if result.from_cache is False else ' (unexpected cache hit)'}")


def cold_start(model_dir: Path, clip: str) -> tuple[float, float]:
    """(wall seconds, peak resident MB) of one ``ser predict`` process, start to answer."""
    command = [str(Path(sys.executable).with_name("ser")), "predict", clip, "--model", str(model_dir)]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except BaseException:  # stopped (Ctrl-C, SIGTERM): the timed process goes too
        process.kill()
        process.wait()
        raise
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {process.stderr.read().decode()}")
    process.stderr.close()
    return seconds, usage.ru_maxrss / 1024


def bare_imports(repeats: int) -> float:
    """Median wall seconds of a new process that only imports librosa, scikit-learn and NumPy, measured on this
    machine in this run: the yardstick the speed targets are set in (``ser predict`` itself no longer imports
    scikit-learn, and librosa's core, which it does import, costs more than this lazy ``import librosa``)."""
    command = [sys.executable, "-c", "import librosa, sklearn, numpy"]
    subprocess.run(command, check=True)  # warms the disk cache
    return float(np.median([timed(subprocess.run, command, check=True)[1] for _ in range(repeats)]))


def bench_cold_start(model_dirs: dict[str, Path], clip: str, repeats: int) -> None:
    """Median wall time and peak memory of a fresh ``ser predict`` per model (the first run warms the disk cache),
    and its ratio to the bare imports of librosa, scikit-learn and NumPy measured in the same run."""
    floor = bare_imports(repeats)
    print(f"bare `import librosa, sklearn, numpy` in a new process: {floor:5.2f} s wall (median of {repeats})")
    for name, model_dir in model_dirs.items():
        cold_start(model_dir, clip)
        runs = [cold_start(model_dir, clip) for _ in range(repeats)]
        seconds, megabytes = np.median([r[0] for r in runs]), max(r[1] for r in runs)
        print(f"cold start, ser predict one clip with {name:9s}: {seconds:5.2f} s wall (median of {repeats}), "
              f"{seconds / floor:3.1f}x the bare imports, peak {megabytes:5.0f} MB")


def bench_prediction(model_dirs: dict[str, Path], clips: list[str]) -> None:
    """Latency of predicting one clip from its file with a loaded model: the first of ``clips`` warms up, each of
    the others is timed once (a clip the process has not read before: nothing of it is remembered)."""
    from ser_utils import models, prediction

    for name, model_dir in model_dirs.items():
        model = models.load_model(model_dir)
        prediction.predict_file(model, clips[0])  # warm-up: graph tracing, numba compilation
        latencies = [timed(prediction.predict_file, model, clip)[1] * 1000 for clip in clips[1:]]
        print(f"warm prediction of one clip with a loaded {name:9s} ({type(model).__name__}): "
              f"median {np.median(latencies):6.1f} ms, p90 {np.percentile(latencies, 90):6.1f} ms over "
              f"{len(latencies)} clips")


def trained_models(dataset: str, names: list[str]) -> dict[str, Path]:
    """The speaker-protocol model folders of ``names`` that ``make report`` has trained (others are reported)."""
    found = {}
    for name in names:
        model_dir = config.run_dir(dataset, name, "speaker")
        if (model_dir / "metadata.json").exists():
            found[name] = model_dir
        else:
            print(f"{name}: skipped, no trained model in {model_dir} (run `make report` first)")
    return found


def main() -> None:
    interrupt_on_sigterm()  # `kill PID` stops the workers too, as Ctrl-C does
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="cold,warm,extraction", help="comma-separated: cold, warm, extraction")
    parser.add_argument("--models", default="svm,ensemble,cnn", help="models timed for cold start and latency")
    parser.add_argument("--seed-files", type=int, default=240, help="files timed with the slow seed loop")
    parser.add_argument("--repeats", type=int, default=50, help="warm predictions timed per model (one clip each)")
    parser.add_argument("--repeats-cold", type=int, default=5, help="fresh processes timed per model")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    dataset = datasets.resolve_dataset("synthetic")
    table, _ = corpus.scan_corpus(dataset.path)  # every clip, every emotion
    dataset = dataset.counted(table)
    print(f"{len(table)} clips of the {dataset.label}; {os.cpu_count()} cores")
    clip = str(table["path"].iloc[0])
    model_dirs = trained_models(dataset.name, args.models.split(","))
    if "cold" in parts:
        bench_cold_start(model_dirs, clip, args.repeats_cold)
    if "warm" in parts:
        bench_prediction(model_dirs, list(table["path"].iloc[: args.repeats + 1]))
    if "extraction" in parts:
        bench_extraction(table, args.seed_files)


if __name__ == "__main__":
    main()
