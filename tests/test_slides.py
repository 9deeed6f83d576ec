"""`make slides`: a reveal.js deck of the report, one idea per slide, offline, checked in a real browser."""

import re

import nbformat

from ser_utils import report, slides


def slide_cells(deck):
    """The deck's cells grouped into slides (a slide starts at each cell tagged "slide")."""
    grouped = []
    for cell in deck.cells:
        if cell.metadata["slideshow"]["slide_type"] == "slide":
            grouped.append([])
        grouped[-1].append(cell)
    return grouped


def test_the_deck_has_one_idea_per_slide(executed):
    deck = slides.deck_notebook(executed, slides.read_json(executed / "metrics.json"))
    grouped = slide_cells(deck)
    texts = ["\n".join(cell.source for cell in group if cell.cell_type == "markdown") for group in grouped]
    assert texts[0].startswith("# Speech emotion recognition") and "Synthetic corpus" in texts[0]
    assert "## The task, the data, the test" in texts[1] and "recognises **50 %**" in texts[2]
    assert "| compare_lr | 0.450 ± 0.040 |" in texts[3]
    for name in report.SECTIONS:  # each notebook: its title, then its figure under its sub-section
        title = texts.index(f"# Section {name}")
        assert texts[title + 1] == f"## Part one of {name}"
        figure = [cell for cell in grouped[title + 1] if cell.cell_type == "code"]
        assert len(figure) == 1 and [o.output_type for o in figure[0].outputs] == ["display_data"]
    assert texts[-1].startswith("# Results and limitations") and "The corpus is synthetic" in texts[-1]
    shown = nbformat.writes(deck)
    assert "output of" not in shown and "Save the files" not in shown  # printed lines and plumbing stay out


def test_the_deck_is_written_with_reveal_js_beside_it(executed):
    deck = slides.build_slides(executed)
    html = deck.read_text()
    for name in slides.REVEAL_FILES:
        assert (deck.parent / slides.REVEAL_FOLDER / name).is_file(), name
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html), "the deck fetches from the network"
    assert str(executed) not in html


def test_the_deck_works_offline_in_a_browser_with_text_a_room_can_read(executed, launch_browser):
    deck = slides.build_slides(executed)
    expected_slides = len(slide_cells(slides.deck_notebook(executed, slides.read_json(executed / "metrics.json"))))
    page = launch_browser().new_page(viewport={"width": 1280, "height": 720})
    failed, outside = [], []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(("file:", "data:"))
            else None)
    page.goto(deck.as_uri())
    page.wait_for_function("window.Reveal && Reveal.isReady()")
    assert page.evaluate("Reveal.getTotalSlides()") == expected_slides
    smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('.reveal .slides *')]
        .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
        .map(e => parseFloat(getComputedStyle(e).fontSize)))""")
    images = page.evaluate("[...document.querySelectorAll('.reveal .slides img')].map(i => i.naturalWidth)")
    page.close()
    assert not failed and not outside, (failed, outside)
    assert smallest >= 22, f"text of {smallest} px on a slide"
    assert len(images) == len(report.SECTIONS) and all(images)
