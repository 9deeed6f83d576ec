"""Benchmark: the seed's sequential feature loop against this project's extraction, and prediction latency.

Run with ``make bench`` (builds the synthetic corpus if needed). Prints milliseconds per
file for the seed's loop, the project's parallel extraction of the same legacy feature
and of the default features, the cached re-run, and the latency of predicting one clip.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import librosa  # noqa: E402
import numpy as np  # noqa: E402

from ser_utils import config, corpus, datasets, features  # noqa: E402


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


def bench_prediction(table, model_dir, repeats: int) -> None:
    """Latency of predicting one clip from its file with a loaded model (median of ``repeats``)."""
    from ser_utils import models, prediction

    if not (model_dir / "metadata.json").exists():
        print(f"prediction: skipped, no trained model in {model_dir} (run `make report` first)")
        return
    model = models.load_model(model_dir)
    path = table["path"].iloc[0]
    prediction.predict_file(model, path)  # warm-up: graph tracing
    latencies = [timed(prediction.predict_file, model, path)[1] * 1000 for _ in range(repeats)]
    print(f"prediction of one clip with a loaded {model.name} model: median {np.median(latencies):.1f} ms, "
          f"p90 {np.percentile(latencies, 90):.1f} ms over {repeats} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-files", type=int, default=240, help="files timed with the slow seed loop")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--model", default=config.run_dir("synthetic", "cnn", "speaker"))
    args = parser.parse_args()
    dataset = datasets.resolve_dataset("synthetic")
    table, _ = corpus.scan_corpus(dataset.path)  # all 1440 clips, every emotion
    print(f"{len(table)} clips of the {dataset.label}; {os.cpu_count()} cores")
    bench_extraction(table, args.seed_files)
    bench_prediction(table, config.Path(args.model), args.repeats)


if __name__ == "__main__":
    main()
