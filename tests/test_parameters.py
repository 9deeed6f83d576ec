"""Every documented parameter of `make report` and `make accuracy`: accepted, or refused before any work."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from ser_utils import config, datasets, parameters, protocols, training

ROOT = Path(__file__).resolve().parents[1]
#: The values the README documents for each Make variable.
DOCUMENTED = {
    "DATASET": ["synthetic", "ravdess"],
    "SCHEME": list(config.LABEL_SCHEMES),
    "MODEL": ["best", "ensemble", "cnn", "svm", "egemaps_lr", "compare_lr", "seed_cnn", "svm_factorised",
              "egemaps_lr_factorised", "compare_lr_factorised"],
    "SPLIT": ["speaker", "random"],
    "EPOCHS": ["1", "40"],
    "FOLDS": ["2", "6", "12"],
    "AUGMENT": ["0", "1", "2"],
    "SEED": ["0", "42"],
    "ACTORS": ["", "4", "12", "24"],
}


@pytest.mark.parametrize("name,value", [(n, v) for n, values in DOCUMENTED.items() for v in values])
def test_every_documented_value_is_accepted(name, value):
    assert parameters.problems({"SCHEME": config.DEFAULT_SCHEME, name: value}) == []


@pytest.mark.parametrize("name,value,message", [
    ("DATASET", "ravdes", "choose one of synthetic, ravdess"),
    ("SCHEME", "bogus", "choose one of gender_emotion5"),
    ("MODEL", "nonexistent", "choose one of best, svm"),
    ("SPLIT", "speaker-norm", "not saved"),
    ("FOLDS", "1", "from 2 to 12"),
    ("FOLDS", "50", "from 2 to 12"),
    ("FOLDS", "six", "whole number"),
    ("EPOCHS", "0", "from 1 to 1000"),
    ("AUGMENT", "-1", "from 0 to 10"),
    ("SEED", "-3", "from 0 to"),
    ("RAVDESS_DIR", "/no/such/folder", "no such folder"),
    ("ACTORS", "12", "RAVDESS brings its own actors"),
])
def test_bad_values_are_refused_naming_the_valid_ones(name, value, message):
    found = parameters.problems({"DATASET": "ravdess", "SCHEME": config.DEFAULT_SCHEME, name: value})
    assert len(found) == 1 and found[0].startswith(f"{name}=") and message in found[0]


@pytest.mark.parametrize("value", ["2", "5", "26", "twelve", "-4"])
def test_a_synthetic_corpus_size_it_cannot_have_is_refused(value):
    found = parameters.problems({"DATASET": "synthetic", "ACTORS": value})
    assert len(found) == 1 and "even number (as many men as women) from 4 to 24" in found[0]


def test_a_factorised_model_is_refused_under_a_scheme_without_gender():
    assert "choose one of" in parameters.problems({"SCHEME": "emotion5", "MODEL": "svm_factorised"})[0]
    assert parameters.problems({"SCHEME": "emotion5", "MODEL": "ensemble"}) == []


def test_ravdess_dir_with_the_synthetic_dataset_is_refused(tmp_path):
    assert "use DATASET=ravdess" in parameters.problems({"DATASET": "synthetic", "RAVDESS_DIR": str(tmp_path)})[0]


def project_files() -> list[Path]:
    """Every path of the project, but the environment, git's store, and the shared content-addressed feature cache
    (``data/processed``), which the notebooks `make test` runs beside the unit tests fill meanwhile."""
    ignored = {".venv", ".git"}
    processed = ROOT / "data" / "processed"
    return sorted(p for p in ROOT.rglob("*") if not ignored & set(p.parts) and processed not in (p, *p.parents))


def test_make_refuses_bad_parameters_before_any_work_and_deletes_nothing(tmp_path):
    """`make report` with bad values stops at the check: exit 2, each problem named, no file written or removed."""
    before = project_files()
    result = subprocess.run(["make", "--no-print-directory", "report", "SCHEME=bogus", "FOLDS=1", "EPOCHS=0"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)  # a build would run far longer
    assert result.returncode == 2
    for name in ("SCHEME='bogus'", "FOLDS=1", "EPOCHS=0"):
        assert f"error: {name}" in result.stderr
    assert ">>" not in result.stdout  # no stage started
    assert project_files() == before


def dry_run(*arguments: str) -> list[list[str]]:
    """The shell words of the lines ``make -n -B`` would run (nothing runs) that check parameters, execute a notebook
    or run the accuracy benchmark."""
    printed = subprocess.run(["make", "-n", "-B", "--no-print-directory", *arguments], cwd=ROOT, capture_output=True,
                             text=True, timeout=60, check=True).stdout
    markers = ("ser_utils.parameters", "ser_utils.run_notebook", "benchmarks/accuracy.py")
    lines = printed.replace("\\\n", " ").splitlines()  # a backslash at the end continues the line, as in the shell
    return [shlex.split(line) for line in lines if any(marker in line for marker in markers)]


def word_after(lines: list[list[str]], word: str, marker: str) -> str:
    """The word after ``word`` on the one command line holding ``marker``."""
    (words,) = [words for words in lines if marker in words]
    return words[words.index(word) + 1]


def test_a_corpus_folder_with_spaces_and_quotes_reaches_the_check_and_the_notebook_whole(tmp_path):
    """make's own functions split a value at spaces and read '$' as a variable: RAVDESS_DIR goes to the check,
    notebook 01 and the accuracy benchmark as one shell word, and a relative folder is read from the project folder
    (the notebooks run in notebooks/)."""
    folder = tmp_path / "my corpus" / "O'Brien $HOME $(x)"
    folder.mkdir(parents=True)
    report, accuracy = dry_run("report", f"RAVDESS_DIR={folder}"), dry_run("accuracy", f"RAVDESS_DIR={folder}")
    (check,) = [words for words in report if "ser_utils.parameters" in words]
    assert f"RAVDESS_DIR={folder}" in check
    assert subprocess.run(shlex.join(check), shell=True, cwd=ROOT, capture_output=True).returncode == 0
    assert word_after(report, "DATA_DIR", "notebooks/01_data_labelling.ipynb") == str(folder)
    assert word_after(accuracy, "--data-dir", "benchmarks/accuracy.py") == str(folder)
    relative = dry_run("report", "RAVDESS_DIR=corpora/my corpus")
    assert word_after(relative, "DATA_DIR", "notebooks/01_data_labelling.ipynb") == f"{ROOT}/corpora/my corpus"


def test_a_quoted_home_folder_is_expanded_by_the_check_and_the_corpus_reader(tmp_path, monkeypatch):
    """``RAVDESS_DIR="~/My corpora"`` reaches make with its ~: the check and the notebook expand it."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "My corpora" / "Actor_01").mkdir(parents=True)
    assert parameters.problems({"DATASET": "ravdess", "RAVDESS_DIR": "~/My corpora"}) == []
    assert datasets.resolve_dataset("ravdess", "~/My corpora/../My corpora").path == tmp_path / "My corpora"
    assert parameters.problems({"DATASET": "ravdess", "RAVDESS_DIR": "~nobody-here/c"}) == [
        "RAVDESS_DIR=~nobody-here/c: no such folder (give the folder holding Actor_01 ... Actor_24)"]


def test_a_link_before_dot_dot_is_followed_as_the_system_follows_it(tmp_path):
    """``link/..`` is the link target's parent, not the link's folder: the path is then kept as written."""
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "real" / "corpus" / "Actor_01").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "link").symlink_to(tmp_path / "real" / "sub", target_is_directory=True)
    given = tmp_path / "elsewhere" / "link" / ".." / "corpus"
    assert parameters.problems({"DATASET": "ravdess", "RAVDESS_DIR": str(given)}) == []
    assert (datasets.resolve_dataset("ravdess", given).path / "Actor_01").is_dir()
    assert datasets.resolve_dataset("ravdess", tmp_path / "real" / "sub" / ".." / "corpus").path == \
        tmp_path / "real" / "corpus"


def actors(n_per_gender: int, clips: int = 5) -> pd.DataFrame:
    """A table of ``2 * n_per_gender`` actors, ``clips`` clips each, one label."""
    return pd.DataFrame([{"actor": a, "gender": "male" if a % 2 else "female", "label": "calm"}
                         for a in range(1, 2 * n_per_gender + 1) for _ in range(clips)])


def test_folds_capped_by_the_corpus_are_said_and_too_few_refused():
    table = actors(3)
    table.loc[table.index[:4], "label"] = "angry"  # the smallest class: 4 clips
    assert [len(protocols.make_folds(table, p, n_folds=6)) for p in ("speaker", "random")] == [3, 4]
    note = protocols.folds_note(table, 6)
    assert "speaker protocol uses 3 folds" in note and "random protocol uses 4 folds" in note
    assert protocols.folds_note(actors(6, clips=10), 6) == ""
    with pytest.raises(ValueError, match="at least 2"):
        protocols.make_folds(table, "speaker", n_folds=1)


@pytest.mark.parametrize("scheme", list(config.LABEL_SCHEMES))
def test_every_scheme_and_split_goes_through_training_evaluation_and_prediction(scheme, mini_corpus, tmp_path,
                                                                               monkeypatch):
    """What 03, 04 and 05 do with each documented SCHEME and SPLIT, on the mini corpus (2 folds, cheap models)."""
    import matplotlib.pyplot as plt

    from ser_utils import corpus, evaluation, models, plots, prediction, runs

    monkeypatch.setattr(config, "MODELS_DIR", tmp_path)
    table = corpus.build_labels_table(mini_corpus, scheme)
    has_gender = config.label_scheme(scheme)["has_gender"]
    plan = {name: parameters.SPLITS for name in ["svm", *(["svm_factorised"] if has_gender else [])]}
    saved = training.train_and_save(table, dataset={"name": "mini", "synthetic": True}, plan=plan, n_folds=2,
                                    progress=False)
    assert set(saved) == {(name, split) for name in plan for split in parameters.SPLITS}
    clip = table["path"].iloc[0]
    for (name, split), run in saved.items():
        assert evaluation.summarise(runs.load_run(config.run_dir("mini", name, split), labels=run.labels))["n_folds"] == 2
        for folder in (config.run_dir("mini", name, split), config.run_dir("mini", name, split) / runs.FOLD_MODEL_DIR):
            result = prediction.predict_file(models.load_model(folder), clip)
            assert result.label in config.label_scheme(scheme)["classes"]
        plt.close(plots.prediction_chart(result, "title", "caption"))


def test_every_parameter_the_makefile_passes_is_one_the_notebook_declares():
    """papermill must parse each notebook's parameters cell and find there every `-p NAME` the Makefile passes,
    to `make report` and to nbval in `make test`."""
    from papermill.inspection import inspect_notebook

    makefile = (ROOT / "Makefile").read_text()
    everywhere = re.findall(r"-p (\w+)", re.search(r"^PAPERMILL\s*:=.*$", makefile, re.M).group(0))
    data_dir = re.findall(r"-p (\w+)", re.search(r"^DATA_DIR_P\s*:=.*$", makefile, re.M).group(0))
    calls = re.findall(r"\$\(call execute,(\w+),([^\n]*)\)", makefile)
    assert len(calls) == 5 and data_dir == ["DATA_DIR", "SYNTHETIC_ACTORS"]
    for notebook, arguments in calls:
        declared = inspect_notebook(str(ROOT / "notebooks" / f"{notebook}.ipynb"))
        passed = everywhere + re.findall(r"-p (\w+)", arguments) + (data_dir if "DATA_DIR_P" in arguments else [])
        for_tests = re.search(rf"^TEST_PARAMS_{notebook[:2]}\s*:=(.*)$", makefile, re.M)
        passed += re.findall(r"-p (\w+)", for_tests.group(1)) if for_tests else []
        assert set(passed) <= set(declared), (notebook, set(passed) - set(declared))
        cells = nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", as_version=4).cells
        source = "".join(cell.source for cell in cells if "parameters" in cell.metadata.get("tags", []))
        assert set(re.findall(r"^([A-Z_]+) =", source, re.M)) == set(declared), notebook  # every line parsed


def test_notebooks_are_committed_without_outputs_except_the_cells_nbval_compares():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                checked = cell.source.startswith("# NBVAL_CHECK_OUTPUT")
                assert bool(cell.outputs) == checked, (path.name, cell.source[:60])
                assert cell.execution_count is None or checked, (path.name, cell.source[:60])
