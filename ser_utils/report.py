"""One self-contained HTML report from the executed notebooks: a first page, contents with sub-sections, numbered
figures with captions and alternative text, a closing section, a glossary and a footer (words in
:mod:`.report_text`)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor

from . import config, report_text
from .storage import atomic_path, read_json

SECTIONS = {
    "01_data_labelling": "Data labelling",
    "02_mfcc_exploration": "MFCC exploration",
    "03_training": "Training",
    "04_evaluation": "Evaluation",
    "05_prediction": "Prediction",
}
CLOSING = ("results", "Results and limitations")
GLOSSARY_SECTION = ("glossary", "Glossary")
BACK_TO_TOP = "[↑ back to the top](#top)"
#: A Markdown heading of the second level (a notebook's sub-section).
SUB_HEADING = re.compile(r"^## +(.+?)\s*$", re.M)
#: Comment lines that only the test harness reads (nbval's markers and the note under them).
HARNESS_COMMENT = re.compile(r"^# (NBVAL_\w+|\(`make test`.*)\n", re.M)
#: JupyterLab's page without the scripts it fetches from a CDN (require.js, MathJax, Mermaid): the report holds no
#: widget, formula or diagram, and it is read offline, in class, where those requests fail or wait. Each figure is
#: shown with its number, its title as caption and its description as alternative text (``plots.use_style``).
OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block data_png scoped -%}
{%- set number = output.metadata.get('figure_number') -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<figure style="margin: 0">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
 alt="{{ ((output | get_metadata('alt', 'image/png')) or ('Figure %s' % number)) | escape_html }}">
<figcaption style="font-family: var(--jp-content-font-family); font-size: 15px; margin: 0.3em 0 1em">
<strong>Figure {{ number }}.</strong> {{ ((output | get_metadata('title', 'image/png')) or '') | escape_html }}
</figcaption>
</figure>
</div>
{%- endblock data_png -%}
"""


class DropStderr(Preprocessor):
    """Remove stderr streams (progress bars, library warnings) from the report."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
        return cell, resources


class ForReaders(Preprocessor):
    """What a reader needs of each code cell: no test-harness comments, and every figure numbered through the
    report (the number its caption and the text cite)."""

    def preprocess(self, nb, resources):
        figures = 0
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            cell.source = HARNESS_COMMENT.sub("", cell.source)
            for output in cell.outputs:
                if "image/png" in output.get("data", {}):
                    figures += 1
                    output.metadata["figure_number"] = figures
        return nb, resources


def anchor_sub_sections(cells: list, section: str) -> list[tuple[str, str]]:
    """Give each sub-section heading of one notebook's markdown cells an anchor; return (anchor, title) pairs."""
    found = []

    def anchored(match):
        anchor = f"{section}-{len(found) + 1}"
        found.append((anchor, match.group(1)))
        return f'<a id="{anchor}"></a>\n\n{match.group(0)}'

    for cell in cells:
        if cell.cell_type == "markdown":
            cell.source = SUB_HEADING.sub(anchored, cell.source)
    return found


def contents(entries: list[tuple[str, str, list[tuple[str, str]]]]) -> str:
    """Markdown of the contents: each section with its sub-sections."""
    lines = ["## Contents", ""]
    for number, (anchor, title, subs) in enumerate(entries, start=1):
        lines.append(f"{number}. [{title}](#{anchor})")
        lines += [f"    - [{sub_title}](#{sub_anchor})" for sub_anchor, sub_title in subs]
    return "\n".join(lines)


def number_for_readers(cells: list) -> list:
    """Number the code cells 1, 2, ... as a reader counts the ones shown (papermill's parameters cell is hidden,
    and a cell numbered 2 first would send the reader looking for the first)."""
    for number, cell in enumerate((c for c in cells if c.cell_type == "code"), start=1):
        cell.execution_count = number
        for output in cell.outputs:
            if "execution_count" in output:
                output.execution_count = number
    return cells


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
    """One notebook: the first page and contents, then each executed notebook under an anchored section heading
    (see :func:`report_cells` for what each contributes), the closing section, the glossary and the footer."""
    notebook_dir = Path(notebook_dir)
    sections, entries = [], []
    for name, title in SECTIONS.items():
        path = notebook_dir / f"{name}.ipynb"
        if not path.exists():
            raise FileNotFoundError(f"{path}: missing executed notebook; run `make report` to execute it")
        cells = number_for_readers(report_cells(nbformat.read(path, as_version=4).cells, presentation=presentation))
        entries.append((name, title, anchor_sub_sections(cells, name)))
        sections += [nbformat.v4.new_markdown_cell(f'<a id="{name}"></a>\n\n---'), *cells,
                     nbformat.v4.new_markdown_cell(BACK_TO_TOP)]
    entries += [(*CLOSING, []), (*GLOSSARY_SECTION, [])]
    closing = f'<a id="{CLOSING[0]}"></a>\n\n---\n\n' + report_text.results_and_limitations(metrics, heading=CLOSING[1])
    merged = nbformat.v4.new_notebook()
    merged.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                       "language_info": {"name": "python"}}
    merged.cells = [nbformat.v4.new_markdown_cell(report_text.title_page(metrics) + "\n" + contents(entries)),
                    *sections,
                    *(nbformat.v4.new_markdown_cell(text) for text in (
                        closing, report_text.glossary(), BACK_TO_TOP, report_text.about(dataset_name)))]
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
    exporter.register_preprocessor(ForReaders, enabled=True)
    body, _ = exporter.from_notebook_node(merged, resources={"metadata": {"name": "Speech emotion recognition report"}})
    output = Path(output or notebook_dir / ("report-presentation.html" if hide_code else "report.html"))
    with atomic_path(output) as tmp:
        tmp.write_text(body, encoding="utf-8")
    return output
