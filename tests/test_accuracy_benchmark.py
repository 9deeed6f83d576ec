"""The accuracy benchmark (`make accuracy`): every model under every protocol, all folds, one leaderboard."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_leaderboard_lists_every_run_strict_protocol_first(mini_corpus, tmp_path):
    command = [sys.executable, str(ROOT / "benchmarks" / "accuracy.py"), "--dataset", "ravdess",
               "--data-dir", str(mini_corpus), "--folds", "2", "--models", "svm", "svm_factorised"]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ | {"SER_OUTPUT_DIR": str(tmp_path)},
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads((tmp_path / "reports" / "ravdess" / "accuracy.json").read_text())
    runs = [(run["protocol"], run["model"]) for run in record["runs"]]
    assert sorted(runs) == sorted([(p, m) for m in ("svm", "svm_factorised")
                                   for p in ("speaker", "speaker-norm", "random")])
    assert [p for p, _ in runs] == sorted((p for p, _ in runs), key=["speaker", "speaker-norm", "random"].index)
    assert all(run["folds"] == 2 and " ± " in run["UAR"] for run in record["runs"])
    markdown = (tmp_path / "reports" / "ravdess" / "accuracy.md").read_text()
    assert "| speaker | svm | 2 |" in markdown and "make accuracy DATASET=ravdess" in done.stdout
