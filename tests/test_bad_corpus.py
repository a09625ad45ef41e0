"""The bad-input corpus: every case in tests/data/bad/manifest.json, at the library level.

A bad input must raise the project's error type (never a bare pandas, numpy or
pyarrow exception) with a short message, free of traceback text, that names the
file, the column or row, and the fix. Good-but-tricky inputs (BOM, GBK headers,
quoted commas, 10,000 columns, ...) must load, and the checks in ``expect`` hold.
Large cases are generated into a temporary folder by tests/data/make_bad_corpus.py.
"""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest

from fusion import errors, loaders
from fusion.data import PairedData

DATA = Path(__file__).parent / "data"
BAD = DATA / "bad"
MANIFEST = json.loads((BAD / "manifest.json").read_text(encoding="utf-8"))
CASES = MANIFEST["cases"]
MAX_MESSAGE = 400


def _corpus_script():
    spec = importlib.util.spec_from_file_location("make_bad_corpus", DATA / "make_bad_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TEST_MAX_VALUES = "1250000"  # the memory budget (FUSION_MAX_VALUES) the cases are read under


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The large cases, written once per test module into a temporary folder, and read
    under a budget of 1,250,000 values, so the file over it is 51 MB, not gigabytes."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FUSION_MAX_VALUES", TEST_MAX_VALUES)
        yield _corpus_script().write_large(tmp_path_factory.mktemp("generated"))


def _source(case: dict, file: str, generated_dir: Path):
    path = generated_dir / file.split("/", 1)[1] if file.startswith("generated/") else BAD / file
    kind = case.get("source", "path")
    if kind == "path":
        return path
    if kind == "bytes":
        return (path.name, path.read_bytes())
    assert kind == "buffer", kind
    buf = io.BytesIO(path.read_bytes())
    buf.name = path.name  # as Streamlit's UploadedFile
    return buf


def _run(case: dict, generated_dir: Path):
    sources = [_source(case, f, generated_dir) for f in case["files"]]
    fn = getattr(loaders, case["call"])
    arg = sources[0] if len(sources) == 1 and case["call"] != "from_files" else sources
    return fn(arg, **case.get("options", {}))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, generated):
    if "error" in case:
        expected = getattr(errors, case["error"])
        assert issubclass(expected, errors.FusionError)
        with pytest.raises(Exception) as info:
            _run(case, generated)
        e = info.value
        assert isinstance(e, expected), f"{type(e).__name__} escaped: {e}"
        msg = str(e)
        missing = [f for f in case["fragments"] if f not in msg]
        assert not missing, f"message lacks {missing}: {msg}"
        names = [Path(f).name for f in case["files"]]
        assert any(n in msg for n in names), f"message names none of {names}: {msg}"
        assert len(msg) <= MAX_MESSAGE, f"{len(msg)} characters: {msg}"
        assert "Traceback" not in msg and 'File "' not in msg and "\n" not in msg, msg
        assert e.__cause__ is None or isinstance(e.__cause__, errors.FusionError)
        return

    d = _run(case, generated)
    assert isinstance(d, PairedData)
    expect = case["expect"]
    assert d.n == expect["n"]
    if "shapes" in expect:
        assert d.input_shapes() == {k: tuple(v) for k, v in expect["shapes"].items()}
    if "label_names" in expect:
        assert d.label_names == expect["label_names"]
        assert d.labels is not None and d.labels.shape == (d.n,)
    if "ids_head" in expect:
        assert list(d.ids[: len(expect["ids_head"])]) == expect["ids_head"]
    if "encoding" in expect:
        assert d.source["encoding"] == expect["encoding"]
    if "dropped_rows" in expect:
        assert d.source["dropped_rows"] == expect["dropped_rows"]
    warnings = " ".join(d.source.get("warnings", []))
    for fragment in expect.get("warnings", []):
        assert fragment in warnings, f"no warning with {fragment!r}: {warnings}"
    for arr in d.modalities.values():
        assert arr.dtype == np.float32 and np.isfinite(arr).all()


def test_corpus_covers_the_issue():
    """At least 40 cases, each file present, committed files small (large ones generated)."""
    assert len(CASES) >= 40
    assert len({c["id"] for c in CASES}) == len(CASES)
    committed = {f for c in CASES for f in c["files"] if not f.startswith("generated/")}
    for f in committed:
        assert (BAD / f).is_file(), f
    total = sum(p.stat().st_size for p in BAD.iterdir() if p.is_file())
    assert total < 1_000_000, f"tests/data/bad holds {total} bytes; generate large cases"
    for c in CASES:
        assert ("error" in c) != ("expect" in c), c["id"]
        assert c["call"] in ("load", "load_table", "load_npz", "from_files"), c["id"]


def test_committed_files_match_the_script():
    """The committed files are what make_bad_corpus.py writes (text files byte for byte)."""
    files = _corpus_script().small_files()
    on_disk = {p.name for p in BAD.iterdir() if p.name != "manifest.json"}
    assert on_disk == set(files)
    for name, data in files.items():
        if name.endswith((".csv", ".json")) and name not in ("parquet_named.csv",):
            assert (BAD / name).read_bytes() == data, f"{name} differs; rerun the script"
