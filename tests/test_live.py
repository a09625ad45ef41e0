"""The live map and live attention (fusion.live): frames made beside training, aligned,
compact, never dropping the last evaluation, saved with the run and replayed by Explore."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest

from fusion import live, projector
from fusion.config import default_config
from fusion.data import PairedData
from fusion.live import umap_frames


class Sink:
    """An ``emit`` that keeps the events in a server's Progress (``events``: its ``live``:
    a frame's UMAP update replaces its frame), and every event as sent (``sent``)."""

    def __init__(self):
        from fusion.jobs import Progress

        self.progress = Progress()
        self.sent: list[tuple[str, dict]] = []

    @property
    def events(self) -> dict[str, list]:
        return self.progress.live

    def __call__(self, kind, payload):
        pickle.dumps(payload)  # every event crosses a process boundary
        self.sent.append((kind, payload))
        self.progress.apply(kind, payload)


NO_BUDGET = {"pca": 1.0, "umap": 1.0}  # every frame as soon as it can (UMAP on each)


def _train(
    data,
    method="joint",
    loss="info_nce",
    epochs=6,
    shares=None,
    wait=False,
    peek=None,
    step_s=0.0,
    **train,
):
    """Train with a LiveMap; ``wait``: each epoch waits for its frame (none dropped; the
    frame thread runs at a lower priority and may otherwise fall behind a busy machine)."""
    from fusion.experiment import run_experiment
    from fusion.train import Callback

    cfg = default_config(method, loss, epochs=epochs)
    for k, v in train.items():
        setattr(cfg.train, k, v)
    sink = Sink()

    class WaitForFrame(Callback):
        def on_evaluate(self, epoch, arrays, data):  # after the LiveMap's (epoch 0 too)
            end = time.monotonic() + 30
            while time.monotonic() < end and not any(  # with its UMAP (made after)
                f["epoch"] >= epoch and f["umap"] is not None
                for f in sink.events.get(live.FRAME, [])
            ):
                time.sleep(0.01)

    peeks = {} if peek is None else {"peek_seconds": peek}
    callbacks = [live.LiveMap(sink, seed=cfg.train.seed, shares=shares, **peeks)]

    class SlowSteps(Callback):  # a longer epoch on a small data set
        def on_step(self, info):
            time.sleep(step_s)

    callbacks += [WaitForFrame()] if wait else []
    callbacks += [SlowSteps()] if step_s else []
    result = run_experiment(data, cfg, callbacks)
    return result, sink


def _slow_umap(monkeypatch, seconds: float) -> None:
    """Every UMAP frame takes ``seconds`` longer; frames made in this process (the patch)."""
    import fusion.projection as P

    real = P.next_frame

    def slow(X, prev, method="umap", **kw):
        if method == "umap":
            time.sleep(seconds)
        return real(X, prev, method, **kw)

    monkeypatch.setattr(P, "next_frame", slow)
    monkeypatch.setenv(projector.ENV_SWITCH, "0")


def _drive(X_by_epoch, names=("a", "b"), sleep=0.0, wait=False, wait_pca=False, **kw):
    """Feed a LiveMap evaluations by hand: X_by_epoch[e] is {modality: (n, d)}; ``wait``
    for each frame before the next evaluation (none dropped)."""
    sink = Sink()
    lm = live.LiveMap(sink, seed=0, **kw)
    n = next(iter(X_by_epoch[0].values())).shape[0]
    data = PairedData({m: np.zeros((n, 1), np.float32) for m in names}, labels=np.arange(n) % 3)
    lm.on_train_start({"n_val": n})
    for e, embs in enumerate(X_by_epoch):
        lm.on_evaluate(e, {f"emb:{m}": z for m, z in embs.items()}, data)
        time.sleep(sleep)
        end = time.monotonic() + 60
        while (wait or wait_pca) and time.monotonic() < end:  # its frame (wait: with UMAP)
            framed = sink.events.get(live.FRAME, [])
            if len(framed) > e and (wait_pca or all(f["umap"] is not None for f in framed)):
                break
            time.sleep(0.01)

    class H:
        live_frames = None

    h = H()
    lm.on_train_end(h)
    return lm, sink, h


def test_joint_run_streams_aligned_frames_and_saves_them(small_latent, tmp_path):
    from fusion.projection import warm_up
    from fusion.rundata import build_map_data
    from fusion.runs import load_run, save_run

    warm_up()  # as a worker does once it is ready (fusion.worker): no frame waits for it
    # 12 epochs (no early stop): the last two frames come when little is left to learn
    # peek=0: no frames within an epoch (a busy machine's epoch may last over PEEK_SECONDS)
    result, sink = _train(small_latent, epochs=12, shares=NO_BUDGET, wait=True, peek=0, patience=0)
    points = sink.events[live.POINTS]
    frames = sink.events[live.FRAME]
    assert len(points) == 1 and frames, sink.events.keys()
    n_pts = len(points[0]["sample"])
    assert n_pts == 2 * result.history.snapshot_rows.size
    for f in frames:
        for m in ("pca", "umap"):
            assert f[m].dtype == np.float32 and f[m].shape == (n_pts, 2)
            assert np.isfinite(f[m]).all()
    assert frames[-1]["epoch"] == 12  # the last evaluation is never dropped
    assert [f["epoch"] for f in frames] == sorted({f["epoch"] for f in frames})
    assert frames[-2]["epoch"] == 11  # consecutive (the test waited for every frame)
    # Aligned: consecutive late frames (little left to learn) move points far less than
    # the map's own size, and the frames really change over training.
    a, b = frames[-2]["umap"], frames[-1]["umap"]
    size = np.ptp(b, axis=0).max()
    assert np.median(np.linalg.norm(a - b, axis=1)) < 0.2 * size
    assert not np.allclose(frames[0]["pca"], frames[-1]["pca"])
    saved = result.history.live_frames
    # Every frame drawn is saved (an evaluation dropped while training gets its frame after)
    assert {f["epoch"] for f in frames} <= set(saved["epochs"])
    assert list(saved["epochs"]) == sorted(saved["epochs"])
    assert np.array_equal(saved["umap"][-1], frames[-1]["umap"])

    path = save_run(result, root=tmp_path, name="live")
    frames_on_disk = live.load_frames(path)
    assert frames_on_disk is not None
    run = load_run(path)
    data = build_map_data(run.embeddings, run.modalities)
    view = live.explore_view(frames_on_disk, data, "umap")
    assert view is not None
    mdata, coords = view
    assert mdata.epochs == [int(e) for e in frames_on_disk.epochs_of("umap")]
    assert {f["epoch"] for f in frames if f["umap"] is not None} <= set(mdata.epochs)
    assert np.array_equal(coords[-1], frames[-1]["umap"])  # Explore opens on the last frame
    # Each point keeps its identity: the live points' (modality, sample) are Explore's rows.
    names = np.asarray(points[0]["modalities"])[points[0]["modality"]]
    assert list(mdata.meta["modality"]) == list(names)
    assert list(mdata.meta["sample"]) == list(points[0]["sample"])
    assert mdata.Z.shape[:2] == (len(frames), n_pts)


@pytest.mark.slow
def test_long_epochs_get_frames_within_them_drawn_but_not_saved(small_latent):
    """Peeks within an epoch (here every 20 ms: an epoch of 40 steps is "long") give frames
    with a fractional epoch, drawn live between the evaluations' frames; the run saves the
    evaluations' frames only (Explore's slider is by epoch), and ends on the last one."""
    from fusion.projection import warm_up

    warm_up()
    few_umap = {"pca": 1.0, "umap": 1e-4}  # PCA as often as it can; UMAP at the end
    result, sink = _train(
        small_latent, epochs=3, batch_size=8, shares=few_umap, peek=0.02, step_s=0.005
    )
    frames = sink.events[live.FRAME]
    partial = [f for f in frames if f["partial"]]
    assert partial, [f["epoch"] for f in frames]
    assert all(0 < f["epoch"] < 3 and f["epoch"] != int(f["epoch"]) for f in partial)
    assert not frames[-1]["partial"] and frames[-1]["epoch"] == 3
    drawn = [f["epoch"] for f in frames]
    assert drawn == sorted(drawn), drawn  # peeks fall between the evaluations
    labels = [live.epoch_label(f) for f in partial]
    assert all("." in x and float(x) <= f["epoch"] for x, f in zip(labels, partial, strict=True))
    assert live.epoch_label(frames[-1]) == "3"
    saved = result.history.live_frames
    assert saved["epochs"].dtype == np.int32 and set(saved["epochs"]) <= {0, 1, 2, 3}
    assert saved["epochs"][-1] == 3 and len(saved["pca"]) == len(saved["epochs"])
    np.testing.assert_array_equal(saved["umap"][-1], frames[-1]["umap"])


def test_frames_kept_by_a_page_are_thinned_keeping_the_first_and_the_newest():
    from fusion.jobs import MAX_LIVE_FRAMES, Progress

    p = Progress()
    for i in range(3 * MAX_LIVE_FRAMES):
        p.apply(live.FRAME, {"epoch": i / 4, "partial": i % 4 != 0})
    kept = p.live[live.FRAME]
    assert len(kept) <= MAX_LIVE_FRAMES
    assert kept[0]["epoch"] == 0 and kept[-1]["epoch"] == (3 * MAX_LIVE_FRAMES - 1) / 4
    epochs = [f["epoch"] for f in kept]
    assert epochs == sorted(set(epochs))
    # peeks go first: the older half holds more evaluations than peeks
    older = kept[: len(kept) // 2]
    assert sum(not f["partial"] for f in older) > len(older) / 4


def test_large_validation_sets_are_subsampled_deterministically():
    rows = live.live_rows(10_000, 2, 5000, seed=3)
    assert len(rows) == 2500 and np.array_equal(rows, live.live_rows(10_000, 2, 5000, seed=3))
    assert np.all(np.diff(rows) > 0)
    assert np.array_equal(live.live_rows(100, 2, 5000, seed=3), np.arange(100))
    rng = np.random.default_rng(0)
    X = [{m: rng.normal(size=(400, 8)).astype(np.float32) for m in "ab"} for _ in range(2)]
    lm, sink, h = _drive(X, max_points=300)
    p = sink.events[live.POINTS][0]
    assert len(p["sample"]) == 300 and set(np.bincount(p["modality"])) == {150}
    assert p["n_val"] == 400 and sink.events[live.FRAME][-1]["pca"].shape == (300, 2)


def test_collapse_shrinks_on_fixed_axes_without_nan():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(120, 8)).astype(np.float32)
    scales = [1.0, 0.3, 1e-2, 1e-4, 0.0]  # the last: every point the same
    X = [{"a": base * s + 5.0, "b": base * s + 5.0} for s in scales]
    lm, sink, h = _drive(X, wait=True, shares=NO_BUDGET)
    frames = sink.events[live.FRAME]
    assert [f["epoch"] for f in frames] == list(range(len(scales)))
    for f in frames:
        assert np.isfinite(f["pca"]).all() and np.isfinite(f["umap"]).all()
    assert np.isinf(live.collapse_factor(frames[-1])) or live.collapse_factor(frames[-1]) > 100
    pcas = [f["pca"] for f in frames]
    ranges = live.axis_ranges(pcas, "pca")
    assert all(np.isfinite(r).all() for r in ranges)
    first_span = np.ptp(pcas[0], axis=0).max()
    assert ranges[0][1] - ranges[0][0] >= first_span  # the axes keep the first frame's scale
    assert np.ptp(pcas[-1], axis=0).max() < 1e-3 * first_span  # ...and the cloud is a point


def test_slow_frames_drop_waiting_evaluations_but_never_the_last(monkeypatch):
    import fusion.projection as P

    real = P.next_frame

    def slow(*a, **kw):
        time.sleep(0.3)
        return real(*a, **kw)

    monkeypatch.setattr(P, "next_frame", slow)
    monkeypatch.setenv(projector.ENV_SWITCH, "0")  # frames here, where the patch is
    rng = np.random.default_rng(0)
    X = [{m: rng.normal(size=(60, 4)).astype(np.float32) for m in "ab"} for _ in range(8)]
    lm, sink, h = _drive(X, catch_up_s=0)  # the frames as drawn; none made afterwards
    epochs = [f["epoch"] for f in sink.events[live.FRAME]]
    assert epochs[-1] == 7 and len(epochs) < 8, epochs  # some dropped, the last kept
    assert list(h.live_frames["epochs"]) == epochs


@pytest.mark.slow
def test_umap_falls_back_to_pca_when_it_cannot_keep_up(monkeypatch):
    monkeypatch.setattr(umap_frames, "UMAP_SLOW_SECONDS", 0.0)
    rng = np.random.default_rng(0)
    X = [{m: rng.normal(size=(60, 4)).astype(np.float32) for m in "ab"} for _ in range(6)]
    lm, sink, h = _drive(X, sleep=0.5, shares=NO_BUDGET)
    frames = sink.events[live.FRAME]
    assert [f["umap"] is None for f in frames] == [False] * 3 + [True] * (len(frames) - 3)
    assert frames[-1]["umap_fallback"] and frames[-1]["pca"] is not None
    assert len(h.live_frames["umap"]) == 3 and list(h.live_frames["umap_epochs"]) == [
        f["epoch"] for f in frames[:3]
    ]  # Explore replays UMAP on the epochs that have it


@pytest.mark.slow
def test_frames_keep_to_their_budget_and_the_last_frame_has_umap(monkeypatch):
    """UMAP frames costing 0.2 s while evaluations come every 20 ms (short epochs): frames
    take at most their share of the wall time, PCA still gives several frames a second,
    UMAP comes less often, and the last evaluation's frame gets UMAP all the same."""
    import fusion.projection as P

    real = P.next_frame
    busy = {"pca": 0.0, "umap": 0.0}
    umap_costs = [0.0]

    def timed(X, prev, method="umap", **kw):
        t0 = time.perf_counter()
        if method == "umap":
            time.sleep(0.2)
        out = real(X, prev, method, **kw)
        busy[method] += time.perf_counter() - t0
        if method == "umap":
            umap_costs.append(time.perf_counter() - t0)
        return out

    monkeypatch.setattr(P, "next_frame", timed)
    monkeypatch.setenv(projector.ENV_SWITCH, "0")  # frames here, where the patch is
    rng = np.random.default_rng(0)
    X = [{m: rng.normal(size=(60, 4)).astype(np.float32) for m in "ab"} for _ in range(150)]
    t0 = time.perf_counter()
    lm, sink, h = _drive(X, sleep=0.02, catch_up_s=0)  # the budget while training
    wall = time.perf_counter() - t0
    frames = sink.events[live.FRAME]
    with_umap = [f for f in frames if f["umap"] is not None]
    # Within its share of the wall time, but for the frame in flight when the share ran out
    # (a frame's cost is known only once it is made).
    allowed = live.FRAME_SHARES["umap"] * wall + max(umap_costs) + 0.05
    assert busy["umap"] <= allowed, (busy, wall, umap_costs)
    assert len(frames) / wall >= 2.0, (len(frames), wall)  # PCA: several frames a second
    assert 2 <= len(with_umap) < len(frames) / 2, (len(with_umap), len(frames))
    assert frames[-1]["epoch"] == 149 and frames[-1]["umap"] is not None
    saved = h.live_frames
    assert list(saved["umap_epochs"]) == [f["epoch"] for f in with_umap]
    assert len(saved["epochs"]) == len({f["epoch"] for f in frames})


def test_after_training_epochs_without_umap_get_one_and_the_last_frame_stays(monkeypatch):
    """A short run whose budget allowed few UMAP frames: after training, up to
    CATCH_UP_FRAMES epochs that had none get one (so Explore's UMAP slider steps through the
    run), in epoch order, and the last frame is still the one the live map drew."""
    _slow_umap(monkeypatch, 0.1)
    rng = np.random.default_rng(0)
    X = [{m: rng.normal(size=(60, 4)).astype(np.float32) for m in "ab"} for _ in range(40)]
    lm, sink, h = _drive(X, sleep=0.01, catch_up_s=30)
    live_umap = [f for f in sink.events[live.FRAME] if f["umap"] is not None]
    saved = h.live_frames
    epochs = list(saved["umap_epochs"])
    assert epochs == sorted(epochs) and len(set(epochs)) == len(epochs)
    assert len(epochs) >= min(len(live_umap) + live.CATCH_UP_FRAMES, 40) - 1, epochs
    assert epochs[-1] == 39
    np.testing.assert_array_equal(saved["umap"][-1], live_umap[-1]["umap"].astype(np.float32))
    drawn = {f["epoch"] for f in sink.events[live.FRAME]}
    assert set(saved["epochs"]) > drawn or len(drawn) == 40  # dropped evaluations got PCA
    assert list(saved["epochs"]) == sorted(saved["epochs"])


def test_attention_run_streams_weights_with_labels_and_mask(small_gated):
    result, sink = _train(small_gated, method="attention", loss="cross_entropy", epochs=3)
    p = sink.events[live.POINTS][0]
    att = sink.events[live.ATTENTION]
    assert [a["epoch"] for a in att] == [0, 1, 2, 3]
    S = len(p["sample"]) // len(p["modalities"])
    w = att[-1]["weights"]
    assert w.dtype == np.float16 and w.shape == (S, len(p["mask_names"]))
    assert np.allclose(w.astype(float).sum(axis=1), 1.0, atol=1e-2)
    assert p["mask"].shape == w.shape and p["labels"].shape == (S,)
    epochs, means, unrel = live.attention_summary(att, p["mask"])
    assert epochs == [0, 1, 2, 3] and means.shape == (4, w.shape[1])
    assert unrel is not None and unrel.shape == means.shape


def test_frames_are_compact():
    """100 frames of 5,000 points, both maps: well under 50 MB, and small events."""
    rng = np.random.default_rng(0)
    record = live.FrameRecord()
    record.rows, record.names = np.arange(2500), ["a", "b"]
    for e in range(100):
        for m in ("pca", "umap"):
            record.add(m, e, rng.normal(size=(5000, 2)).astype(np.float32))
    saved = record.saved()
    total = sum(a.nbytes for a in saved.values())
    assert total < 50e6, total
    frame = {"epoch": 1, "pca": saved["pca"][0], "umap": saved["umap"][0], "spread": 1.0}
    assert len(pickle.dumps(frame)) < 100_000


def test_old_runs_without_frames_open_as_before(tmp_path):
    assert live.load_frames(tmp_path) is None
    (tmp_path / live.FRAMES_FILE).write_bytes(b"not an npz")
    assert live.load_frames(tmp_path) is None


def test_switched_off_gives_no_callbacks():
    cfg = default_config("joint", "info_nce", epochs=1)
    with live.switched(False):
        assert live.live_callbacks(cfg, lambda k, p: None) == []
    assert len(live.live_callbacks(cfg, lambda k, p: None)) == 1


@pytest.mark.parametrize("method", ["pca", "umap"])
def test_points_frame_feeds_the_map(method):
    from fusion.plots.live import live_map

    rng = np.random.default_rng(0)
    X = [{m: rng.normal(size=(50, 4)).astype(np.float32) for m in "ab"} for _ in range(2)]
    lm, sink, h = _drive(X)
    p, f = sink.events[live.POINTS][0], sink.events[live.FRAME][-1]
    df = live.points_frame(p, f[method])
    assert len(df) == 100 and set(df["modality"]) == {"a", "b"}
    fig = live_map(df, live.axis_ranges([f[method]], method), color_by="label", show_pairs=True)
    assert fig.layout.transition.duration > 0 and fig.layout.xaxis.autorange is False
    # Every point is drawn once, where the frame puts it, in its class's traces...
    drawn = [tr for tr in fig.data if (tr.legendgroup or "").startswith("label:")]
    xy = np.concatenate([np.column_stack([tr.x, tr.y]) for tr in drawn]).astype(float)
    want = f[method].astype(float)
    np.testing.assert_allclose(xy[np.lexsort(xy.T)], want[np.lexsort(want.T)], rtol=1e-6)
    assert {tr.name for tr in drawn} == set(df["label_name"])
    # ...and one line trace joins each sample's two points (a gap between samples).
    (pairs,) = [tr for tr in fig.data if tr.mode == "lines"]
    seg = np.asarray(pairs.x, dtype=float).reshape(50, 3)
    assert np.isnan(seg[:, 2]).all()
    ends = np.sort(seg[:, :2], axis=1)
    same = np.sort(df.sort_values(["sample", "modality"])["u"].to_numpy().reshape(50, 2), axis=1)
    np.testing.assert_allclose(ends[np.lexsort(ends.T)], same[np.lexsort(same.T)], rtol=1e-6)
    assert {tr.type for tr in fig.data} == {"scatter"}  # SVG markers: Plotly animates them


def test_a_webgl_map_has_no_transition():
    """5,000 points are drawn with WebGL, whose markers Plotly cannot animate: a transition
    would only animate the axes, redrawing every point on each animation frame."""
    from fusion.plots.live import live_map

    rng = np.random.default_rng(0)
    n = 2500
    points = {
        "sample": np.tile(np.arange(n, dtype=np.int32), 2),
        "modality": np.repeat(np.arange(2, dtype=np.int8), n),
        "modalities": ["a", "b"],
        "labels": None,
        "reliability": np.full(2 * n, np.nan, dtype=np.float16),
    }
    coords = rng.normal(size=(2 * n, 2)).astype(np.float32)
    fig = live_map(live.points_frame(points, coords), live.axis_ranges([coords], "umap"))
    assert {tr.type for tr in fig.data} == {"scattergl"}
    assert "transition" not in fig.to_plotly_json()["layout"]
    assert fig.layout.uirevision == "live"


def test_a_stuck_umap_frame_never_holds_the_end_of_training(monkeypatch):
    """A UMAP frame that does not come (a stuck projection) is given up after the timeout:
    the training ends, its frames saved with PCA, and the map carries on without UMAP."""
    import fusion.projection as P

    _slow_umap(monkeypatch, 3.0)
    monkeypatch.setattr(projector, "FRAME_TIMEOUT_SECONDS", 0.5)
    rng = np.random.default_rng(0)
    X = [{m: rng.normal(size=(60, 4)).astype(np.float32) for m in "ab"} for _ in range(3)]
    P.warm_up()  # UMAP compiled (seconds) before the clock starts, as in a worker
    t0 = time.perf_counter()
    lm, sink, h = _drive(X, shares=NO_BUDGET, wait_pca=True)
    assert time.perf_counter() - t0 < 2.5  # not the 3 s of the stuck frame
    assert not lm.frames.umap.use_umap and list(h.live_frames["epochs"]) == [0, 1, 2]
    assert "umap" not in h.live_frames
