"""One self-contained HTML report from the executed notebooks, with a title page and a table of contents."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor

from . import config
from .evaluation import leaderboard, markdown_table, protocol_gap
from .provenance import git_commit, package_versions
from .storage import atomic_path, read_json

SECTIONS = {
    "01_data_labelling": "Data labelling",
    "02_mfcc_exploration": "MFCC exploration",
    "03_training": "Training",
    "04_evaluation": "Evaluation",
    "05_prediction": "Prediction",
}
CLOSING = ("results", "Results and limitations")
BACK_TO_TOP = "[↑ back to the top](#top)"
#: JupyterLab's page without the scripts it fetches from a CDN (require.js, MathJax, Mermaid): the report holds no
#: widget, formula or diagram, and it is read offline, in class, where those requests fail or wait.
OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


class DropStderr(Preprocessor):
    """Remove stderr streams (progress bars, library warnings) from the report."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
        return cell, resources


def _gender_emotion_figures(mean: dict) -> str:
    """Gender and emotion accuracy as a phrase (", gender 0.980, emotion 0.610") when labels carry gender."""
    if "gender_accuracy" not in mean:
        return ""
    return f", gender {mean['gender_accuracy']:.3f}, emotion {mean['emotion_accuracy']:.3f}"


def title_page(metrics: dict, *, dataset_name: str) -> str:
    """Markdown of the title page: headline metrics, corpus, protocol, date, commit, versions, contents."""
    headline, dataset = metrics["headline"], metrics["dataset"]
    warning = ("\n> **Synthetic corpus.** These figures come from speech synthesised offline in RAVDESS's design. "
               "They show that the pipeline works, not how well emotion is recognised in real voices.\n"
               if dataset["synthetic"] else "")
    versions = ", ".join(f"{name} {version}" for name, version in package_versions().items())
    entries = [*SECTIONS.items(), CLOSING]
    contents = "\n".join(f"{i}. [{title}](#{name})" for i, (name, title) in enumerate(entries, start=1))
    mean, scheme = headline["mean"], metrics["scheme"]
    return f"""<a id="top"></a>

# Speech emotion recognition: who speaks, and how do they feel?
{warning}
**Corpus:** {dataset['label']}  
**Headline** (the best model under the speaker-independent protocol, {headline['model']}: mean ± std over
{headline['n_folds']} folds, each tested on actors never heard in training):
UAR **{mean['uar']:.3f} ± {headline['std']['uar']:.3f}** on {len(scheme['classes'])} classes
(chance {scheme['chance']:.3f}){_gender_emotion_figures(mean)}.

{markdown_table(leaderboard(metrics["runs"]))}

*speaker* = leave-actors-out folds (no actor in both train and test); *speaker-norm* = the same folds with
features normalised per speaker over that speaker's unlabelled clips (needs several clips of a new voice, so
never the headline); *random* = the seed's per-clip split (same speakers in train and test, which overstates
accuracy).

**Generated** {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · dataset `{dataset_name}` · git commit `{git_commit()}`  
**Versions:** {versions}

## Contents
{contents}
"""


def results_and_limitations(metrics: dict) -> str:
    """Markdown of the closing section, every figure and direction read from ``metrics.json``."""
    headline, dataset, scheme = metrics["headline"], metrics["dataset"], metrics["scheme"]
    mean, std = headline["mean"], headline["std"]
    strict = sorted((s for s in metrics["runs"] if s["protocol"] == "speaker"), key=lambda s: -s["mean"]["uar"])
    ranking = " > ".join(f"{s['model']} {s['mean']['uar']:.3f}" for s in strict)
    spread = 100 * max(s["std"]["uar"] for s in strict)
    lead = (f"It leads the next model, {strict[1]['model']}, by {100 * (mean['uar'] - strict[1]['mean']['uar']):.1f} "
            f"points; differences smaller than the spread over folds (up to ±{spread:.1f} points here) are not "
            "reliable." if len(strict) > 1 else "")
    calibration = headline.get("calibration")
    calibrated = (f"\n\n**Calibration.** Its probabilities are off by {calibration['ece']:.3f} on average (expected "
                  f"calibration error over all test folds; {calibration['ece_uncalibrated']:.3f} before temperature "
                  f"scaling on validation actors): {_reading(calibration['ece'])}" if calibration else "")
    return f"""<a id="{CLOSING[0]}"></a>

---

# {CLOSING[1]}

**What worked.** {headline['model']} recognised the {len(scheme['classes'])} classes at UAR **{mean['uar']:.3f} ±
{std['uar']:.3f}** over {headline['n_folds']} folds of speakers it never heard (chance
{scheme['chance']:.3f}){_gender_emotion_figures(mean)}.

**Which models beat which** (speaker-independent, mean UAR): {ranking}. {lead}

**The protocol gap.** {protocol_gap(metrics['runs'], headline['model'])}{calibrated}

**How far to trust these figures.** {_limits(dataset, headline)}

{BACK_TO_TOP}
"""


def _reading(ece: float) -> str:
    """How to read probabilities with this expected calibration error."""
    if ece <= 0.05:
        return "the radar chart's values can be read as probabilities."
    return "read the radar chart's values as scores that rank the classes, not as probabilities."


def _limits(dataset: dict, headline: dict) -> str:
    """What the figures cannot show, for the corpus they come from."""
    if dataset["synthetic"]:
        return ("The corpus is synthetic: eSpeak NG voices whose emotions are rules applied to loudness, tempo and "
                "pitch. The figures show that every stage runs and what each stage does; they say nothing about "
                "recognising emotion in people. `make report RAVDESS_DIR=...` produces the real figures.")
    actors = f"{dataset['n_actors']} actors" if "n_actors" in dataset else "its actors"
    return (f"RAVDESS is acted emotion: {actors} (of RAVDESS's 24) reading two fixed sentences in North-American "
            "English in a studio. Spontaneous speech, other languages and accents, noisy rooms and phone microphones "
            f"are outside it, and {headline['n_folds']} folds of a few speakers each make the spread over folds as "
            "large as some differences between models.")


def report_cells(cells: list, *, presentation: bool) -> list:
    """The cells of one executed notebook that the report shows.

    The parameters in effect only: papermill's injected cell replaces the notebook's default
    one. The presentation version also leaves out cells tagged ``plumbing`` (saving files).
    """
    tags = [set(cell.get("metadata", {}).get("tags", [])) for cell in cells]
    injected = any("injected-parameters" in cell_tags for cell_tags in tags)
    return [cell for cell, cell_tags in zip(cells, tags)
            if not (injected and "parameters" in cell_tags) and not (presentation and "plumbing" in cell_tags)]


def merge_notebooks(notebook_dir: str | Path, metrics: dict, *, dataset_name: str,
                    presentation: bool = False) -> nbformat.NotebookNode:
    """One notebook: the title page, then each executed notebook under an anchored section heading, then the
    closing section (see :func:`report_cells` for what each notebook contributes)."""
    notebook_dir = Path(notebook_dir)
    merged = nbformat.v4.new_notebook()
    merged.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                       "language_info": {"name": "python"}}
    merged.cells.append(nbformat.v4.new_markdown_cell(title_page(metrics, dataset_name=dataset_name)))
    for name, title in SECTIONS.items():
        path = notebook_dir / f"{name}.ipynb"
        if not path.exists():
            raise FileNotFoundError(f"{path}: missing executed notebook; run `make report` to execute it")
        merged.cells.append(nbformat.v4.new_markdown_cell(f'<a id="{name}"></a>\n\n---'))
        merged.cells.extend(report_cells(nbformat.read(path, as_version=4).cells, presentation=presentation))
        merged.cells.append(nbformat.v4.new_markdown_cell(BACK_TO_TOP))
    merged.cells.append(nbformat.v4.new_markdown_cell(results_and_limitations(metrics)))
    for number, cell in enumerate(merged.cells):
        cell["id"] = f"cell-{number}"
    return redact_paths(merged, metrics["dataset"].get("path"))


def redact_paths(book: nbformat.NotebookNode, corpus_path: str | None) -> nbformat.NotebookNode:
    """Replace this machine's folders (the corpus, the project) by short names in every cell and text output:
    a shared report must not carry the user's directory layout."""
    replacements = [(str(config.PROJECT_ROOT), ".")]
    if corpus_path:
        replacements.insert(0, (str(corpus_path), f".../{Path(corpus_path).name}"))

    def clean(text):
        for folder, name in replacements:
            text = text.replace(folder, name)
        return text

    for cell in book.cells:
        cell.source = clean(cell.source)
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = clean(output["text"])
            for kind in ("text/plain", "text/html", "text/markdown"):
                if kind in output.get("data", {}):
                    output["data"][kind] = clean(output["data"][kind])
    return book


def build_report(notebook_dir: str | Path, *, dataset_name: str, hide_code: bool = False,
                 output: str | Path | None = None) -> Path:
    """Write ``report.html`` (or ``report-presentation.html`` with code hidden) into ``notebook_dir``."""
    notebook_dir = Path(notebook_dir)
    metrics = read_json(notebook_dir / config.METRICS_FILE)
    merged = merge_notebooks(notebook_dir, metrics, dataset_name=dataset_name, presentation=hide_code)
    exporter = HTMLExporter(template_name="lab", template_file="offline.html.j2",
                            extra_loaders=[DictLoader({"offline.html.j2": OFFLINE_TEMPLATE})],
                            exclude_input=hide_code, exclude_input_prompt=hide_code, exclude_output_prompt=hide_code)
    exporter.register_preprocessor(DropStderr, enabled=True)
    body, _ = exporter.from_notebook_node(merged, resources={"metadata": {"name": "Speech emotion recognition report"}})
    output = Path(output or notebook_dir / ("report-presentation.html" if hide_code else "report.html"))
    with atomic_path(output) as tmp:
        tmp.write_text(body, encoding="utf-8")
    return output
