"""The HTML report: title page with headline metrics, all five sections, code hidden on request."""

import json
import re

import nbformat
import pytest

from ser_utils import config, report, report_text
from ser_utils.storage import atomic_path


def test_report_has_title_page_every_section_and_no_stderr(executed):
    html = " ".join(report.build_report(executed, dataset_name="synthetic").read_text().split())
    for name in report.SECTIONS:
        assert f'id="{name}"' in html and f"output of {name}" in html
    assert "Synthetic corpus" in html and "SYNTHETIC corpus (test)" in html
    assert "git commit" in html and "librosa" in html
    assert "progress bar noise" not in html
    assert "<div class=\"highlight hl-" in html  # code shown


def test_title_page_follows_the_label_scheme(executed):
    metrics = json.loads((executed / "metrics.json").read_text())
    metrics["scheme"] = config.label_scheme("emotion5")
    for run in [metrics["headline"], *metrics["runs"]]:
        del run["mean"]["gender_accuracy"], run["mean"]["emotion_accuracy"]
    (executed / "metrics.json").write_text(json.dumps(metrics))
    html = " ".join(report.build_report(executed, dataset_name="synthetic").read_text().split())
    assert "which emotion the speaker acts (angry, calm, fearful, happy or sad): 5 possible answers" in html
    assert "guessing would get 20 %" in html and "tells a woman from a man" not in html and "gender 0." not in html


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


def test_the_first_page_says_the_task_the_data_the_test_and_the_headline_beside_chance(executed):
    html = " ".join(report.build_report(executed, dataset_name="synthetic").read_text().split())
    first_page = html[:html.index('id="01_data_labelling"')]
    assert "says who speaks, a woman or a man, and which emotion they act (angry, calm, fearful, happy or sad): " \
           "10 possible answers" in first_page
    assert "voices the model never heard" in first_page and "SYNTHETIC corpus (test)" in first_page
    assert ("The best model, <strong>cnn</strong>, recognises <strong>50 %</strong> of each class on average (UAR 0.500 "
            "± 0.040 over 6 folds) in voices it never heard, where guessing would get 10 %. It tells a woman from a "
            "man in 99.0 % of clips and names the emotion in 55 %") in first_page
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*</tr>", first_page)
    assert [(model, uar) for _, model, uar in rows] == [
        ("cnn", "<strong>0.500 ± 0.040</strong>"), ("compare_lr", "0.450 ± 0.040"), ("seed_cnn", "0.250 ± 0.040"),
        ("cnn", "0.800 ± 0.040"), ("–", "0.100")]
    assert rows[1][0] == "The runner-up" and "seed project" in rows[2][0] and "random split" in rows[3][0]
    assert "librosa" not in first_page and "git commit" not in first_page  # versions are in the footer


def test_the_contents_list_every_section_and_sub_section_and_the_glossary_defines_the_terms(executed):
    html = " ".join(report.build_report(executed, dataset_name="synthetic").read_text().split())
    for name in report.SECTIONS:
        assert f'<a href="#{name}-1">Part one of {name}</a>' in html and f'id="{name}-1"' in html
    assert '<a href="#glossary">' in html and 'id="glossary"' in html
    glossary = html[html.index('id="glossary"'):]
    for term, _ in report_text.GLOSSARY:
        assert f"<strong>{term.split(' (')[0]}" in glossary
    assert html.index('id="glossary"') < html.index("git commit")  # the footer closes the report


def test_every_figure_is_numbered_with_its_title_and_described(executed):
    for hide_code in (False, True):
        html = " ".join(report.build_report(executed, dataset_name="synthetic", hide_code=hide_code).read_text().split())
        assert "No description has been provided" not in html
        for number, name in enumerate(report.SECTIONS, start=1):
            assert f'alt="Bars of clips per class in {name}."' in html
            assert f"<strong>Figure {number}.</strong> Clips per class in {name}" in html


def test_the_reader_sees_no_harness_comment_and_cells_numbered_from_one(executed):
    html = report.build_report(executed, dataset_name="synthetic").read_text()
    assert "NBVAL" not in html and "make test" not in html
    prompts = re.findall(r"In\s\[(\d+)\]:", html)
    assert prompts[:2] == ["1", "2"] and prompts.count("1") == len(report.SECTIONS)


def test_the_first_page_figures_are_those_of_the_metrics_file(executed):
    """Text written from the data cannot contradict it: every number on the first page is one of metrics.json's."""
    metrics = json.loads((executed / "metrics.json").read_text())
    page = report_text.title_page(metrics)
    recorded = {f"{value:.3f}" for run in metrics["runs"] for part in ("mean", "std") for value in run[part].values()}
    recorded |= {f"{metrics['scheme']['chance']:.3f}", str(metrics["headline"]["n_folds"]),
                 str(len(metrics["scheme"]["classes"]))}
    recorded |= {report_text.percent(v).split()[0] for v in [*metrics["headline"]["mean"].values(), 0.1]}
    recorded |= {f"{100 * metrics['headline']['mean']['gender_accuracy']:.1f}"}
    numbers = re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", page.replace("RAVDESS's", ""))
    assert numbers and set(numbers) <= recorded, set(numbers) - recorded


def test_a_headline_chosen_with_model_is_not_called_the_best(executed):
    metrics = json.loads((executed / "metrics.json").read_text())
    metrics["headline"] = next(run for run in metrics["runs"] if run["model"] == "seed_cnn")
    page = report_text.title_page(metrics)
    closing = report_text.results_and_limitations(metrics, heading="Results")
    assert "The model chosen for this report, **seed_cnn**" in page and "The best model" not in page
    assert "**Headline**: the model chosen for this report | seed_cnn |" in page
    assert "| The best single model | cnn |" in page and "runner-up" not in page
    assert "the best model, cnn, scores 25.0 points more" in closing and "leads" not in closing


def test_the_gender_scheme_is_described_as_telling_women_from_men(executed):
    metrics = json.loads((executed / "metrics.json").read_text())
    metrics["scheme"] = config.label_scheme("gender")
    assert "says whether a woman or a man speaks: 2 possible answers" in report_text.introduction(metrics)
