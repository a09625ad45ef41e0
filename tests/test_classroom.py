"""The class store (fusion.classroom): codes, the teacher secret, students, the board,
limits, expiry and closing — on a real folder, with real saved runs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from fusion.classroom import (
    CODE_ALPHABET,
    CODE_LENGTH,
    ClassStore,
    Limits,
    Sent,
    apply_limits,
    clean_nickname,
    limit_samples,
    numeric_settings,
    setting_value,
    setup_changes,
    student_key,
)
from fusion.config import default_config
from fusion.errors import ConfigError
from fusion.generators import shared_latent
from tests.apptest_helpers import make_run


@pytest.fixture
def store(tmp_path) -> ClassStore:
    return ClassStore(tmp_path)


def test_a_class_gets_a_readable_code_and_a_secret_only_its_hash_is_kept(store):
    info, secret = store.start(hours=1)
    assert len(info.code) == CODE_LENGTH and set(info.code) <= set(CODE_ALPHABET)
    assert not set(info.code) & set("01OIL")
    saved = (store.root / info.code / "class.json").read_text()
    assert secret not in saved  # only the hash
    assert store.is_teacher(info.code, secret)
    assert store.is_teacher(info.code.lower(), secret)  # a code typed in lower case
    assert not store.is_teacher(info.code, secret[::-1])
    assert not store.is_teacher(info.code, "")
    assert not store.is_teacher(info.code, "x" * 1000)
    other, other_secret = store.start(hours=1)
    assert not store.is_teacher(info.code, other_secret)  # one class's key opens no other


@pytest.mark.parametrize("code", ["ABCDEF", "../etc", "", "AAAAAA/..", "abc", "0OIL11"])
def test_a_guessed_or_edited_code_gets_nothing(store, code):
    store.start(hours=1)
    assert store.get(code) is None
    assert store.board(code) == []
    assert store.students(code) == []
    with pytest.raises(ConfigError):
        store.join(code, student_key("ws"), "Ada")


def test_only_the_teacher_sends_sets_limits_reveals_and_closes(store):
    info, secret = store.start(hours=1)
    for act in (
        lambda k: store.send(info.code, k, Sent("setup", query={"data": "shared_latent"})),
        lambda k: store.set_limits(info.code, k, Limits(5, 100)),
        lambda k: store.reveal(info.code, k),
        lambda k: store.close(info.code, k),
    ):
        with pytest.raises(ConfigError):
            act("not-the-secret-at-all-xx")
    assert store.get(info.code).revealed is False
    sent = store.send(info.code, secret, Sent("setup", query={"data": "shared_latent"})).sent
    assert sent.id and sent.query == {"data": "shared_latent"}
    again = store.send(info.code, secret, Sent("lesson", lesson="temperature", step=1)).sent
    assert again.id != sent.id and store.get(info.code).sent.kind == "lesson"
    assert store.set_limits(info.code, secret, Limits(5, 0)).limits == Limits(5, None)
    assert store.reveal(info.code, secret).revealed
    store.close(info.code, secret)
    assert store.get(info.code) is None and not (store.root / info.code).exists()


def test_students_join_with_unique_nicknames_and_a_generated_one(store):
    info, _ = store.start(hours=1)
    a = store.join(info.code, student_key("ws-a"), "  Ada\n  Lovelace ")
    b = store.join(info.code, student_key("ws-b"), "Ada Lovelace")
    c = store.join(info.code, student_key("ws-c"), "")
    assert a.nickname == "Ada Lovelace" and b.nickname == "Ada Lovelace 2"
    assert c.nickname and c.nickname[-2:].isdigit()
    again = store.join(info.code, student_key("ws-a"), "Grace")  # joining again renames
    assert again.nickname == "Grace" and again.joined == a.joined
    assert [s.nickname for s in store.students(info.code)] == [
        "Grace",
        "Ada Lovelace 2",
        c.nickname,
    ]
    assert clean_nickname("x" * 100) == "x" * 24
    # The student key is a hash: the class folder never holds a workspace token.
    assert "ws-a" not in json.dumps([p.read_text() for p in store.root.rglob("*.json")])


def test_a_run_goes_to_the_board_as_a_summary_and_can_be_withdrawn(store, tmp_path):
    info, secret = store.start(hours=1)
    run = make_run(tmp_path / "ws-a", "mine")
    key, other = student_key("ws-a"), student_key("ws-b")
    assert store.post(info.code, key, run) is None  # not joined: nothing is posted
    store.join(info.code, key, "Ada")
    store.join(info.code, other, "Bo")
    entry = store.post(info.code, key, run)
    assert entry is not None and entry.nickname == "Ada" and entry.method == "joint"
    assert entry.query["data"] and entry.query["method"] == "joint"
    assert "recall_at_1_mean" in entry.metrics and "recall_at_1_mean_chance" in entry.metrics
    assert entry.test_rows and entry.test_rows > 0
    assert len(entry.map["x"]) == len(entry.map["label"]) <= 300
    saved = (store.root / info.code / "board" / f"{entry.id}.json").read_text()
    assert "z0" not in saved and str(tmp_path) not in saved  # no embeddings, no paths
    assert [e.id for e in store.board(info.code)] == [entry.id]
    assert not store.withdraw(info.code, other, entry.id)  # only its own student
    assert store.withdraw(info.code, key, entry.id)
    assert store.board(info.code) == []


def test_activity_counts_joined_running_and_waiting(store):
    info, _ = store.start(hours=1)
    for i, state in enumerate(["running", "waiting", "waiting", ""]):
        key = student_key(f"ws-{i}")
        store.join(info.code, key)
        store.set_training(info.code, key, state)
    assert store.activity(info.code) == {"joined": 4, "running": 1, "waiting": 2}


def test_a_class_expires_and_is_swept(store):
    info, secret = store.start(hours=1, now=time.time() - 7200)
    assert store.get(info.code) is None  # expired an hour ago
    assert not store.is_teacher(info.code, secret)
    assert info.code in store.sweep()
    assert not (store.root / info.code).exists()
    with pytest.raises(ConfigError):
        store.start(hours=0)


def test_limits_cap_epochs_and_samples_keeping_classes():
    config = default_config("joint", "info_nce")
    config.train.epochs = 50
    capped, keep, notes = apply_limits(config, 2000, Limits(max_epochs=5, max_samples=600))
    assert capped.train.epochs == 5 and keep == 600 and len(notes) == 2
    same, keep, notes = apply_limits(config, 500, Limits(max_epochs=100, max_samples=600))
    assert same.train.epochs == 50 and keep is None and notes == []
    data = shared_latent(n=2000, n_classes=4, seed=0)
    small = limit_samples(data, 600)
    assert abs(small.n - 600) <= 4
    counts = np.bincount(small.labels, minlength=4)
    assert counts.min() >= 0.2 * small.n  # stratified: every class kept about a quarter


def test_setup_changes_and_settings_read_the_link_vocabulary():
    sent = {"data": "shared_latent", "c.model.temperature": "0.1", "c.train.epochs": "5"}
    run = {"data": "shared_latent", "c.model.temperature": "0.5", "d.noise": "0.3"}
    assert setup_changes(run, sent) == {
        "c.model.temperature": ("0.1", "0.5"),
        "c.train.epochs": ("5", "50"),  # the run trained the default 50 epochs
        "d.noise": (None, "0.3"),
    }
    # Values are compared as they train: "the loss's geometry" (None) is what it resolves to.
    full = {"data": "shared_latent", "method": "joint", "loss": "info_nce", "c.train.epochs": "8"}
    assert setup_changes({**full, "c.model.normalize": "true"}, full) == {}
    assert setup_changes({**full, "c.model.normalize": "false"}, full) == {
        "c.model.normalize": ("true", "false")
    }
    assert setting_value("0.5") == 0.5 and setting_value("true") is None
    assert setting_value("adam") is None and setting_value("[1, 2]") is None


def test_board_figures_label_their_axes_and_chance(store, tmp_path):
    from fusion.plots.board import board_maps, board_scatter

    info, _ = store.start(hours=1)
    entries = []
    for i, temp in enumerate([0.05, 0.5]):
        run = make_run(tmp_path / f"ws{i}", f"r{i}")
        key = student_key(f"ws{i}")
        store.join(info.code, key, f"S{i}")
        e = store.post(info.code, key, run)
        e.query["c.model.temperature"] = str(temp)
        entries.append(e)
    assert "c.model.temperature" in numeric_settings(entries)
    fig = board_scatter(
        [0.05, 0.5], [0.3, 0.6], ["S0", "S1"], "temperature", "Recall@1", chance=0.01
    )
    assert fig.layout.xaxis.title.text == "temperature"
    assert fig.layout.yaxis.title.text == "Recall@1"
    assert any(s.y0 == 0.01 for s in fig.layout.shapes)
    maps = board_maps([e.map for e in entries], ["S0", "S1"], "label")
    assert [a.text for a in maps.layout.annotations][:2] == ["S0", "S1"]
    assert sum(len(tr.x) for tr in maps.data) == sum(len(e.map["x"]) for e in entries)


def test_files_are_written_whole(store):
    info, secret = store.start(hours=1)
    for i in range(20):
        store.set_limits(info.code, secret, Limits(i + 1, None))
    leftovers = [p for p in Path(store.root / info.code).iterdir() if p.name.startswith(".tmp")]
    assert leftovers == [] and store.get(info.code).limits.max_epochs == 20
