"""The built-in synthetic corpus: RAVDESS's design, deterministic, realistic timing, marked synthetic."""

import numpy as np
import pytest
import soundfile as sf

from ser_utils import config, corpus, datasets, synth


def test_design_matches_ravdess_speech():
    rows = synth.design()
    assert len(rows) == 60
    names = {synth.clip_name(row, 5) for row in rows}
    assert len(names) == 60
    assert all(corpus.parse_ravdess_name(name).actor == 5 for name in names)
    neutral = [r for r in rows if r["emotion"] == "neutral"]
    assert len(neutral) == 4 and all(r["intensity"] == "normal" for r in neutral)


def test_speakers_alternate_gender_and_differ():
    voices = synth.speaker_voices(seed=1)
    assert len(voices) == config.SYNTHETIC_ACTORS
    assert all(v.variant.startswith("m" if v.actor % 2 else "f") for v in voices)
    assert len({(v.variant, round(v.pitch, 3)) for v in voices}) == config.SYNTHETIC_ACTORS
    assert np.mean([v.pitch for v in voices if v.actor % 2]) < np.mean([v.pitch for v in voices if v.actor % 2 == 0])


def test_actor_files_are_byte_identical_for_a_seed_and_change_with_it(tmp_path):
    voice = synth.speaker_voices(seed=3)[1]  # a female variant: eSpeak adds random breath noise
    for folder, seed in (("a", 3), ("b", 3), ("c", 4)):
        assert list(synth.render_actors([voice], tmp_path / folder, seed, n_jobs=1)) == [60]
    name = "Actor_02/03-01-05-02-01-01-02.wav"
    assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes()


def test_emotions_shift_loudness_and_tempo_as_described():
    voice = synth.speaker_voices(seed=3)[1]

    def measure(emotion):
        clip, rate = synth.render_clip("Dogs are sitting by the door", voice, emotion, "strong",
                                       np.random.default_rng(0))
        frames = clip[: len(clip) // 512 * 512].reshape(-1, 512)
        level = np.sqrt((frames**2).mean(axis=1))
        active = level > 0.25 * level.max()
        return 20 * np.log10(level[active].mean()), active.sum() * 512 / rate

    angry_db, angry_s = measure("angry")
    sad_db, sad_s = measure("sad")
    assert angry_db > sad_db + 3
    assert angry_s < sad_s


def test_mini_corpus_layout_timing_and_labels(mini_corpus):
    files = sorted(mini_corpus.glob("Actor_*/*.wav"))
    assert len(files) == 4 * 60
    durations = [sf.info(f).duration for f in files]
    assert 3.0 <= min(durations) and max(durations) <= 5.5
    samples, rate = sf.read(files[0])
    assert np.abs(samples[: int(0.4 * rate)]).max() < 0.05  # leading silence (noise only)
    table, rejected = corpus.scan_corpus(mini_corpus)
    assert not rejected and sorted(table["actor"].unique()) == [1, 2, 3, 4]


def test_build_writes_manifest_last_and_is_marked_synthetic(tmp_path):
    assert not synth.is_built(tmp_path, seed=9, n_actors=4)
    synth.build_synthetic_corpus(tmp_path, seed=9, n_actors=4)
    assert synth.is_built(tmp_path, seed=9, n_actors=4) and synth.is_synthetic(tmp_path)
    assert len(list(tmp_path.glob("Actor_*/*.wav"))) == 4 * len(synth.design())
    assert not synth.is_built(tmp_path, seed=10, n_actors=4)
    assert not synth.is_built(tmp_path, seed=9, n_actors=6)  # another size is built again
    assert synth.built_size(tmp_path, seed=9) == 4 and synth.built_size(tmp_path, seed=10) is None
    # what does not name a size (the benchmarks) uses the corpus built, never rebuilding it at the default size
    assert datasets.resolve_dataset("synthetic", tmp_path, seed=9).path == tmp_path
    assert synth.is_built(tmp_path, seed=9, n_actors=4)
    next(tmp_path.glob("Actor_*/*.wav")).unlink()
    assert not synth.is_built(tmp_path, seed=9, n_actors=4) and synth.built_size(tmp_path, seed=9) is None


def test_a_larger_corpus_keeps_the_smaller_ones_voices_and_has_as_many_men_as_women():
    full = synth.speaker_voices(seed=5, n_actors=24)
    assert full[:12] == synth.speaker_voices(seed=5, n_actors=12)
    assert [voice.actor for voice in full] == list(config.RAVDESS_ACTORS)
    assert sum(voice.actor % 2 for voice in full) == 12


@pytest.mark.parametrize("n_actors", [2, 5, 26, 0, True])
def test_a_corpus_size_it_cannot_have_is_refused_before_anything_is_written(tmp_path, n_actors):
    with pytest.raises(ValueError, match="even number of actors .* from 4 to 24"):
        synth.build_synthetic_corpus(tmp_path / "corpus", n_actors=n_actors)
    assert not (tmp_path / "corpus").exists()


def test_synthesis_never_writes_over_real_recordings(tmp_path):
    real = tmp_path / "Actor_01" / "03-01-01-01-01-01-01.wav"
    real.parent.mkdir()
    real.write_bytes(b"RIFF real recording")
    with pytest.raises(FileExistsError, match="did not synthesise"):
        synth.build_synthetic_corpus(tmp_path)
    assert real.read_bytes() == b"RIFF real recording"
