"""Notebook 06 live in JupyterLab: the corpus explorer and the record button, down to a real browser."""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import numpy as np
import pytest
import soundfile as sf

from ser_utils import config, corpus, explorer, prediction, slides, training

NOTEBOOK = config.PROJECT_ROOT / "notebooks" / "06_live.ipynb"


@pytest.fixture(scope="module")
def output_root(mini_table, tmp_path_factory):
    """A `make report` output folder (SER_OUTPUT_DIR) with the mini corpus's labels and an SVM run of 2 folds."""
    root = tmp_path_factory.mktemp("live_output")
    with pytest.MonkeyPatch.context() as patch:
        for name, folder in {"INTERIM_DIR": "data/interim", "MODELS_DIR": "models", "REPORTS_DIR": "reports"}.items():
            patch.setattr(config, name, root / folder)
        dataset = {"name": "synthetic", "synthetic": True, "label": "SYNTHETIC corpus (mini, 4 speakers)"}
        corpus.save_labels(mini_table, config.labels_path("synthetic"), scheme="gender_emotion5", dataset=dataset)
        training.train_and_save(mini_table, dataset=dataset, plan={"svm": ("speaker",)}, n_folds=2, progress=False)
        yield root


@pytest.fixture
def live(output_root, monkeypatch):
    """The SVM run of :func:`output_root`, loaded as notebook 06 loads it."""
    for name, folder in {"INTERIM_DIR": "data/interim", "MODELS_DIR": "models", "REPORTS_DIR": "reports"}.items():
        monkeypatch.setattr(config, name, output_root / folder)
    return explorer.LiveModels.load("synthetic", "svm")


def test_a_corpus_clip_is_answered_by_a_model_that_never_heard_its_actor_or_says_otherwise(live, mini_table):
    for actor in sorted(mini_table["actor"].unique()):
        model, which = live.for_actor(actor)
        if actor in live.unseen_actors:
            assert model is live.first_fold and "never heard" in which
        else:
            assert model is live.delivered and "heard actor" in which and "flatters" in which
    assert live.unseen_actors and set(live.unseen_actors) < set(mini_table["actor"])


def test_the_explorer_shows_the_chosen_clip_and_says_when_no_clip_matches(live, mini_table, capsys):
    view = explorer.clip_explorer(mini_table, live)
    choosers = {child.description: child for row in view.children[:2] for child in row.children}
    assert set(choosers) == {"actor", "emotion", "intensity", "statement", "repetition"}
    shown = capsys.readouterr().out  # outside a kernel, the view prints here
    first = mini_table.sort_values(["actor", "emotion", "intensity", "statement", "repetition"]).iloc[0]
    assert f"{first['filename']}: actor {first['actor']}" in shown and "answer: " in shown
    choosers["emotion"].value = "sad"
    assert "sad" in capsys.readouterr().out


def test_a_recording_is_answered_as_ser_predict_answers_a_file_or_refused_with_the_reason(live, mini_table, capsys):
    clip = mini_table.iloc[0]
    samples, rate = sf.read(clip["path"], dtype="float32")
    status = explorer.answer_recording(live.delivered, samples.astype("<f4").tobytes(), rate, "caption")
    expected = prediction.predict_file(live.delivered, clip["path"])
    assert status == f"answered: {expected.label}" and f"answer: {expected.describe()}" in capsys.readouterr().out
    silence = np.zeros(rate * 3, dtype="<f4").tobytes()
    assert explorer.answer_recording(live.delivered, silence, rate, "caption") == "not answered: see below"
    assert "this recording cannot be used: " in capsys.readouterr().out


def test_a_recording_is_written_as_the_samples_the_browser_sent(tmp_path):
    samples = (0.5 * np.sin(np.linspace(0, 2000, 48000))).astype("<f4")
    path = explorer.recording_to_wav(samples.tobytes(), 48000, tmp_path)
    written, rate = sf.read(path, dtype="float32")
    assert rate == 48000 and np.allclose(written, samples, atol=1e-4)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(output_root, tmp_path_factory):
    """JupyterLab on a free local port (one server for the module's browser tests), serving a copy of notebook 06
    set to the SVM run of :func:`output_root`; yields (its address, its token, the folder it serves)."""
    tmp_path = tmp_path_factory.mktemp("jupyterlab")
    book = nbformat.read(NOTEBOOK, as_version=4)
    parameters = next(cell for cell in book.cells if "parameters" in cell.metadata.get("tags", []))
    parameters.source = 'DATASET = "synthetic"\nMODEL = "svm"\nPROTOCOL = "speaker"\nRECORD_SECONDS = 3.0'
    served = tmp_path / "served"
    served.mkdir()
    nbformat.write(book, served / NOTEBOOK.name)
    port, token = _free_port(), "live-test"
    environment = os.environ | {"SER_OUTPUT_DIR": str(output_root), "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
                                "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
                                "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    server = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
                               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", "--allow-root",
                               f"--ServerApp.root_dir={served}"], env=environment,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{address}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within 60 s")
        yield address, token, served
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_in_jupyterlab_the_explorer_plays_clips_and_the_record_button_answers_a_recording(
        jupyterlab, launch_browser, mini_table):
    spoken = mini_table[mini_table["intensity"] == "strong"].iloc[0]  # a RAVDESS-named clip of the built-in corpus
    chromium = launch_browser("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                              f"--use-file-for-fake-audio-capture={spoken['path']}",
                              "--autoplay-policy=no-user-gesture-required")
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    address, token, _ = jupyterlab
    page.goto(f"{address}/lab/tree/{NOTEBOOK.name}?token={token}")
    page.wait_for_selector("text=Python (ser-report) | Idle", timeout=60_000)  # the kernel is up
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()

    player = page.wait_for_selector(".jp-OutputArea audio", timeout=90_000)
    played = page.evaluate("""async audio => { await audio.play(); await new Promise(r => setTimeout(r, 700));
                              const at = audio.currentTime; audio.pause(); return [audio.duration, at]; }""", player)
    assert played[0] > 1 and played[1] > 0, f"the clip did not play (duration, position reached): {played}"
    page.wait_for_selector("text=answer: ", timeout=30_000)

    page.click("button.ser-record")
    page.wait_for_selector(".ser-record-status:has-text('answered')", timeout=90_000)
    status = page.inner_text(".ser-record-status")
    answers = [line for line in page.inner_text(".jp-Notebook").splitlines() if line.startswith("answer: ")]
    page.close()
    answered = status.removeprefix("answered: ")
    assert answered in set(mini_table["label"].astype(str)), status
    assert answered.startswith(spoken["gender"]), f"{spoken['filename']} ({spoken['label']}) answered {answered}"
    assert len(answers) == 2 and answers[1].startswith(f"answer: {answered} (")  # the explorer's clip, then yours


def test_jupyterlab_presents_the_deck_live_with_rise(jupyterlab, launch_browser, executed):
    address, token, served = jupyterlab
    slides.build_slides(executed, output_dir=served / "deck")
    expected = sum(cell.metadata["slideshow"]["slide_type"] == "slide"
                   for cell in nbformat.read(served / "deck" / "slides.ipynb", as_version=4).cells)
    page = launch_browser().new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{address}/rise/deck/slides.ipynb?token={token}")
    page.wait_for_selector(".reveal .slides > section", timeout=60_000)
    shown = page.evaluate("document.querySelectorAll('.reveal .slides > section').length")
    page.close()
    assert shown == expected
