"""The whole corpus's shape: 24 actors, as a user with the full RAVDESS speech corpus has them.

No test here needs real data: the layout is made of the synthetic mini corpus's clips, hard-linked under
the names of all 24 RAVDESS actors (odd actors from a male voice, even from a female one).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ser_utils import config, corpus, datasets, protocols

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def full_layout(source: Path, target: Path, actors=config.RAVDESS_ACTORS) -> Path:
    """``target`` holding ``Actor_01``..``Actor_24``, each a renamed copy (hard links) of a same-gender source actor."""
    sources = {parity: sorted((source / f"Actor_{first:02d}").glob("*.wav")) for parity, first in ((1, 1), (0, 2))}
    for actor in actors:
        folder = target / f"Actor_{actor:02d}"
        folder.mkdir(parents=True)
        for clip in sources[actor % 2]:
            os.link(clip, folder / re.sub(r"-\d\d\.wav$", f"-{actor:02d}.wav", clip.name))
    return target


@pytest.fixture(scope="module")
def corpus_24(mini_corpus, tmp_path_factory) -> Path:
    """The 24-actor RAVDESS layout (1440 speech clips, 60 per actor)."""
    return full_layout(mini_corpus, tmp_path_factory.mktemp("ravdess24"))


def test_every_one_of_the_24_actors_is_read(corpus_24):
    clips, rejected = corpus.scan_corpus(corpus_24)
    assert not rejected
    assert sorted(clips["actor"].unique()) == list(range(1, 25))
    assert len(clips) == 1440 and clips["emotion"].nunique() == 8
    labelled = corpus.apply_label_scheme(clips, "gender_emotion5")
    assert len(labelled) == 960 and labelled["label"].value_counts().eq(96).all()


def test_the_speaker_folds_of_24_actors_are_6_of_2_female_and_2_male(corpus_24):
    table = corpus.build_labels_table(corpus_24)
    folds = protocols.make_folds(table, "speaker", n_folds=6)
    assert len(folds) == 6
    tested = []
    for train_index, test_index in folds:
        test = table.iloc[test_index]
        assert test.groupby("gender")["actor"].nunique().to_dict() == {"female": 2, "male": 2}
        assert not set(test["actor"]) & set(table.iloc[train_index]["actor"])
        tested += list(test["actor"].unique())
    assert sorted(tested) == list(range(1, 25))


def test_actors_outside_ravdess_are_left_out_by_name(corpus_24, tmp_path):
    stray = tmp_path / "Actor_25" / "03-01-05-01-01-01-25.wav"
    stray.parent.mkdir()
    os.link(next((corpus_24 / "Actor_01").glob("*.wav")), stray)
    (tmp_path / "Actor_24").symlink_to(corpus_24 / "Actor_24", target_is_directory=True)
    with pytest.warns(UserWarning, match="skipped 1 file"):
        clips, rejected = corpus.scan_corpus(tmp_path)
    assert set(clips["actor"]) == {24}
    assert [reason for _, reason in rejected] == ["03-01-05-01-01-01-25.wav: actor 25 is outside RAVDESS's 01-24"]


def test_linked_actor_folders_are_read_and_counted_and_loops_are_not_followed(corpus_24, tmp_path):
    for actor in (1, 2, 3, 4):
        (tmp_path / f"Actor_{actor:02d}").symlink_to(corpus_24 / f"Actor_{actor:02d}", target_is_directory=True)
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    with pytest.warns(UserWarning, match="already read"):
        clips, rejected = corpus.scan_corpus(tmp_path)
    assert sorted(clips["actor"].unique()) == [1, 2, 3, 4] and len(clips) == 240
    assert len(rejected) == 1
    caption = datasets.Dataset("ravdess", tmp_path, synthetic=False).counted(clips).label
    assert caption.startswith("RAVDESS speech (4 actors,")


def test_a_folder_that_cannot_be_listed_is_reported_and_the_rest_read(corpus_24, tmp_path, monkeypatch):
    for actor in (1, 2, 3, 4, 5):
        (tmp_path / f"Actor_{actor:02d}").symlink_to(corpus_24 / f"Actor_{actor:02d}", target_is_directory=True)
    real_scandir = os.scandir
    locked = str(tmp_path / "Actor_05")

    def scandir(path="."):  # tests run as root, who can list a mode-000 folder
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.warns(UserWarning, match="Permission denied"):
        clips, rejected = corpus.scan_corpus(tmp_path)
    assert sorted(clips["actor"].unique()) == [1, 2, 3, 4]
    assert [path.name for path, _ in rejected] == ["Actor_05"]


def test_notebook_01_keeps_all_24_actors_and_its_caption_counts_them(corpus_24, tmp_path):
    """Notebook 01 as `make report RAVDESS_DIR=<24 actors>` runs it: labels, sidecar and caption count 24 actors.

    One clip is an empty file: the one the notebook plays first (and 02 and 03 draw). It is left out with its reason
    when the clips are read, so the notebook goes on and no later notebook, fold or count holds it.
    """
    layout = tmp_path / "corpus"
    for actor in corpus_24.iterdir():
        (layout / actor.name).mkdir(parents=True)
        for clip in actor.iterdir():
            os.link(clip, layout / actor.name / clip.name)
    broken = layout / "Actor_01" / "03-01-02-02-01-01-01.wav"
    broken.unlink()  # a new, empty file: the linked clip stays whole for the other tests
    broken.write_bytes(b"")
    environment = os.environ | {"SER_OUTPUT_DIR": str(tmp_path), "TQDM_DISABLE": "1"}
    subprocess.run([sys.executable, "-m", "papermill", "--kernel", "python3", "--cwd", str(NOTEBOOKS),
                    "--no-progress-bar", "--log-level", "ERROR", "-p", "DATASET", "ravdess", "-p", "DATA_DIR",
                    str(layout), str(NOTEBOOKS / "01_data_labelling.ipynb"), str(tmp_path / "01.ipynb")],
                   check=True, env=environment, capture_output=True)
    labels = tmp_path / "data" / "interim" / "ravdess-labels.csv"
    sidecar = json.loads(labels.with_suffix(".json").read_text())
    assert (sidecar["n_actors"], sidecar["n_clips"]) == (24, 959)
    assert (sidecar["dataset"]["n_actors"], sidecar["dataset"]["n_clips"]) == (24, 959)
    assert sidecar["dataset"]["label"].startswith("RAVDESS speech (24 actors,")
    table, _ = corpus.load_labels(labels)
    assert sorted(table["actor"].unique()) == list(range(1, 25)) and broken.name not in set(table["filename"])
    assert f"left out: {broken}: empty file (0 bytes)" in (tmp_path / "01.ipynb").read_text()
