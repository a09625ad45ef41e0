"""Property-based fuzzing: whatever a user feeds in, only a FusionError escapes.

Random bytes, random text tables and random DataFrames go through the loaders
(under .csv/.tsv/.parquet/.npz names); random config dicts go through
RunConfig.from_dict(...).validate(data), TrainConfig(**kw).validate() and
generators.generate(name, **params). Each call either succeeds (a loader then
returns a valid PairedData) or raises FusionError with a short message without
a traceback. Example counts are kept small so each test runs in a few seconds.
"""

from __future__ import annotations

import dataclasses
import io
import math
import re
import string
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from fusion import generators, loaders
from fusion.data import MIN_ROWS, PairedData
from fusion.errors import FusionError
from fusion.experiment import RunConfig
from fusion.registry import METHODS
from fusion.train import TrainConfig

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same examples on every run: a failure here is never flaky
)
NAMES = ("data.csv", "data.tsv", "data.parquet", "data.npz", "data.txt", "data")


def _check_message(e: FusionError) -> None:
    msg = str(e)
    assert msg and len(msg) < 600, msg
    assert "Traceback" not in msg and 'File "' not in msg, msg


def _check_paired(d: PairedData) -> None:
    assert isinstance(d, PairedData)
    assert d.n >= MIN_ROWS and d.n_modalities >= 2
    for arr in d.modalities.values():
        assert arr.dtype == np.float32 and arr.shape[0] == d.n
        assert np.isfinite(arr).all()
    assert len(d.ids) == d.n
    if d.labels is not None:
        assert d.labels.shape == (d.n,) and len(d.label_names) >= 2
        assert d.labels.min() >= 0 and d.labels.max() < len(d.label_names)


def _only_fusion_errors(fn, *args, **kwargs):
    """Call fn; a FusionError is fine (its message is checked), anything else fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = fn(*args, **kwargs)
        except FusionError as e:
            _check_message(e)
            event(f"{getattr(fn, '__name__', 'call')}: {type(e).__name__}")
            event("MSG " + re.sub(r"'[^']*'|\d+", "_", str(e))[:70])
            return None
    event(f"{getattr(fn, '__name__', 'call')}: ok")
    return result


def _load_everything(data: bytes, name: str) -> None:
    """Every public entry point on one file; results must be valid PairedData / DataFrames."""
    d = _only_fusion_errors(loaders.load, (name, data))
    if d is not None:
        _check_paired(d)
    df = _only_fusion_errors(loaders.load_table, data, name=name)
    if df is not None:
        assert isinstance(df, pd.DataFrame) and df.shape[0] >= 1 and df.shape[1] >= 1
        _only_fusion_errors(loaders.suggest_mapping, df)
        d = _only_fusion_errors(loaders.from_table, df, nan_policy="drop")
        if d is not None:
            _check_paired(d)
    _only_fusion_errors(loaders.detect_format, io.BytesIO(data), name=name)


# -- random bytes ----------------------------------------------------------------------------

MAGICS = [b"", b"PAR1", b"PK\x03\x04", b"\x93NUMPY", b"\x80\x04", b"\x1f\x8b", b"\xef\xbb\xbf"]


@FUZZ
@given(prefix=st.sampled_from(MAGICS), body=st.binary(max_size=300), name=st.sampled_from(NAMES))
def test_random_bytes(prefix, body, name):
    _load_everything(prefix + body, name)


# -- random text tables ----------------------------------------------------------------------

NUMBER = st.one_of(
    st.integers(-1000, 1000).map(str), st.floats(-1e6, 1e6).map(lambda v: f"{v:.4g}")
)
WEIRD_CELL = st.one_of(
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-inf", "NA", "null", "1e400", "True", "1,5"]),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet=string.printable + "é中文,\"'", max_size=6),
)
HEADER = st.one_of(
    st.sampled_from(["a__x", "a__y", "b__x", "b__y", "c__z", "label", "id", "y", "img_0", "img_1"]),
    st.text(alphabet=string.ascii_letters + "_ 中é", max_size=6),
)


def _header(draw, n_cols: int) -> list[str]:
    """Mostly a well-formed header (unique, two prefixes, maybe label/id); sometimes random."""
    if draw(st.integers(0, 3)) == 0:
        return [draw(HEADER) for _ in range(n_cols)]
    extra = draw(st.sampled_from([[], ["label"], ["id", "label"], ["y"], ["名字"]]))
    k = max(n_cols - len(extra), 2)
    cols = [f"{'ab'[i % 2]}__{i}" for i in range(k)]
    return draw(st.permutations(cols + extra))


def _cell(draw, weird: float) -> str:
    """A number, or (with probability ``weird``) a missing, infinite or text value."""
    return draw(WEIRD_CELL) if draw(st.floats(0, 1)) < weird else draw(NUMBER)


@st.composite
def text_tables(draw):
    n_cols = draw(st.integers(1, 6))
    n_rows = draw(st.one_of(st.integers(0, 14), st.integers(10, 14)))
    weird = draw(st.sampled_from([0.0, 0.0, 0.0, 0.01, 0.1, 0.5]))
    name = draw(st.sampled_from(["t.csv", "t.tsv", "t.txt", "t"]))
    usual = "\t" if name.endswith(".tsv") else ","
    sep = draw(st.sampled_from([usual, usual, usual, ",", "\t", ";"]))
    header = _header(draw, n_cols)
    n_cols = len(header)
    rows = [[_cell(draw, weird) for _ in range(n_cols)] for _ in range(n_rows)]
    if "label" in header and draw(st.booleans()):  # class names as labels
        j = header.index("label")
        for r in rows:
            r[j] = draw(st.sampled_from(["cat", "dog", "猫", ""]))
    if draw(st.integers(0, 4)) == 0 and rows:  # a ragged row
        rows[draw(st.integers(0, len(rows) - 1))].append("9")
    quote = draw(st.booleans())
    lines = [sep.join(f'"{c}"' if quote else c for c in r) for r in [header, *rows]]
    text = "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
    return text.encode(encoding, errors="replace"), name


@pytest.mark.slow
@FUZZ
@given(table=text_tables())
def test_random_text_tables(table):
    _load_everything(*table)


@FUZZ
@given(n=st.integers(10, 14), k=st.integers(1, 3), name=st.sampled_from(["t.csv", "t.tsv"]))
def test_random_numeric_tables_with_prefixes_load(n, k, name):
    """A well-formed numeric prefix table always loads (the fuzzers above mostly see errors)."""
    rng = np.random.default_rng(n * 10 + k)
    df = pd.DataFrame(rng.normal(size=(n, 2 * k)))
    df.columns = [f"a__{i}" for i in range(k)] + [f"b__{i}" for i in range(k)]
    df["label"] = np.arange(n) % 2
    sep = "\t" if name.endswith(".tsv") else ","
    d = loaders.load((name, df.to_csv(index=False, sep=sep).encode()))
    _check_paired(d)
    assert d.n == n and d.n_classes == 2


# -- random DataFrames ----------------------------------------------------------------------

VALUE = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**62), 2**62),
    st.booleans(),
    st.text(max_size=4),
    st.sampled_from([float("nan"), float("inf"), "", "1", "2.5"]),
)


@st.composite
def frames(draw):
    n_rows = draw(st.one_of(st.integers(0, 14), st.integers(10, 14)))
    cols = _header(draw, draw(st.integers(0, 5)))
    n_cols = len(cols)
    data = {}
    for j in range(n_cols):
        kind = draw(st.sampled_from(["float", "float", "float", "int", "mixed", "str", "bool"]))
        if cols[j] in ("label", "y") and draw(st.booleans()):
            kind = "str"
        size = {"min_size": n_rows, "max_size": n_rows}
        if kind == "float":
            special = draw(st.booleans())
            v = draw(st.lists(st.floats(allow_nan=special, allow_infinity=special), **size))
        elif kind == "int":
            v = draw(st.lists(st.integers(-1000, 1000), **size))
        elif kind == "bool":
            v = draw(st.lists(st.booleans(), **size))
        elif kind == "str":
            v = draw(st.lists(st.sampled_from(["cat", "dog", "", "1", "x y"]), **size))
        else:
            v = draw(st.lists(VALUE, **size))
        data[j] = v
    df = pd.DataFrame(data)
    if n_cols:
        df.columns = cols  # may hold duplicates
    return df


def _frame_options(draw_df, draw):
    cols = [str(c) for c in draw_df.columns]
    pick = st.one_of(st.none(), st.sampled_from(cols)) if cols else st.none()
    return {
        "label_column": draw(pick),
        "id_column": draw(pick),
        "nan_policy": draw(st.sampled_from(["reject", "drop"])),
    }


@FUZZ
@given(df=frames(), data=st.data())
def test_random_dataframes_from_table(df, data):
    opts = _frame_options(df, data.draw)
    if data.draw(st.booleans()) and df.shape[1] >= 2:
        cols = [str(c) for c in df.columns]
        half = len(cols) // 2
        opts["modalities"] = {"m1": cols[:half], "m2": cols[half:]}
    d = _only_fusion_errors(loaders.from_table, df, **opts)
    if d is not None:
        _check_paired(d)
    _only_fusion_errors(loaders.suggest_mapping, df)


@pytest.mark.slow
@FUZZ
@given(df=frames(), fmt=st.sampled_from(["csv", "tsv", "parquet"]))
def test_random_dataframes_through_files(df, fmt):
    assume(df.columns.is_unique)
    buf = io.BytesIO()
    try:
        if fmt == "parquet":
            df.to_parquet(buf)
        else:
            df.to_csv(buf, index=False, sep="\t" if fmt == "tsv" else ",")
    except Exception:  # pyarrow refuses some mixed-type columns: nothing a user could upload
        assume(False)
    _load_everything(buf.getvalue(), f"f.{fmt}")


def _odd_array(shape: tuple, dtype: str, fill: float) -> np.ndarray:
    if dtype == "U3":
        return np.full(shape, str(fill), dtype="U3")
    with np.errstate(invalid="ignore"):  # NaN/inf cast to int: any value will do
        return np.full(shape, fill).astype(dtype)


ODD_ARRAY = st.builds(
    _odd_array,
    st.lists(st.integers(0, 13), min_size=0, max_size=4).map(tuple),
    st.sampled_from(["float64", "float32", "int64", "bool", "U3", "complex64"]),
    st.sampled_from([0.0, 1.5, float("nan"), float("inf")]),
)


@st.composite
def npz_contents(draw):
    """Mostly two or three (n, d) / (n, h, w) modalities plus labels/ids; some odd arrays."""
    n = draw(st.integers(8, 14))
    rng = np.random.default_rng(n)
    arrays = {}
    for key in draw(st.lists(st.sampled_from(["a", "b", "img"]), min_size=1, max_size=3)):
        shape = draw(st.sampled_from([(n, 3), (n, 1), (n, 2, 2), (n - 1, 3)]))
        arr = rng.normal(size=shape)
        if draw(st.integers(0, 4)) == 0:
            arr.flat[draw(st.integers(0, arr.size - 1))] = draw(
                st.sampled_from([np.nan, np.inf, 1e300])
            )
        with np.errstate(invalid="ignore", over="ignore"):  # inf/1e300 cast down: any value
            arrays[key] = arr.astype(draw(st.sampled_from(["float64", "float32", "int64"])))
    if draw(st.booleans()):
        arrays["labels"] = draw(
            st.sampled_from([np.arange(n) % 2, np.array(["x", "y"] * n)[:n], np.zeros(n)])
        )
    if draw(st.booleans()):
        arrays["ids"] = draw(st.sampled_from([np.arange(n), np.zeros(n, dtype=int)]))
    arrays.update(
        draw(st.dictionaries(st.sampled_from(["a", "odd", "labels", "id"]), ODD_ARRAY, max_size=1))
    )
    return arrays


@FUZZ
@given(arrays=npz_contents(), cut=st.sampled_from([0, 0, 0, 1, 2, 3]))
def test_random_npz(arrays, cut):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.savez(buf, **arrays)
    data = buf.getvalue()
    if cut:
        data = data[: len(data) * cut // 4]
    _load_everything(data, "d.npz")
    if not cut:
        _only_fusion_errors(loaders.load_npz, data, name="d.npz", nan_policy="drop")


# -- configs ---------------------------------------------------------------------------------

ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def _near(value):
    """Values near a valid one: same type, edge cases, or anything at all."""
    if isinstance(value, bool) or value is None:
        return st.one_of(st.booleans(), st.none(), ANY)
    if isinstance(value, int):
        return st.one_of(st.integers(-2, 300), st.sampled_from([0, 1, 2, 10**9]), ANY)
    if isinstance(value, float):
        return st.one_of(
            st.floats(-1, 2), st.sampled_from([0.0, 1e-9, math.nan, math.inf, -math.inf]), ANY
        )
    if isinstance(value, str):
        words = ["auto", "cpu", "cuda", "adam", "sgd", "cosine", "mlp", "cnn", "linear", "gelu"]
        return st.one_of(st.sampled_from(words), ANY)
    return ANY


def _leaves(d, prefix=()):
    for k, v in d.items():
        if isinstance(v, dict) and v:
            yield from _leaves(v, (*prefix, k))
        yield (*prefix, k), v


@st.composite
def run_config_dicts(draw):
    """A valid config dict (RunConfig.to_dict of a default) with a few fields changed."""
    from fusion.experiment import default_config

    method = draw(st.sampled_from(list(METHODS)))
    loss = draw(st.sampled_from(["info_nce", "triplet", "dcca", "seed_alignment"]))
    d = default_config(method, loss=loss if method == "joint" else None).to_dict()
    d["train"].update(epochs=1, batch_size=8)
    if loss == "triplet" and draw(st.booleans()):
        d["loss_params"] = {"margin": 0.2, "mining": "all"}
    for _ in range(draw(st.integers(0, 3))):
        leaves = list(_leaves(d))
        path, old = draw(st.sampled_from(leaves))
        target = d
        for key in path[:-1]:
            target = target[key]
        if draw(st.integers(0, 9)) == 0:
            del target[path[-1]]
        else:
            target[path[-1]] = draw(_near(old))
    if draw(st.integers(0, 9)) == 0:
        d[draw(st.sampled_from(["model", "train", "loss_params"]))] = draw(ANY)
    if draw(st.integers(0, 19)) == 0:
        model = d.get("model")
        d["model"] = {**(model if isinstance(model, dict) else {}), "bogus": 1}
    return d


@pytest.fixture(scope="module")
def tiny_data():
    return generators.shared_latent(n=40, n_classes=2, seed=0)


@FUZZ
@given(d=st.one_of(run_config_dicts(), run_config_dicts(), ANY))
def test_random_run_configs(d, tiny_data):
    cfg = _only_fusion_errors(RunConfig.from_dict, d)
    if cfg is not None:
        _only_fusion_errors(cfg.validate)
        _only_fusion_errors(cfg.validate, tiny_data)


TYPED = {
    int: st.integers(-(10**6), 10**6),
    float: st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-1, 2)),
    str: st.one_of(st.sampled_from(["adam", "sgd", "cosine", "cpu", "auto"]), st.text(max_size=6)),
    bool: st.booleans(),
}


@FUZZ
@given(data=st.data())
def test_random_train_configs(data):
    """TrainConfig built in Python with values of its annotated types (any range, NaN, inf).

    Values of the wrong type (text for a number, ...) come from JSON; they are checked by
    RunConfig (see test_random_run_configs), which validates every field's type first.
    """
    kw = {}
    for f in dataclasses.fields(TrainConfig):
        if data.draw(st.booleans()):
            kind = int if f.name == "threads" else type(f.default)
            kw[f.name] = data.draw(TYPED[kind])
    cfg = TrainConfig(**kw)
    _only_fusion_errors(cfg.validate, data.draw(st.one_of(st.none(), st.integers(0, 500))))
    _only_fusion_errors(RunConfig(train=cfg).validate)


@st.composite
def generator_calls(draw):
    """A generator name and small valid parameters with a few changed to anything."""
    name = draw(st.sampled_from(list(generators.GENERATORS)))
    specs = generators.GENERATOR_SPECS[name].params
    params = {"n": 20}  # small and fast; then mutate
    for _ in range(draw(st.integers(0, 3))):
        p = draw(st.sampled_from(list(specs)))
        spec = specs[p]
        if not spec.choices:
            lo, hi = spec.lo, spec.hi
            if p == "n":
                hi = lo + 40  # large n is only slow, not interesting
            good = st.integers(lo, hi) if spec.type is int else st.floats(lo, hi)
            edge = st.sampled_from([lo - 1, hi + 1, math.nan, math.inf, -1, 0, 1.5, True, "3"])
            params[p] = draw(
                st.one_of(good, edge, ANY, st.lists(st.one_of(good, edge), max_size=7))
            )
        else:
            opts = st.sampled_from(spec.choices)
            params[p] = draw(st.one_of(opts, st.lists(opts, max_size=3), ANY))
    if draw(st.integers(0, 19)) == 0:
        params["bogus"] = 1
    if draw(st.integers(0, 19)) == 0:
        name = draw(st.text(max_size=8))
    return name, params


@settings(max_examples=60, deadline=None, derandomize=True)
@given(call=generator_calls())
def test_random_generator_params(call):
    name, params = call
    d = _only_fusion_errors(generators.generate, name, **params)
    if d is not None:
        assert isinstance(d, PairedData) and d.n >= MIN_ROWS
        for arr in d.modalities.values():
            assert np.isfinite(arr).all()


# -- regressions: what the fuzzers found, pinned as plain examples ------------------------------


def _npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        # suggest_mapping crashed (pandas ValueError) on duplicate column names
        (
            lambda: loaders.suggest_mapping(pd.DataFrame([[1, 2]], columns=["id", "id"])),
            "duplicate column names: 'id'",
        ),
        # a 0-d array in an NPZ crashed with IndexError
        (
            lambda: loaders.load(("d.npz", _npz_bytes(a=np.zeros((12, 2)), b=np.array(0.0)))),
            "Array 'b' in 'd.npz' is a single value",
        ),
        # finite float64 beyond float32 became inf in PairedData
        (
            lambda: loaders.from_table(
                pd.DataFrame({"a__x": [0.0] * 11 + [3.5e38], "b__y": np.arange(12.0)})
            ),
            "column 'a__x' holds 3.5e\\+38 in data row 12.*Rescale",
        ),
        # config values of the wrong type reached comparisons (TypeError, AttributeError)
        (
            lambda: RunConfig.from_dict({"method": "joint", "train": {"epochs": "ten"}}),
            "TrainConfig.epochs must be an integer, got 'ten'",
        ),
        (
            lambda: RunConfig.from_dict({"method": "joint", "model": {"encoder": 5}}).validate(),
            "JointConfig.encoder must be a dict of EncoderConfig fields",
        ),
        (
            lambda: RunConfig.from_dict({"method": "attention", "train": 5}).validate(),
            "'train' settings must be a TrainConfig",
        ),
        (
            lambda: RunConfig.from_dict({"method": "joint", "loss_params": 3}).validate(),
            "Loss parameters must be a dict",
        ),
        # NaN slipped through every check
        (
            lambda: RunConfig.from_dict({"method": "joint", "train": {"weight_decay": math.nan}}),
            "TrainConfig.weight_decay must be a finite number, got nan",
        ),
        (
            lambda: RunConfig.from_dict(
                {"method": "joint", "loss": "seed_alignment", "loss_params": {"lam": -1}}
            ).validate(),
            "parameter 'lam' must be a finite number >= 0",
        ),
    ],
    ids=[
        "suggest_mapping_duplicates",
        "npz_scalar",
        "float32_overflow",
        "config_text_for_int",
        "config_encoder_not_dict",
        "config_train_not_dict",
        "config_loss_params_not_dict",
        "config_nan",
        "config_negative_lam",
    ],
)
def test_fuzzer_findings(call, pattern):
    with pytest.raises(FusionError, match=pattern) as info:
        call()
    _check_message(info.value)


def test_train_config_of_the_wrong_type_built_in_python():
    with pytest.raises(FusionError, match="epochs"):
        TrainConfig(epochs=None).validate()
    with pytest.raises(FusionError, match="weight_decay"):
        TrainConfig(weight_decay=float("nan")).validate()


def test_run_config_from_dict_defaults_to_the_methods_own_model_config():
    """Found by the fuzzer: {"method": "attention"} got a JointConfig and could never validate."""
    for method, spec in METHODS.items():
        cfg = RunConfig.from_dict({"method": method})
        assert isinstance(cfg.model, spec.config_class)
        cfg.validate()
