"""Corruptions for training and for the robustness study: levels, determinism, and whose voices are used."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest

from ser_utils import augment, evaluation, features, folds, training
from ser_utils.augment import Corruption
from ser_utils.augment.steps import clip_identity

RATE = 16000


def speechlike(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """A harmonic tone that starts and stops like speech: 0.5 s of silence, a voiced part, 0.5 s of silence."""
    t = np.arange(int(seconds * RATE)) / RATE
    voiced = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 20)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    silence = np.zeros(RATE // 2)
    return np.concatenate([silence, 0.1 * voiced, silence]).astype(np.float32) + 1e-4 * np.random.default_rng(seed).normal(
        size=len(silence) * 2 + len(t)).astype(np.float32)


def band_power(samples: np.ndarray, low: float, high: float) -> float:
    """Power of ``samples`` between ``low`` and ``high`` Hz."""
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    frequencies = np.fft.rfftfreq(len(samples), 1 / RATE)
    return float(spectrum[(frequencies >= low) & (frequencies < high)].sum())


@pytest.mark.parametrize("snr_db", [30, 10, 0])
def test_noise_is_mixed_at_the_requested_snr_below_the_active_speech(snr_db):
    clean = speechlike()
    noise = augment.coloured_noise("white", len(clean), np.random.default_rng(1))
    noisy = augment.mix_at_snr(clean, noise, snr_db)
    measured = 10 * np.log10(augment.speech_power(clean) / np.mean((noisy - clean).astype(np.float64) ** 2))
    assert measured == pytest.approx(snr_db, abs=0.01)


def test_pink_and_brown_noise_put_more_power_at_low_frequencies_than_white():
    rng = np.random.default_rng(0)
    tilt = {colour: band_power(noise, 50, 500) / band_power(noise, 2000, 6000)
            for colour in ("white", "pink", "brown")
            for noise in [augment.coloured_noise(colour, 4 * RATE, rng)]}
    assert tilt["white"] < 0.2 < tilt["pink"] and 10 * tilt["pink"] < tilt["brown"]


def test_a_corruption_gives_the_same_samples_every_time_and_another_seed_other_samples():
    clean = speechlike()
    steps = (("pink", 10.0), ("codec", 6.0), ("gain", -3.0))
    once, again = (augment.apply(Corruption("x.wav", steps, (1, 2)), clean, RATE) for _ in range(2))
    other = augment.apply(Corruption("x.wav", steps, (1, 3)), clean, RATE)
    assert np.array_equal(once, again) and not np.allclose(once, other)
    assert len(once) == len(clean)


def test_a_babble_talker_rewritten_on_the_disk_is_read_again(tmp_path):
    import soundfile as sf

    clip, talker = tmp_path / "clip.wav", tmp_path / "talker.wav"
    sf.write(clip, speechlike(seed=1), RATE)
    sf.write(talker, speechlike(seed=2), RATE)
    babble = Corruption(str(clip), (("babble", 5.0),), (1, 2), (str(talker),))
    before = augment.corrupt_file(babble, RATE)
    assert np.array_equal(before, augment.corrupt_file(babble, RATE))
    sf.write(talker, speechlike(seconds=3.0, seed=3), RATE)  # the same path, another voice
    assert not np.allclose(before, augment.corrupt_file(babble, RATE))


def test_a_telephone_line_keeps_300_to_3400_hz():
    noise = 0.1 * augment.coloured_noise("white", 2 * RATE, np.random.default_rng(2))
    phone = augment.telephone(noise, RATE)
    assert band_power(phone, 4200, 8000) < 1e-2 * band_power(phone, 500, 3000)  # the codec leaves -20 dB or less
    assert band_power(phone, 20, 120) < 0.05 * band_power(noise, 20, 120)


def test_a_simulated_room_reaches_the_requested_reverberation_time(tmp_path):
    import pyroomacoustics as pra

    room = augment.make_room(0.4, 0, "test")
    response = augment.impulse_response(room, RATE, cache_dir=tmp_path)
    assert pra.experimental.measure_rt60(response, fs=RATE) == pytest.approx(0.4, rel=0.15)
    assert np.array_equal(response, augment.impulse_response(room, RATE, cache_dir=tmp_path))  # from the cache
    assert augment.make_room(0.4, 0, "train") != room  # training rooms are never the study's


def test_length_keeps_the_first_seconds_of_speech():
    clean = speechlike(seconds=2.0)
    cut = augment.apply(Corruption("x.wav", (("length", 1.0),), (0,)), clean, RATE)
    assert len(cut) == RATE and np.abs(cut[:400]).max() > 0.01  # starts at the speech, not in the silence


def corpus_table(n_actors: int = 6, clips: int = 4) -> pd.DataFrame:
    """A labels-like table of actors (odd male) and their clip paths."""
    rows = [{"path": f"Actor_{a:02d}/clip-{k}.wav", "actor": a, "gender": "male" if a % 2 else "female",
             "label": f"{'male' if a % 2 else 'female'}_calm"} for a in range(1, n_actors + 1) for k in range(clips)]
    table = pd.DataFrame(rows)
    table["label"] = table["label"].astype("category")
    return table


def test_the_copies_do_not_depend_on_where_the_corpus_lives():
    def planned(root: str):
        table = corpus_table(n_actors=6).assign(path=lambda t: root + "/" + t["path"])
        policy = augment.Augmentation(copies=2, p_noise=1.0, noises=(("babble", 0.5), ("white", 0.5)))
        studied = augment.study_corruptions(table, np.arange(len(table)), ("babble", "white"))
        return [(c.steps, c.seed, [s.removeprefix(root) for s in c.sources])
                for c in policy.corruptions(table, np.arange(len(table))) + [c for *_, c in studied]]

    here, there = planned("/home/ana/ravdess"), planned("/mnt/lab/corpora/RAVDESS")
    assert here == there and any(sources for *_, sources in here)


def test_training_babble_comes_only_from_other_speakers_of_the_training_pool():
    table = corpus_table()
    train_index = np.flatnonzero(table["actor"] <= 4)
    copies = augment.Augmentation(copies=3, p_noise=1.0, noises=(("babble", 1.0),)).corruptions(table, train_index)
    actor_of = dict(zip(table["path"], table["actor"]))
    assert len(copies) == 3 * len(train_index)
    for copy in copies:
        sources = {actor_of[path] for path in copy.sources}
        assert copy.sources and sources <= {1, 2, 3, 4} and actor_of[copy.path] not in sources


def test_a_clips_copies_are_the_same_in_every_fold_except_for_their_babble():
    table = corpus_table()
    augmentation = augment.Augmentation(copies=2)
    first = augmentation.corruptions(table, np.flatnonzero(table["actor"] != 6))
    second = augmentation.corruptions(table, np.flatnonzero(table["actor"] != 5))
    shared = {c.path for c in first} & {c.path for c in second}
    for one, other in ((a, b) for a in first for b in second if a.path == b.path and a.seed == b.seed):
        assert one.steps == other.steps and (one == other or one.sources != other.sources)
    assert shared and sum(c in second for c in first) >= len(first) // 2


def test_the_study_corrupts_test_clips_with_babble_of_other_test_clips_only():
    table = corpus_table()
    test_index = np.flatnonzero(table["actor"].isin([1, 2]))
    tested = augment.study_corruptions(table, test_index)
    test_paths = set(table["path"].iloc[test_index])
    expected = sum(len(levels) for _, levels, _ in augment.STUDY_CONDITIONS.values()) * len(test_index)
    assert len(tested) == expected
    for condition, level, corruption in tested:
        assert corruption.path in test_paths and set(corruption.sources) <= test_paths - {corruption.path}
        assert (condition == "babble") == bool(corruption.sources)


def test_augmented_training_adds_copies_and_the_study_scores_only_test_clips(gender_table, tmp_path):
    feature_set = features.extract_features(gender_table, features.StatsRecipe(), cache_dir=None, progress=False)
    augmentation, study = augment.Augmentation(copies=1), ("white", "length")
    plan = folds.plan_folds(feature_set.table, "speaker", n_folds=2, seed=42, augmentation=augmentation, study=study,
                            deliver=False)
    wanted = plan.training_copies() + plan.studied_copies()
    corrupted = features.corrupted_features(wanted, [feature_set.recipe], cache_dir=tmp_path, progress=False)
    run = training.cross_validate(feature_set, "svm", "speaker", augmentation=augmentation, study=study,
                                  corrupted=corrupted, deliver=False, plan=plan, progress=False)
    assert all(fold["corrupted_copies"] > 0 for fold in run.folds)
    for fold, rows in run.robustness.groupby("fold"):
        assert set(rows["path"]) == set(run.predictions.loc[run.predictions["fold"] == fold, "path"])
    summary = evaluation.robustness_summary(run)
    assert summary.iloc[0]["condition"] == "clean" and summary.iloc[0]["uar_vs_clean"] == 1.0
    assert set(summary["condition"]) == {"clean", "white", "length"} and len(summary) == 1 + 5 + 4
    again = features.corrupted_features(wanted, [feature_set.recipe], cache_dir=tmp_path, progress=False, n_jobs=1)
    key = features.corrupted_key(wanted[0])
    assert np.array_equal(again[feature_set.recipe][key], corrupted[feature_set.recipe][key])  # read from the cache
    ensemble = training.combine_runs([run, run])
    columns = ["path", "fold", "condition", "level"]
    assert ensemble.robustness[columns].equals(run.robustness[columns])


def test_a_clip_that_cannot_be_read_is_reported_by_name_not_raised(tmp_path, capsys):
    missing = Corruption(str(tmp_path / "gone.wav"), (("white", 10.0),), (0,))
    bank = features.corrupted_features([missing], [features.StatsRecipe()], cache_dir=tmp_path, progress=False, n_jobs=1)
    reason = bank[features.StatsRecipe()][features.corrupted_key(missing)]
    assert isinstance(reason, str) and "gone.wav" in reason
    assert "gone.wav" in capsys.readouterr().err  # and said once, where batch work reports skipped files


def test_copies_for_early_stopping_never_carry_a_validation_speakers_voice():
    table = corpus_table(n_actors=8)
    babble_only = augment.Augmentation(p_noise=1.0, noises=(("babble", 1.0),))
    fold = folds.plan_folds(table, "speaker", n_folds=4, seed=42, augmentation=babble_only).folds[0]
    fit_index, train_index, fit, refit = fold.fit, fold.train, fold.fit_copies, fold.refit_copies
    actor_of = dict(zip(table["path"], table["actor"]))
    fit_actors, train_actors = set(table["actor"].iloc[fit_index]), set(table["actor"].iloc[train_index])
    assert {actor_of[p] for c in fit for p in (c.path, *c.sources)} <= fit_actors < train_actors
    assert {actor_of[p] for c in refit for p in c.sources} <= fit_actors  # validation clips too get fit actors' babble
    assert {actor_of[c.path] for c in refit} == train_actors and set(fit) <= set(refit)


@pytest.mark.parametrize("n_actors", [12, 24])
def test_folds_share_a_clips_copy_where_their_babble_pools_allow_and_never_take_an_unseen_voice(n_actors):
    table = corpus_table(n_actors=n_actors, clips=6)
    babble_only = augment.Augmentation(p_noise=1.0, noises=(("babble", 1.0),))
    actor_of = dict(zip(table["path"], table["actor"]))
    for protocol in ("speaker", "random"):
        plan = folds.plan_folds(table, protocol, n_folds=6, seed=42, augmentation=babble_only)
        for fold in plan.folds:
            fit_paths = set(table["path"].iloc[fold.fit])
            for copy in fold.fit_copies + fold.refit_copies:
                voices = [actor_of[path] for path in copy.sources]
                assert set(copy.sources) <= fit_paths and actor_of[copy.path] not in voices
                assert len(set(voices)) == augment.BABBLE_TALKERS  # four other speakers, as a fold alone would give
        for copy in plan.delivery_copies:  # the delivered model's: babble of any four other speakers
            voices = [actor_of[path] for path in copy.sources]
            assert len(set(voices)) == augment.BABBLE_TALKERS and actor_of[copy.path] not in voices
        one_by_one = {c for fold in plan.folds for c in babble_only.corruptions(table, fold.fit)
                      + babble_only.corruptions(table, fold.train, fold.fit)}
        one_by_one |= set(babble_only.corruptions(table, np.arange(len(table))))  # the delivered model's
        shared = set(plan.training_copies())
        assert len(shared) < 0.75 * len(one_by_one)


def test_a_use_alone_draws_each_copys_babble_from_its_pool_in_clip_then_copy_order():
    table = corpus_table(n_actors=6)
    policy = augment.Augmentation(copies=2, p_noise=1.0, noises=(("babble", 0.5), ("white", 0.5)))
    index, pool = np.arange(0, len(table), 2), np.flatnonzero(table["actor"] <= 5)
    expected = []
    for path, actor in table.iloc[index][["path", "actor"]].to_numpy():
        candidates = table.iloc[pool][["path", "actor"]].to_numpy()
        for copy in range(policy.copies):
            steps = policy.chain(path, copy)
            salt = zlib.crc32(f"{clip_identity(path)}:{copy}".encode())
            sources = augment.babble_sources(candidates[candidates[:, 1] != actor], salt=salt) \
                if any(step[0] == "babble" for step in steps) else ()
            expected.append(Corruption(path, steps, augment.clip_seed(policy.seed, path, copy, 1), sources))
    assert policy.corruptions(table, index, pool) == expected and any(c.sources for c in expected)
    everything = np.arange(len(table))  # planned beside another use: the same clips, copies and order
    planned = policy.planned_corruptions(table, [(index, pool), (everything, everything)])[0]
    assert [(c.path, c.steps, c.seed) for c in planned] == [(c.path, c.steps, c.seed) for c in expected]


def test_uses_share_a_babble_while_their_common_pool_holds_enough_speakers_and_clips():
    actors = np.repeat([1, 2, 3, 4, 5], 2)
    speakers_1_to_4, speakers_1_to_5, speakers_2_to_5 = actors <= 4, actors <= 5, actors >= 2
    groups = augment.babble_groups([speakers_1_to_4, speakers_1_to_5, speakers_2_to_5], actors)
    assert [members for members, _ in groups] == [[0, 1], [2]]
    assert np.array_equal(groups[0][1], speakers_1_to_4) and np.array_equal(groups[1][1], speakers_2_to_5)
    poor = actors <= 2  # a pool of two speakers shares no babble with one of five: that one would get two talkers
    assert [members for members, _ in augment.babble_groups([poor, speakers_1_to_5], actors)] == [[1], [0]]
    assert [members for members, _ in augment.babble_groups([poor, poor & (actors >= 2)], actors)] == [[0], [1]]
    two_speakers = np.repeat([1, 2], 4)  # the same two speakers, but one pool holds a single clip of each
    every_clip, first_clips = np.ones(8, bool), np.tile([True, False, False, False], 2)
    assert [members for members, _ in augment.babble_groups([every_clip, first_clips], two_speakers)] == [[0], [1]]


def test_folds_and_copies_are_planned_once_per_protocol_and_read_by_every_model(mini_table, monkeypatch):
    made = []
    plan_folds = folds.plan_folds
    monkeypatch.setattr(training, "plan_folds", lambda table, protocol, **kwargs: made.append(protocol) or
                        plan_folds(table, protocol, **kwargs))
    runs = training.train_all(mini_table, plan={"svm": ("speaker", "random"), "svm_factorised": ("speaker",)},
                              n_folds=2, augmentation=augment.Augmentation(p_reverb=0.0), deliver=False, progress=False)
    assert sorted(made) == ["random", "speaker"]
    assert [f["test_actors"] for f in runs["svm", "speaker"].folds] == \
        [f["test_actors"] for f in runs["svm_factorised", "speaker"].folds]


class PolarityInverted(augment.Step):
    """A toy kind of corruption: the waveform upside down (which no magnitude feature can hear)."""

    def apply(self, samples, rate, rng, *, voices):
        return -samples


def test_a_corruption_kind_is_one_step_class_and_one_registry_line(mini_table, tmp_path, monkeypatch):
    recipe = features.StatsRecipe()
    bank_before = features.bank_dir(tmp_path, recipe)
    monkeypatch.setitem(augment.STEPS, "inverted", PolarityInverted())
    monkeypatch.setitem(augment.STUDY_CONDITIONS, "inverted", ("polarity", (1,), lambda level: ("inverted",)))
    assert features.bank_dir(tmp_path, recipe) != bank_before  # its code keys the cache of corrupted clips
    feature_set = features.extract_features(mini_table, recipe, cache_dir=None, progress=False)
    plan = folds.plan_folds(feature_set.table, "speaker", n_folds=2, seed=42, study=("inverted",), deliver=False)
    corrupted = features.corrupted_features(plan.studied_copies(), [recipe], cache_dir=tmp_path, n_jobs=1,
                                            progress=False)
    run = training.cross_validate(feature_set, "svm", "speaker", study=("inverted",), corrupted=corrupted,
                                  deliver=False, plan=plan, progress=False)
    summary = evaluation.robustness_summary(run).set_index("condition")
    assert summary.loc["inverted", "uar"] == pytest.approx(summary.loc["clean", "uar"], abs=1e-6)
    with pytest.raises(ValueError, match="unknown corruption step 'reversed'"):
        augment.apply(Corruption("x.wav", (("reversed",),), (0,)), np.ones(100, np.float32), 16000)


def test_noise_kinds_are_drawn_with_their_shares_and_bad_shares_are_refused():
    table = corpus_table()
    chains = [augment.Augmentation(p_noise=1.0).chain(path, copy) for path in table["path"] for copy in range(10)]
    kinds = [step[0] for chain in chains for step in chain if step[0] in ("white", "pink", "brown", "babble")]
    assert abs(kinds.count("babble") / len(kinds) - 0.5) < 0.1 and "brown" in kinds
    with pytest.raises(ValueError, match="summing to 1"):
        augment.Augmentation(noises=(("white", 0.5), ("babble", 0.6)))
    with pytest.raises(ValueError, match="summing to 1"):
        augment.Augmentation(noises=())
    with pytest.raises(ValueError, match="unknown noise kind"):
        augment.Augmentation(noises=(("whte", 1.0),))
    thirds = augment.Augmentation(p_noise=1.0, noises=tuple((kind, 0.333333) for kind in ("white", "pink", "babble")))
    assert thirds.chain(table["path"].iloc[0], 0)  # shares within rounding of 1 are drawn from, not refused
