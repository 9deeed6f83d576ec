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
        code.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"output of {name} from {tmp_path}/corpus\n"),
                        nbformat.v4.new_output("stream", name="stderr", text="progress bar noise\n")]
        default = nbformat.v4.new_code_cell("DATASET = 'default value'", metadata={"tags": ["parameters"]})
        injected = nbformat.v4.new_code_cell("DATASET = 'injected value'", metadata={"tags": ["injected-parameters"]})
        plumbing = nbformat.v4.new_markdown_cell("## Save the files", metadata={"tags": ["plumbing"]})
        book.cells = [nbformat.v4.new_markdown_cell(f"# Section {name}"), default, injected, code, plumbing]
        nbformat.write(book, tmp_path / f"{name}.ipynb")
    mean = {"accuracy": 0.5, "uar": 0.5, "f1_macro": 0.4, "auc_macro": 0.9, "gender_accuracy": 0.99,
            "emotion_accuracy": 0.55}
    run = {"model": "cnn", "protocol": "speaker", "n_folds": 6, "train_seconds": 3.0, "mean": mean,
           "std": {key: 0.04 for key in mean}}
    metrics = {"dataset": {"name": "synthetic", "synthetic": True, "label": "SYNTHETIC corpus (test)",
                           "path": str(tmp_path / "corpus")},
               "scheme": config.label_scheme("gender_emotion5"), "headline": run,
               "runs": [run, run | {"protocol": "random", "mean": mean | {"uar": 0.8}}]}
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


def test_the_report_ends_with_results_and_limitations_read_from_the_metrics(executed):
    for hide_code in (False, True):
        html = " ".join(report.build_report(executed, dataset_name="synthetic", hide_code=hide_code).read_text().split())
        assert 'id="results"' in html and "Results and limitations" in html and "#results" in html  # and in the contents
        assert "0.800 under the random per-clip split: the random split overstates it by 30.0 points" in html
        assert "The corpus is synthetic" in html and html.count("back to the top") == len(report.SECTIONS) + 1


def test_the_report_shows_only_the_parameters_in_effect_and_the_lecture_version_no_plumbing(executed):
    full = report.build_report(executed, dataset_name="synthetic").read_text()
    assert "injected value" in full and "default value" not in full and "Save the files" in full
    lecture = report.build_report(executed, dataset_name="synthetic", hide_code=True).read_text()
    assert "Save the files" not in lecture


def test_the_rendered_report_needs_no_renderer_names_no_local_path_and_stays_small(executed):
    import re

    for hide_code in (False, True):
        html = report.build_report(executed, dataset_name="synthetic", hide_code=hide_code).read_text()
        text = re.sub(r"<(script|style)[^>]*>.*?</(script|style)>", "", html, flags=re.S)  # page code is not prose
        assert not re.search(r"\$[^$<>\n]+\$", re.sub(r"<[^>]+>", "", text)), "raw TeX in the report"
        assert str(executed) not in html and str(config.PROJECT_ROOT) not in html
        assert len(html.encode()) < 4_000_000
        scripts = " ".join(re.findall(r"<script[^>]*>.*?</script>", html, flags=re.S))
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html) and "://" not in scripts, \
            "the page fetches code or styles from the network, which a class offline cannot reach"
