"""Labelling: the RAVDESS name parser, label schemes, and corpus scanning."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from conftest import SHARED_SAMPLE
from ser_utils import config, corpus
from ser_utils.corpus import RavdessNameError, parse_ravdess_name


def test_parses_every_field_and_gender_from_actor_parity():
    info = parse_ravdess_name("03-01-05-02-01-02-12.wav")
    assert (info.emotion, info.intensity, info.statement, info.repetition, info.actor) == ("angry", "strong", 1, 2, 12)
    assert info.gender == "female"
    assert parse_ravdess_name("03-01-03-01-02-01-07.wav").gender == "male"


@pytest.mark.parametrize(("name", "problem"), [
    ("03-01-05-02-01-02.wav", "seven two-digit fields"),
    ("03-01-05-02-01-02-1x.wav", "seven two-digit fields"),
    ("03-01-09-01-01-01-01.wav", "emotion code 09"),
    ("03-01-01-02-01-01-01.wav", "neutral clips have no strong"),
    ("03-01-05-03-01-01-01.wav", "intensity code 03"),
    ("03-01-05-01-03-01-01.wav", "statement code 03"),
    ("03-01-05-01-01-01-25.wav", "actor 25"),
    ("01-01-05-01-01-01-01.wav", "not audio-only"),
    ("03-01-05-01-01-01-01.txt", "not an audio file"),
])
def test_malformed_names_are_rejected_naming_the_file_and_problem(name, problem):
    with pytest.raises(RavdessNameError) as error:
        parse_ravdess_name(name)
    assert name in str(error.value) and problem in str(error.value)


def test_actor_must_match_its_folder(tmp_path):
    with pytest.raises(RavdessNameError, match="does not match its folder Actor_02"):
        parse_ravdess_name(tmp_path / "Actor_02" / "03-01-05-01-01-01-01.wav")


def _table(names):
    rows = [{"path": n, "filename": n, **vars(parse_ravdess_name(n))} for n in names]
    return pd.DataFrame(rows)


ALL_NAMES = [f"03-01-{e:02d}-{i:02d}-01-01-{a:02d}.wav" for e in range(1, 9) for i in (1, 2) for a in (1, 2)
             if not (e == 1 and i == 2)]


@pytest.mark.parametrize(("scheme", "n_classes", "kept"), [
    ("gender_emotion5", 10, 20), ("emotion5", 5, 20), ("gender", 2, 30), ("gender_emotion8", 16, 30),
])
def test_label_schemes_keep_the_right_clips_and_classes(scheme, n_classes, kept):
    labelled = corpus.apply_label_scheme(_table(ALL_NAMES), scheme)
    assert len(labelled) == kept
    assert list(labelled["label"].cat.categories) == list(config.LABEL_SCHEMES[scheme]["classes"])
    assert len(labelled["label"].cat.categories) == n_classes
    assert not labelled["label"].isna().any()


def test_seed_scheme_uses_the_seeds_class_names():
    labelled = corpus.apply_label_scheme(_table(ALL_NAMES), "gender_emotion5")
    assert set(labelled["label"]) == {f"{g}_{e}" for g in ("female", "male")
                                      for e in ("angry", "calm", "fearful", "happy", "sad")}
    assert not labelled["emotion"].isin(["neutral", "disgust", "surprised"]).any()


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="unknown label scheme"):
        corpus.apply_label_scheme(_table(ALL_NAMES), "colours")


def test_scan_skips_and_reports_malformed_names_in_flat_layout(tmp_path):
    for name in ("03-01-05-01-01-01-01.wav", "03-01-04-02-02-01-02.wav", "notes.wav", "03-01-01-02-01-01-01.wav"):
        (tmp_path / name).write_bytes(b"")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table, rejected = corpus.scan_corpus(tmp_path)
    assert list(table["filename"]) == ["03-01-05-01-01-01-01.wav", "03-01-04-02-02-01-02.wav"]
    assert sorted(p.name for p, _ in rejected) == ["03-01-01-02-01-01-01.wav", "notes.wav"]
    assert "notes.wav" in str(caught[0].message)


def test_scan_of_missing_or_empty_directory_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such data directory"):
        corpus.scan_corpus(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="no RAVDESS-named audio files"):
        corpus.scan_corpus(tmp_path)


def test_labels_round_trip_keeps_class_order(tmp_path, mini_table):
    path = corpus.save_labels(mini_table, tmp_path / "labels.csv", scheme="gender_emotion5",
                              dataset={"name": "synthetic", "synthetic": True})
    table, info = corpus.load_labels(path)
    assert list(table["label"].cat.categories) == list(mini_table["label"].cat.categories)
    assert table["label"].tolist() == mini_table["label"].tolist()
    assert info["dataset"]["synthetic"] is True


@pytest.mark.skipif(not SHARED_SAMPLE.exists(), reason="optional: ../shared/ravdess-sample is absent")
def test_real_ravdess_sample_parses_completely():
    n_actors = len(list(SHARED_SAMPLE.glob("Actor_*")))
    table, rejected = corpus.scan_corpus(SHARED_SAMPLE)
    assert len(table) == 60 * n_actors and not rejected  # RAVDESS: 60 speech clips per actor
    labelled = corpus.apply_label_scheme(table)
    assert labelled["label"].value_counts().eq(4 * n_actors).all()  # 4 clips per emotion and actor


def test_label_of_a_single_file():
    assert corpus.label_of("03-01-05-02-01-02-12.wav") == "female_angry"
    assert corpus.label_of("03-01-08-02-01-02-12.wav") is None  # surprised: not in the seed's classes
    assert corpus.label_of("my_voice.wav") is None
    assert corpus.label_of("03-01-08-02-01-02-11.wav", "gender_emotion8") == "male_surprised"


def test_reading_each_clip_leaves_out_unusable_files_and_names_those_used_with_a_warning(mini_table, tmp_path):
    table = mini_table.head(4).copy()
    empty, silent, cut = tmp_path / "empty.wav", tmp_path / "silent.wav", tmp_path / "cut.wav"
    empty.write_bytes(b"")
    sf.write(silent, np.zeros(16000, dtype=np.float32), 16000)
    whole = Path(table["path"].iloc[2]).read_bytes()
    cut.write_bytes(whole[: len(whole) // 2])
    table["path"] = [str(empty), str(silent), str(cut), table["path"].iloc[3]]
    checked = corpus.check_clips(table)
    assert list(checked.table["path"]) == [str(cut), table["path"].iloc[3]]
    assert checked.unreadable == [(empty, f"{empty}: empty file (0 bytes)"),
                                  (silent, f"{silent}: file is silent (peak below 0.0001)")]
    assert [path for path, _ in checked.warned] == [cut] and "cut short" in checked.warned[0][1]
    assert checked.describe().splitlines() == [
        "4 clips' audio read: 2 left out, 1 used with a warning", f"  left out: {empty}: empty file (0 bytes)",
        f"  left out: {silent}: file is silent (peak below 0.0001)", f"  used, with a warning: {checked.warned[0][1]}"]


def test_the_benchmarks_labels_table_leaves_out_what_notebook_01_leaves_out(mini_corpus, tmp_path):
    """`make accuracy` and `benchmarks/seeds.py` build their table with build_labels_table: the same clips as 01."""
    (tmp_path / "Actor_01").mkdir()
    for clip in sorted((mini_corpus / "Actor_01").glob("03-01-02-*.wav"))[:3]:  # calm: a class of the default scheme
        (tmp_path / "Actor_01" / clip.name).write_bytes(clip.read_bytes())
    emptied = tmp_path / "Actor_01" / "03-01-02-01-01-01-01.wav"
    emptied.write_bytes(b"")
    with pytest.warns(UserWarning, match=f"left out: {emptied}: empty file"):
        table = corpus.build_labels_table(tmp_path)
    assert emptied.name not in set(table["filename"]) and len(table) == 2
