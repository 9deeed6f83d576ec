"""The HTML report: title page with headline metrics, all five sections, code hidden on request."""

import json

import nbformat
import pytest

from ser_utils import config, report
from ser_utils.storage import atomic_path


@pytest.fixture
def executed(tmp_path):
    """Five small executed notebooks and a metrics.json, as `make report` leaves them."""
    for name in report.SECTIONS:
        book = nbformat.v4.new_notebook()
        code = nbformat.v4.new_code_cell("print('hello')")
        code.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"output of {name}\n"),
                        nbformat.v4.new_output("stream", name="stderr", text="progress bar noise\n")]
        book.cells = [nbformat.v4.new_markdown_cell(f"# Section {name}"), code]
        nbformat.write(book, tmp_path / f"{name}.ipynb")
    mean = {"accuracy": 0.5, "uar": 0.5, "f1_macro": 0.4, "auc_macro": 0.9, "gender_accuracy": 0.99,
            "emotion_accuracy": 0.55}
    run = {"model": "cnn", "protocol": "speaker", "n_folds": 6, "train_seconds": 3.0, "mean": mean,
           "std": {key: 0.04 for key in mean}}
    metrics = {"dataset": {"name": "synthetic", "synthetic": True, "label": "SYNTHETIC corpus (test)"},
               "scheme": config.label_scheme("gender_emotion5"), "headline": run, "runs": [run, run | {"protocol": "random"}]}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    return tmp_path


def test_report_has_title_page_every_section_and_no_stderr(executed):
    html = " ".join(report.build_report(executed, dataset_name="synthetic").read_text().split())
    for name in report.SECTIONS:
        assert f'id="{name}"' in html and f"output of {name}" in html
    assert "Synthetic corpus" in html and "SYNTHETIC corpus (test)" in html
    assert "0.500" in html and "git commit" in html and "librosa" in html
    assert "0.500 ± 0.040</strong> on 10 classes (chance 0.100)" in html and "gender 0.990" in html
    assert "<td>speaker</td>" in html and "<td>random</td>" in html  # the leaderboard, every run
    assert "progress bar noise" not in html
    assert "<div class=\"highlight hl-" in html  # code shown


def test_title_page_follows_the_label_scheme(executed):
    metrics = json.loads((executed / "metrics.json").read_text())
    metrics["scheme"] = config.label_scheme("emotion5")
    for run in [metrics["headline"], *metrics["runs"]]:
        del run["mean"]["gender_accuracy"], run["mean"]["emotion_accuracy"]
    (executed / "metrics.json").write_text(json.dumps(metrics))
    html = " ".join(report.build_report(executed, dataset_name="synthetic").read_text().split())
    assert "on 5 classes (chance 0.200)" in html and "gender 0." not in html


def test_presentation_version_hides_code(executed):
    html = report.build_report(executed, dataset_name="synthetic", hide_code=True).read_text()
    assert "output of 05_prediction" in html and "<div class=\"highlight hl-" not in html


def test_missing_notebook_is_named(executed):
    (executed / "03_training.ipynb").unlink()
    with pytest.raises(FileNotFoundError, match="03_training.ipynb"):
        report.build_report(executed, dataset_name="synthetic")


def test_atomic_path_leaves_nothing_when_writing_fails(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_notebook_prose_needs_no_math_renderer():
    """The report is read offline, where MathJax cannot load: formulas are written in plain Unicode."""
    import re

    inline_tex = re.compile(r"\$[^$\n]+\$")
    for path in sorted((config.PROJECT_ROOT / "notebooks").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                assert not inline_tex.search(cell.source), f"{path.name}: TeX in markdown: {cell.source[:80]!r}"
