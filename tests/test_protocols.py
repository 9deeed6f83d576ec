"""Protocols: speaker folds never share an actor, are gender-balanced, and refuse corpora too small."""

import pandas as pd
import pytest

from ser_utils import protocols


def actor_table(n_actors=24, clips=10):
    rows = [{"actor": a, "gender": "male" if a % 2 else "female", "label": f"c{k % 5}"}
            for a in range(1, n_actors + 1) for k in range(clips)]
    table = pd.DataFrame(rows)
    table["label"] = pd.Categorical(table["label"])
    return table


def test_speaker_folds_never_share_an_actor_and_balance_gender():
    table = actor_table()
    folds = protocols.make_folds(table, "speaker", n_folds=6, seed=1)
    assert len(folds) == 6
    tested = []
    for train_index, test_index in folds:
        train, test = table.iloc[train_index], table.iloc[test_index]
        assert not set(train["actor"]) & set(test["actor"])
        assert test.groupby("gender")["actor"].nunique().to_dict() == {"female": 2, "male": 2}
        tested += sorted(test["actor"].unique())
    assert sorted(tested) == list(range(1, 25))


def test_twelve_actors_give_leave_one_pair_out():
    folds = protocols.make_folds(actor_table(n_actors=12), "speaker", n_folds=6)
    assert [sorted(actor_table(12).iloc[test]["actor"].unique() % 2) for _, test in folds] == [[0, 1]] * 6


def test_four_actors_give_two_folds():
    assert len(protocols.make_folds(actor_table(n_actors=4), "speaker", n_folds=6)) == 2


@pytest.mark.parametrize("n_actors", [1, 2, 3])
def test_too_few_actors_are_refused_with_the_counts(n_actors):
    with pytest.raises(protocols.CorpusTooSmall, match=r"at least 2 female and 2 male actors; this corpus has \d female"):
        protocols.make_folds(actor_table(n_actors=n_actors), "speaker")


def test_validation_actors_come_from_training_actors_one_per_gender():
    table = actor_table()
    train_index, test_index = protocols.make_folds(table, "speaker")[0]
    fit_index, val_index = protocols.validation_split(table, train_index, "speaker", seed=0)
    val_actors = set(table.iloc[val_index]["actor"])
    assert len(val_actors) == 2 and {a % 2 for a in val_actors} == {0, 1}
    assert not val_actors & set(table.iloc[test_index]["actor"]) and not val_actors & set(table.iloc[fit_index]["actor"])
    assert len(fit_index) + len(val_index) == len(train_index)


def test_four_actor_corpus_validates_on_clips_of_training_actors():
    table = actor_table(n_actors=4, clips=60)
    train_index, test_index = protocols.make_folds(table, "speaker")[0]
    fit_index, val_index = protocols.validation_split(table, train_index, "speaker", seed=0)
    assert len(val_index) == pytest.approx(0.15 * len(train_index), abs=1)
    assert set(table.iloc[val_index]["actor"]) <= set(table.iloc[train_index]["actor"])
    assert not set(table.iloc[fit_index]["actor"]) & set(table.iloc[test_index]["actor"])


@pytest.mark.parametrize("n_actors,source", [(4, "training actors' clips"), (6, "held-out actors"),
                                             (12, "held-out actors"), (24, "held-out actors")])
def test_captions_say_where_the_validation_clips_come_from(n_actors, source):
    table = actor_table(n_actors)
    folds = [{"test_actors": sorted(table.iloc[test]["actor"].unique())}
             for _, test in protocols.make_folds(table, "speaker", n_folds=6)]
    assert source in protocols.validation_source(table, folds)


def test_random_protocol_mixes_speakers_like_the_seed():
    table = actor_table()
    train_index, test_index = protocols.make_folds(table, "random", n_folds=5)[0]
    assert set(table.iloc[test_index]["actor"]) & set(table.iloc[train_index]["actor"])
    with pytest.raises(ValueError, match="unknown protocol"):
        protocols.make_folds(table, "by-colour")


def test_fold_table_counts_clips_and_shows_no_shared_actor():
    table = actor_table()
    summary = protocols.fold_table(table, protocols.make_folds(table, "speaker"))
    assert (summary["actors in both"] == 0).all() and summary["test clips"].sum() == len(table)
