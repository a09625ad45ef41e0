"""Hostile and big inputs: budgets checked before allocation, costs bounded by size.

The files come from tests/data/make_hostile_files.py, generated into a temporary folder.
Each is loaded in a subprocess that imports only ``fusion.loaders`` (not torch, whose
import alone maps gigabytes of address space) under an address-space limit
(``RLIMIT_AS``); the child reports the outcome, the message and its own peak resident
memory (``VmHWM``; ``ru_maxrss`` would include the parent's memory at the fork), which must stay under :data:`PEAK_LIMIT_MB` (or ten times the
file's size, whichever is larger) for any file, and near the bare imports for a file
refused from its declarations.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fusion import budget, loaders, metrics
from fusion.config import default_config
from fusion.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
AS_LIMIT = 3 * 2**30  # address space of the loading child
PEAK_LIMIT_MB = 2048  # stated peak for any file under the upload cap (or 10x its size)
REFUSED_PEAK_MB = 400  # a refused file costs little more than the imports (~110 MB)

PROBE = """
import json, resource, sys, time


def peak_mb():
    # VmHWM is this program's own peak; ru_maxrss also counts the parent's memory at fork.
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
t0 = time.perf_counter()
from fusion import budget, errors, loaders
out = {"budget": budget.max_values()}
t1 = time.perf_counter()
try:
    d = loaders.load(sys.argv[1])
    out.update(ok=True, n=d.n, shapes={k: list(v.shape) for k, v in d.modalities.items()})
except errors.FusionError as e:
    out.update(ok=False, type=type(e).__name__, key=e.key, message=str(e), zh=e.localized("zh"))
except BaseException as e:
    out.update(ok=False, type=type(e).__name__, key=None, message=repr(e)[:2000])
out.update(
    torch="torch" in sys.modules,
    seconds=time.perf_counter() - t1,
    peak_mb=peak_mb(),
)
print(json.dumps(out))
"""


def _maker():
    spec = importlib.util.spec_from_file_location("make_hostile", DATA / "make_hostile_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE = _maker()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Every hostile file but the big CSV, written once for this module."""
    out = tmp_path_factory.mktemp("hostile")
    return {name: make(out) for name, make in MAKE.MAKERS.items() if name != "csv_many_rows"}


@pytest.fixture(scope="module")
def many_rows(tmp_path_factory):
    """1.5 million pairs, 4 columns, about 37 MB of CSV."""
    return MAKE.make_csv_many_rows(tmp_path_factory.mktemp("many_rows"))


def probe(path: Path, max_values: int = 20_000_000) -> dict:
    """Load ``path`` in a child under RLIMIT_AS; its outcome, message, seconds and peak MB.

    ``max_values`` is set below what the child's address space would allow (about 30
    million values), so the budget in the messages is the setting, not a measurement.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FUSION_MAX_VALUES": str(max_values)}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(path), str(AS_LIMIT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, f"the loading child died ({proc.returncode}):\n{proc.stderr}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not out["torch"], "loading a file imported torch"
    size_mb = path.stat().st_size / 2**20
    print(f"{path.name}: {size_mb:.1f} MB, {out['seconds']:.2f} s, peak {out['peak_mb']:.0f} MB")
    assert out["peak_mb"] < max(PEAK_LIMIT_MB, 10 * size_mb), out
    return out


def _refused(out: dict, key: str, *fragments: str) -> None:
    assert not out["ok"], f"loaded instead of refused: {out}"
    assert out["type"] == "DataError" and out["key"] == key, out
    msg = out["message"]
    for f in fragments:
        assert f in msg, f"{f!r} not in: {msg}"
    assert "Traceback" not in msg and "\n" not in msg, msg
    assert out["peak_mb"] < REFUSED_PEAK_MB, f"refused, but only after {out['peak_mb']:.0f} MB"


# -- NPZ --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_npz_deflate_bomb_is_refused_from_its_headers(hostile):
    path = hostile["npz_deflate_bomb"]
    assert path.stat().st_size < loaders.max_file_bytes()  # under the file-size bound
    out = probe(path)
    _refused(
        out,
        "errors.budget.npz_array",
        "'npz_deflate_bomb.npz'",
        "Array 'a'",
        "(1000000, 1000)",
        "1,000,000,000 values",
        f"{out['budget']:,} values",
        "Subsample the rows",
        "reduce the dimensions",
    )
    assert out["seconds"] < 5
    assert "1,000,000,000" in out["zh"] and "抽样" in out["zh"]


def test_npz_shape_bomb_is_refused_from_its_headers(hostile):
    out = probe(hostile["npz_shape_bomb"])
    _refused(out, "errors.budget.npz_array", "(200000000, 100)", "20,000,000,000 values")


def test_npz_member_shorter_than_its_header_is_refused_before_allocating(hostile):
    out = probe(hostile["npz_short_member"])
    _refused(out, "errors.budget.npz_short", "Array 'a'", "(2000000, 10)", "np.savez")


def test_npz_with_thousands_of_members_is_refused(hostile):
    out = probe(hostile["npz_many_arrays"])
    _refused(out, "errors.budget.npz_arrays", "5000 arrays", f"at most {budget.MAX_NPZ_ARRAYS}")


def test_zip_inside_npz_and_npz_inside_zip_are_refused(hostile):
    # NumPy hands a member without the .npy magic over as raw bytes, inflated whole.
    _refused(probe(hostile["zip_in_npz"]), "errors.budget.npz_not_npy", "'a.npy'", "np.savez")
    _refused(probe(hostile["nested_zip"]), "errors.loaders.is_zip", "'nested.zip'", "Extract")


def test_npz_arrays_over_budget_together_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_MAX_VALUES", "1000")
    path = tmp_path / "two.npz"
    np.savez(path, a=np.ones((100, 6)), b=np.ones((100, 6)))  # 600 + 600 values
    with pytest.raises(DataError) as info:
        loaders.load(path)
    assert info.value.key == "errors.budget.npz_total"
    assert "1,200 values" in str(info.value) and "1,000 values" in str(info.value)


# -- tables -----------------------------------------------------------------------------------


def test_csv_of_empty_cells_is_refused_before_parsing(hostile):
    out = probe(hostile["csv_empty_cells"])
    _refused(
        out,
        "errors.budget.table",
        "'csv_empty_cells.csv'",
        "× 1,000 columns",
        f"over the budget of {out['budget']:,} values",
        "Subsample the rows",
    )


@pytest.mark.slow
def test_parquet_row_bomb_is_refused_from_its_metadata(hostile):
    out = probe(hostile["parquet_row_bomb"])
    _refused(
        out,
        "errors.budget.table",
        "'parquet_row_bomb.parquet'",
        "30,000,000 rows × 2 columns = 60,000,000 values",
    )


@pytest.mark.slow
def test_wide_parquet_loads_within_the_peak(hostile):
    out = probe(hostile["parquet_wide"])
    assert out["ok"], out
    assert out["shapes"] == {"a": [500, 6000], "b": [500, 6000]}


@pytest.mark.slow
def test_many_row_csv_loads_within_the_peak(many_rows):
    out = probe(many_rows)
    assert out["ok"], out
    assert out["n"] == 1_500_000


def test_many_row_csv_over_a_lowered_budget_is_refused_while_counting(many_rows):
    out = probe(many_rows, max_values=1_000_000)
    _refused(
        out,
        "errors.budget.table",
        "1,500,000 rows × 4 columns = 6,000,000 values",
        "over the budget of 1,000,000 values",
        "at most 250,000",
    )


def test_the_budget_holds_for_all_files_of_an_upload(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_MAX_VALUES", "1000")
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    pd.DataFrame(np.ones((200, 3))).add_prefix("f").to_csv(a, index=False)  # 600 values
    pd.DataFrame(np.ones((200, 3))).add_prefix("g").to_csv(b, index=False)
    loaders.load_table(a)  # each file alone fits
    with pytest.raises(DataError) as info:
        loaders.from_files([a, b])
    assert info.value.key == "errors.budget.files_total"
    assert "'b.csv'" in str(info.value) and "1,200 values" in str(info.value)


def test_rows_are_counted_as_pandas_reads_them():
    text = 'x,y\n1,"two\nlines"\n\n3,4\n5,6'
    assert budget.count_text_rows(text, ",") == len(pd.read_csv(pd.io.common.StringIO(text)))
    assert budget.count_text_rows("x,y\n1,2\n3,4\n", ",") == 2
    assert budget.count_text_rows("x,y\n1,2\n3,4", ",") == 2


def test_budget_follows_the_setting_and_the_memory(monkeypatch):
    monkeypatch.setenv("FUSION_MAX_VALUES", "1234")
    assert budget.max_values() == 1234
    monkeypatch.setenv("FUSION_MAX_VALUES", "not a number")
    monkeypatch.setattr(budget, "available_memory", lambda: 10**12)
    assert budget.max_values() == budget.DEFAULT_MAX_VALUES
    monkeypatch.setattr(budget, "available_memory", lambda: 400 * 2**20)  # a small VM
    expected = int(400 * 2**20 * budget.MEMORY_FRACTION) // budget.BYTES_PER_VALUE
    assert budget.max_values() == expected
    assert budget.available_memory() == 400 * 2**20


def test_memory_error_while_loading_is_a_clear_message(tmp_path, monkeypatch):
    path = tmp_path / "ok.csv"
    pd.DataFrame({"a__x": range(20), "b__y": range(20)}).to_csv(path, index=False)

    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 8.00 GiB")

    monkeypatch.setattr(pd, "read_csv", no_memory)
    with pytest.raises(DataError) as info:
        loaders.load(path)
    err = info.value
    assert err.key == "errors.budget.out_of_memory"
    assert "'ok.csv'" in str(err) and "Subsample the rows" in str(err)
    assert err.__cause__ is None and err.__context__ is None


def test_memory_error_under_a_real_limit_is_a_clear_message(many_rows):
    """No budget (FUSION_MAX_VALUES huge) and a 600 MB address space: still no traceback."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FUSION_MAX_VALUES": str(10**12)}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(many_rows), str(600 * 2**20)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not out["ok"] and out["type"] == "DataError", out
    assert out["key"] in ("errors.budget.out_of_memory", "errors.budget.table"), out


# -- costs bounded by size --------------------------------------------------------------------


def _pairs(n: int, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(n, 8))
    emb = {"a": shared + 0.3 * rng.normal(size=(n, 8)), "b": shared + 0.3 * rng.normal(size=(n, 8))}
    return emb, np.arange(n) % 4


def test_retrieval_runs_on_a_seeded_subsample_above_max_rows():
    emb, labels = _pairs(3000)
    out = metrics.joint_metrics(emb, labels, max_rows=1000)
    again = metrics.joint_metrics(emb, labels, max_rows=1000)
    assert out == again  # deterministic
    rows = metrics.retrieval_subsample(3000, 1000)
    assert len(rows) == 1000 and np.all(np.diff(rows) > 0)
    on_rows = metrics.retrieval({k: v[rows] for k, v in emb.items()}["a"], emb["b"][rows], "a", "b")
    for key, value in on_rows.items():
        assert out[key] == pytest.approx(value), key
    assert out["recall_at_1_mean_chance"] == 1 / 1000
    precision = metrics.class_retrieval_precision(emb["a"][rows], emb["b"][rows], labels[rows])
    assert out["class_precision_at_10_a_to_b"] == pytest.approx(
        precision["class_precision_at_10_a_to_b"]
    )
    # Everything linear still uses every row.
    assert out["alignment_a_b"] == pytest.approx(metrics.alignment(emb["a"], emb["b"])["alignment"])
    assert metrics.retrieval_rows(3000, 1000) == 1000 and metrics.retrieval_rows(500) == 500


@pytest.mark.slow
def test_retrieval_cost_stays_bounded_at_fifty_thousand_rows():
    emb, labels = _pairs(50_000, seed=1)
    small, small_labels = _pairs(metrics.RETRIEVAL_MAX_ROWS, seed=1)
    start = time.perf_counter()
    metrics.joint_metrics(small, small_labels)
    at_max = time.perf_counter() - start
    start = time.perf_counter()
    out = metrics.joint_metrics(emb, labels)
    at_50k = time.perf_counter() - start
    # Quadratic cost would be 25x; the linear parts of 5x the rows cost far less than that.
    assert at_50k < 3 * at_max + 2, (at_50k, at_max)
    assert out["recall_at_1_mean_chance"] == 1 / metrics.RETRIEVAL_MAX_ROWS


def test_a_run_records_how_many_rows_retrieval_ranked(small_latent, runs_dir):
    from fusion.experiment import default_config, run_experiment
    from fusion.runs import load_run, save_run

    result = run_experiment(small_latent, default_config("joint", epochs=1, n_snapshots=1))
    assert result.metrics["retrieval_rows"] == result.val.n
    path = save_run(result, root=runs_dir, name="rows")
    assert json.loads((path / "metrics.json").read_text())["retrieval_rows"] == result.val.n
    assert load_run(path).metrics["retrieval_rows"] == result.val.n


def test_run_time_estimate_grows_with_the_data_and_flags_long_runs():
    from fusion.estimate import LONG_RUN_S, estimate_run
    from fusion.experiment import default_config

    shapes = {"a": (2,), "b": (2,)}
    cfg = default_config("joint", "info_nce", epochs=20)
    small = estimate_run(2000, shapes, cfg, busy=1.0)
    big = estimate_run(1_500_000, shapes, cfg, busy=1.0)
    assert not small.long and small.seconds < 5
    # Trained on what the run trains on: 20 % held out for validation, 20 % for the test.
    assert big.long and big.seconds > LONG_RUN_S and big.n_train == 900_000
    assert big.seconds > 100 * small.seconds
    one = estimate_run(1_500_000, shapes, default_config("joint", "info_nce", epochs=1), busy=1.0)
    # Evaluation is bounded: it does not grow with the square of 300,000 validation rows.
    assert one.eval_seconds < 60
    assert estimate_run(1_500_000, shapes, cfg, device="cuda", busy=1.0).seconds < big.seconds
    cca = estimate_run(1_500_000, shapes, default_config("cca"), busy=1.0)
    assert cca.seconds > 0 and cca.epochs == 1
    # A busy machine is slower: the estimate scales with the load per core.
    busy = estimate_run(2000, shapes, cfg, busy=3.0)
    assert busy.seconds == pytest.approx(3.0 * small.seconds)
    # A joint run's per-epoch metrics are on the training's time budget (EVAL_SHARE): a
    # hundred times the epochs is nowhere near a hundred times the evaluation.
    two = estimate_run(2000, shapes, default_config("joint", epochs=2), True, busy=1.0)
    many = estimate_run(2000, shapes, default_config("joint", epochs=200), True, busy=1.0)
    assert many.eval_seconds < 5 * two.eval_seconds
    # Small data is cross-validated (20 test rows < 30): five runs, one fold held out each.
    cv = estimate_run(100, shapes, cfg, busy=1.0)
    one_split = estimate_run(
        100, shapes, default_config("joint", epochs=20, min_test_rows=0), busy=1.0
    )
    assert cv.n_train == one_split.n_train == 60
    assert cv.seconds == pytest.approx(5 * one_split.seconds)


@pytest.mark.slow
def test_many_row_csv_trains_one_epoch_end_to_end(many_rows, tmp_path):
    """1.5 million pairs through ``python -m fusion train``: evaluation within training time."""
    out = tmp_path / "runs" / "many"
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "fusion", "train", "--data", str(many_rows), "--method", "joint"]
        + ["--loss", "info_nce", "--epochs", "1", "--seed", "0", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    wall = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    epochs = pd.read_csv(out / "epochs.csv")
    train_s = float(epochs.loc[epochs["epoch"] == 1, "seconds"].iloc[0])
    total_s = json.loads((out / "run.json").read_text())["seconds"]
    eval_s = total_s - train_s
    found = json.loads((out / "metrics.json").read_text())
    print(f"1,500,000 rows: train {train_s:.1f} s, evaluation {eval_s:.1f} s, wall {wall:.1f} s")
    assert found["retrieval_rows"] == metrics.RETRIEVAL_MAX_ROWS
    assert eval_s <= train_s, (train_s, eval_s)


def test_train_page_states_the_estimate_and_warns_before_a_long_run(small_latent):
    from streamlit.testing.v1 import AppTest

    from fusion.data import PairedData
    from tests.apptest_helpers import APP, TIMEOUT
    from views.site import TRAIN

    def train_page(data: PairedData) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.session_state["dataset"] = data
        at.session_state["dataset_label"] = "data"
        at.run()
        at.switch_page(TRAIN.script)
        return at.run()

    at = train_page(small_latent)
    assert not at.exception, at.exception
    assert any("Estimated time with these settings" in c.value for c in at.caption)
    assert not any("This run is long" in w.value for w in at.warning)
    rng = np.random.default_rng(0)
    big = PairedData({"a": rng.normal(size=(1_500_000, 2)), "b": rng.normal(size=(1_500_000, 2))})
    at = train_page(big)
    assert not at.exception, at.exception
    long = [w.value for w in at.warning if "This run is long" in w.value]
    epochs = default_config("joint").train.epochs  # the form's default (an upper bound)
    assert long and f"900,000 training pairs × {epochs} epochs" in long[0], long


def test_a_file_is_bounded_by_the_memory_budget_not_a_fixed_byte_cap(monkeypatch):
    """A 100 MB file (100,000 pairs of 128-d vectors as Parquet) passes the size check under
    the default budget; the same bytes under a budget of a million values are refused by
    size, with a message that names the budget."""
    from fusion.loaders.formats import _check_size

    monkeypatch.setattr(budget, "available_memory", lambda: None)
    monkeypatch.delenv("FUSION_MAX_VALUES", raising=False)
    assert budget.max_file_bytes() == budget.DEFAULT_MAX_VALUES * budget.FILE_BYTES_PER_VALUE
    _check_size(int(99.5 * 2**20), "pairs_100k.parquet")  # no error
    monkeypatch.setenv("FUSION_MAX_VALUES", "1000000")
    with pytest.raises(DataError) as info:
        _check_size(int(99.5 * 2**20), "pairs_100k.parquet")
    assert info.value.key == "errors.loaders.too_large"
    assert "99.5 MB" in str(info.value) and "1,000,000 values" in str(info.value)
