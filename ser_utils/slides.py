"""The report as slides a teacher projects: a reveal.js deck built from the executed notebooks, offline.

One idea per slide: the deck opens with the task and the headline, then gives each notebook a slide with its key
takeaway, and each figure (and each set of audio players) a slide of its own under the sub-section it illustrates;
prose paragraphs, code, printed lines and wide tables stay in the report. The cells are tagged for nbconvert's
slides exporter (``slideshow.slide_type``), and reveal.js's files are copied next to the deck from the installed
``sphinx-revealjs`` wheel (MIT licence, installed without Sphinx and never imported), so the deck needs no network.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbconvert import SlidesExporter

from . import config, report_text
from .report import CLOSING, SECTIONS, SUB_HEADING, redact_paths, report_cells
from .storage import atomic_path, read_json

#: reveal.js's files the deck loads, inside the sphinx-revealjs package (the white theme's font is local).
REVEAL_FILES = ("LICENSE", "dist/reveal.js", "dist/reveal.css", "dist/theme/white.css",
                "dist/theme/fonts/source-sans-pro/source-sans-pro.css",
                "dist/theme/fonts/source-sans-pro/LICENSE",
                *(f"dist/theme/fonts/source-sans-pro/source-sans-pro-{face}.woff"
                  for face in ("regular", "italic", "semibold", "semibolditalic")))
#: Where the deck's folder keeps them, relative to the deck.
REVEAL_FOLDER = "reveal.js"
#: A projector's slide: 1280 × 720 logical pixels, text no smaller than 22 px at that size.
WIDTH, HEIGHT = 1280, 720

#: nbconvert's reveal page, offline: no jQuery, require.js, MathJax or Mermaid from a CDN; reveal.js from the deck's
#: folder; text sized for a projector.
DECK_TEMPLATE = """{%- extends 'reveal/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block notebook_css -%}
{{ super() }}
<style>
.reveal .slides section .jp-RenderedHTMLCommon { font-size: 30px; line-height: 1.35; }
.reveal .slides section .jp-RenderedHTMLCommon h1 { font-size: 50px; margin-bottom: 0.5em; }
.reveal .slides section .jp-RenderedHTMLCommon h2 { font-size: 40px; margin-bottom: 0.4em; }
.reveal .slides section .jp-RenderedHTMLCommon table { font-size: 24px; margin: 0.5em auto; }
.reveal .slides section .jp-RenderedHTMLCommon blockquote { font-size: 28px; }
.reveal .slides section .jp-OutputArea-output pre { font-size: 22px; }
.reveal .slides section img { height: 560px; max-width: 100%; object-fit: contain; margin: 0 auto; display: block; }
.reveal .slides section audio { margin: 0.2em; }
</style>
{%- endblock notebook_css -%}
{%- block footer_js -%}
<script src="{{ resources.reveal.url_prefix }}/dist/reveal.js"></script>
<script>
Reveal.initialize({controls: true, progress: true, hash: true, slideNumber: "c/t", transition: "none",
                   width: {{ resources.reveal.width }}, height: {{ resources.reveal.height }}, margin: 0.04});
</script>
{%- endblock footer_js -%}
"""


def reveal_source() -> Path:
    """The folder of reveal.js's files inside the installed sphinx-revealjs package (found without importing it:
    its package imports Sphinx, which is not installed)."""
    spec = importlib.util.find_spec("sphinx_revealjs")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("sphinx-revealjs is not installed (it ships reveal.js): run `make venv`")
    return Path(next(iter(spec.submodule_search_locations))) / "_static" / "revealjs"


def copy_reveal(destination: Path) -> None:
    """Copy reveal.js's files that the deck loads into ``destination``."""
    source = reveal_source()
    for name in REVEAL_FILES:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, target)


def _slide(source: str, kind: str = "slide") -> nbformat.NotebookNode:
    """A markdown cell that starts a slide (or, with ``kind="-"``, continues one)."""
    return nbformat.v4.new_markdown_cell(source, metadata={"slideshow": {"slide_type": kind}})


def key_takeaway(cells: list) -> tuple[str, str]:
    """(title, key takeaway) from a notebook's first markdown cell: its ``#`` heading and its takeaway quote."""
    first = next(cell.source for cell in cells if cell.cell_type == "markdown")
    title = re.search(r"^# +(.+)$", first, re.M)
    takeaway = re.search(r"^> *\*\*Key takeaway\.\*\* *(.+)$", first, re.M)
    return (title.group(1) if title else "", takeaway.group(1) if takeaway else "")


def slide_outputs(cell) -> list[list]:
    """The outputs of a code cell that make slides: each figure alone, or its audio players with the lines that
    name them; nothing for printed lines or tables alone."""
    figures = [[output] for output in cell.outputs if "image/png" in output.get("data", {})]
    if figures:
        return figures
    players = [output for output in cell.outputs if "<audio" in output.get("data", {}).get("text/html", "")]
    names = [output for output in cell.outputs if output.get("output_type") == "stream" and output.name == "stdout"]
    return [names + players] if players else []


def section_slides(cells: list, number: int) -> list:
    """One notebook's slides: its title and key takeaway, then one slide per figure (or set of audio players),
    headed by the sub-section it belongs to."""
    title, takeaway = key_takeaway(cells)
    slides = [_slide(f"# {title}\n\n> {takeaway}" if takeaway else f"# {title}")]
    heading, shown_under_heading = f"{number:02d}", 0
    for cell in cells:
        if cell.cell_type == "markdown" and SUB_HEADING.search(cell.source):
            heading, shown_under_heading = SUB_HEADING.findall(cell.source)[-1], 0
        for outputs in slide_outputs(cell) if cell.cell_type == "code" else []:
            shown_under_heading += 1
            slides.append(_slide(f"## {heading}" + (f" ({shown_under_heading})" if shown_under_heading > 1 else "")))
            slides.append(nbformat.v4.new_code_cell("", metadata={"slideshow": {"slide_type": "-"}}, outputs=outputs))
    return slides


def deck_notebook(notebook_dir: Path, metrics: dict) -> nbformat.NotebookNode:
    """The deck as a notebook of slide-tagged cells, from the executed notebooks and ``metrics.json``."""
    headline, dataset = metrics["headline"], metrics["dataset"]
    cells = [_slide(f"# Speech emotion recognition: who speaks, and how do they feel?\n\n"
                    f"{report_text.synthetic_warning(dataset)}"),
             _slide(f"## The task, the data, the test\n\n{report_text.introduction(metrics)}"),
             _slide(f"## The result\n\n{report_text.headline_sentence(metrics)}"),
             _slide(f"## Key models at a glance\n\n{report_text.overview_table(metrics)}")]
    for number, name in enumerate(SECTIONS, start=1):
        path = notebook_dir / f"{name}.ipynb"
        if not path.exists():
            raise FileNotFoundError(f"{path}: missing executed notebook; run `make report` to execute it")
        cells += section_slides(report_cells(nbformat.read(path, as_version=4).cells, presentation=True), number)
    cells.append(_slide(f"# {CLOSING[1]}\n\n{report_text.headline_sentence(metrics)}\n\n"
                        f"{report_text.limits(dataset, headline)}"))
    deck = nbformat.v4.new_notebook(cells=cells)
    deck.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "language_info": {"name": "python"}}
    for number, cell in enumerate(deck.cells):
        cell["id"] = f"slide-cell-{number}"
    return redact_paths(deck, dataset.get("path"))


def build_slides(notebook_dir: str | Path, *, output_dir: str | Path | None = None) -> Path:
    """Write ``slides/slides.html`` and reveal.js's files beside it into ``notebook_dir`` (or ``output_dir``), and the
    same deck as ``slides.ipynb``, which JupyterLab presents live with RISE (its /rise/ address, or Alt+R)."""
    notebook_dir = Path(notebook_dir)
    output_dir = Path(output_dir or notebook_dir / "slides")
    deck = deck_notebook(notebook_dir, read_json(notebook_dir / config.METRICS_FILE))
    exporter = SlidesExporter(template_file="deck.html.j2", extra_loaders=[DictLoader({"deck.html.j2": DECK_TEMPLATE})],
                              exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                              reveal_url_prefix=REVEAL_FOLDER, reveal_theme="white", reveal_width=str(WIDTH), reveal_height=str(HEIGHT))
    body, _ = exporter.from_notebook_node(deck, resources={"metadata": {"name": "Speech emotion recognition"}})
    copy_reveal(output_dir / REVEAL_FOLDER)
    deck.metadata["rise"] = {"width": WIDTH, "height": HEIGHT, "theme": "white", "transition": "none"}
    with atomic_path(output_dir / "slides.ipynb") as tmp:
        nbformat.write(deck, tmp)
    output = output_dir / "slides.html"
    with atomic_path(output) as tmp:
        tmp.write_text(body, encoding="utf-8")
    return output
