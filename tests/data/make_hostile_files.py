"""Write well-formed but hostile (or simply big) input files, for the memory-budget tests.

Every file is under the 50 MB upload cap, and none is committed: the tests call
:func:`write_all` (or one ``make_*`` function) to generate them into a temporary folder.
Each generator stays low in memory and fast, whatever the file inflates to.

- ``npz_deflate_bomb.npz`` (about 15 MB): two zip-deflated ``.npy`` members, each
  declaring shape (1_000_000, 1000) float64 and inflating to 8 GB of zeros. Written as
  the same deflate block of one million zeros repeated after a full flush (a valid
  deflate stream), with the CRC-32 of 8 GB of zeros computed by composing the CRC's
  affine "append n zeros" map, so nothing near 8 GB is ever computed or held.
- ``npz_shape_bomb.npz`` (a few kB): members whose headers declare 149 GiB and 3 GiB
  arrays and hold a few bytes.
- ``npz_short_member.npz``: a member declaring 80 MB that stores 8 kB.
- ``npz_many_arrays.npz``: 5,000 tiny members.
- ``zip_in_npz.npz``: an NPZ whose members are themselves zip archives.
- ``nested.zip``: a zip holding an NPZ.
- ``csv_many_rows.csv`` (about 40 MB): 1.5 million pairs, 4 feature columns
  (``a__0, a__1, b__0, b__1``), b a noisy rotation of a, so a joint model can learn.
- ``csv_empty_cells.csv`` (48 MB): 50 million empty cells, the most values a 50 MB
  text can declare.
- ``parquet_wide.parquet`` (24 MB): 500 rows x 12,000 float32 columns (two modalities).
- ``parquet_row_bomb.parquet`` (well under 1 MB): 30 million rows of zeros in two columns,
  run-length encoded.

``python tests/data/make_hostile_files.py OUT_DIR`` writes them all.
"""

from __future__ import annotations

import io
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np

ZERO_CHUNK = 1_000_000  # bytes of zeros per repeated deflate block


# -- CRC-32 of many zeros without computing over them ------------------------------------


def _apply(op: tuple[list[int], int], x: int) -> int:
    """The affine map op = (columns, constant) over GF(2)^32 applied to the register x."""
    cols, const = op
    out = const
    for i in range(32):
        if x >> i & 1:
            out ^= cols[i]
    return out


def _compose(g: tuple[list[int], int], f: tuple[list[int], int]) -> tuple[list[int], int]:
    """g after f, both affine maps (columns of the linear part, constant)."""
    cols = [_apply(g, c) ^ g[1] for c in f[0]]  # the linear part of g on f's columns
    return cols, _apply(g, f[1])


def crc32_of_zeros(n_bytes: int, crc: int = 0) -> int:
    """zlib.crc32(bytes(n_bytes), crc), in O(log n) small steps.

    Appending zeros changes the CRC register by an affine map over GF(2); the map for one
    chunk is found by evaluating it on the 33 registers 0, 1, 2, 4, ..., and maps for
    more chunks by composing it with itself (square and multiply).
    """
    n_chunks, rest = divmod(n_bytes, ZERO_CHUNK)
    zeros = bytes(ZERO_CHUNK)
    const = zlib.crc32(zeros, 0)
    step = ([zlib.crc32(zeros, 1 << i) ^ const for i in range(32)], const)
    total: tuple[list[int], int] = ([1 << i for i in range(32)], 0)  # the identity
    while n_chunks:
        if n_chunks & 1:
            total = _compose(step, total)
        step = _compose(step, step)
        n_chunks >>= 1
    return zlib.crc32(bytes(rest), _apply(total, crc))


# -- NPZ members ----------------------------------------------------------------------------


def _npy_header(shape: tuple[int, ...], dtype: str = "<f8") -> bytes:
    """The bytes of a version 1.0 .npy header for ``shape`` and ``dtype``."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": dtype, "fortran_order": False, "shape": shape}
    )
    return buf.getvalue()


def _write_zero_member(archive: zipfile.ZipFile, name: str, header: bytes, n_zeros: int) -> None:
    """A deflated member: ``header`` then ``n_zeros`` zero bytes, written in O(output) time.

    zipfile compresses the header; then, after a full flush (which resets the deflate
    state), the same deflate block of ZERO_CHUNK zeros is appended as many times as
    needed, and the member's sizes and CRC are set to what the data inflates to. The
    writer's fields are private to zipfile, so they are checked before use.
    """
    assert n_zeros % ZERO_CHUNK == 0, n_zeros
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(ZERO_CHUNK)) + compressor.flush(zlib.Z_FULL_FLUSH)
    with archive.open(name, "w", force_zip64=True) as member:
        for field in ("_fileobj", "_compressor", "_crc", "_file_size", "_compress_size"):
            assert hasattr(member, field), f"zipfile's writer has no {field}: update this script"
        member.write(header)
        flushed = member._compressor.flush(zlib.Z_FULL_FLUSH)
        member._fileobj.write(flushed)
        member._compress_size += len(flushed)
        for _ in range(n_zeros // ZERO_CHUNK):
            member._fileobj.write(block)
        member._compress_size += len(block) * (n_zeros // ZERO_CHUNK)
        member._crc = crc32_of_zeros(n_zeros, member._crc)
        member._file_size += n_zeros


def make_npz_deflate_bomb(out: Path) -> Path:
    path = out / "npz_deflate_bomb.npz"
    shape = (1_000_000, 1000)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("a.npy", "b.npy"):
            _write_zero_member(archive, name, _npy_header(shape), 8 * shape[0] * shape[1])
    return path


def make_npz_shape_bomb(out: Path) -> Path:
    path = out / "npz_shape_bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.npy", _npy_header((200_000_000, 100)) + bytes(64))  # 149 GiB
        archive.writestr("b.npy", _npy_header((400_000_000, 1)) + bytes(64))  # 3 GiB
    return path


def make_npz_short_member(out: Path) -> Path:
    path = out / "npz_short_member.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.npy", _npy_header((2_000_000, 10), "<f4") + bytes(8192))
        b = io.BytesIO()
        np.save(b, np.ones((2_000_000, 1), np.float32))
        archive.writestr("b.npy", b.getvalue())
    return path


def make_npz_many_arrays(out: Path, n: int = 5000) -> Path:
    path = out / "npz_many_arrays.npz"
    one = io.BytesIO()
    np.save(one, np.zeros((12, 1)))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(n):
            archive.writestr(f"m{i}.npy", one.getvalue())
    return path


def make_zip_in_npz(out: Path) -> Path:
    """An NPZ whose .npy members are zip archives (of the deflate bomb's kind, but small)."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", _npy_header((1000, 4)) + bytes(32_000))
    path = out / "zip_in_npz.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.npy", inner.getvalue())
        archive.writestr("b.npy", inner.getvalue())
    return path


def make_nested_zip(out: Path) -> Path:
    inner = io.BytesIO()
    np.savez_compressed(inner, a=np.zeros((1000, 4)), b=np.zeros((1000, 4)))
    path = out / "nested.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.npz", inner.getvalue())
    return path


# -- tables ---------------------------------------------------------------------------------


def make_csv_many_rows(out: Path, n: int = 1_500_000, name: str = "csv_many_rows.csv") -> Path:
    """``n`` pairs: a ~ N(0, I_2), b = a rotated by 30 degrees plus noise (written in chunks)."""
    path = out / name
    rng = np.random.default_rng(0)
    theta = np.pi / 6
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    with open(path, "w", encoding="ascii", newline="") as fh:
        fh.write("a__0,a__1,b__0,b__1\n")
        for start in range(0, n, 250_000):
            m = min(250_000, n - start)
            a = rng.normal(size=(m, 2))
            b = a @ rot.T + 0.1 * rng.normal(size=(m, 2))
            np.savetxt(fh, np.hstack([a, b]), fmt="%.3f", delimiter=",")
    return path


def make_csv_empty_cells(out: Path) -> Path:
    """1000 columns of empty cells: 1 byte per value, ~50 million values in 48 MB."""
    path = out / "csv_empty_cells.csv"
    d = 500
    header = ",".join([f"a__{i}" for i in range(d)] + [f"b__{i}" for i in range(d)]) + "\n"
    row = "1" + "," * (2 * d - 1) + "\n"
    n = (48 * 2**20) // len(row)
    with open(path, "w", encoding="ascii", newline="") as fh:
        fh.write(header)
        for start in range(0, n, 1000):
            fh.write(row * min(1000, n - start))
    return path


def make_parquet_wide(out: Path, n: int = 500, d: int = 6000) -> Path:
    import pandas as pd

    rng = np.random.default_rng(0)
    cols = {f"a__{i}": rng.normal(size=n).astype(np.float32) for i in range(d)}
    cols.update({f"b__{i}": rng.normal(size=n).astype(np.float32) for i in range(d)})
    path = out / "parquet_wide.parquet"
    pd.DataFrame(cols).to_parquet(path)
    return path


def make_parquet_row_bomb(out: Path, n: int = 30_000_000) -> Path:
    """30 million rows of zeros in two columns, written one 1M-row group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = out / "parquet_row_bomb.parquet"
    group = pa.table({"a__0": np.zeros(1_000_000), "b__0": np.zeros(1_000_000)})
    with pq.ParquetWriter(path, group.schema, compression="zstd") as writer:
        for _ in range(n // 1_000_000):
            writer.write_table(group)
    return path


MAKERS = {
    "npz_deflate_bomb": make_npz_deflate_bomb,
    "npz_shape_bomb": make_npz_shape_bomb,
    "npz_short_member": make_npz_short_member,
    "npz_many_arrays": make_npz_many_arrays,
    "zip_in_npz": make_zip_in_npz,
    "nested_zip": make_nested_zip,
    "csv_many_rows": make_csv_many_rows,
    "csv_empty_cells": make_csv_empty_cells,
    "parquet_wide": make_parquet_wide,
    "parquet_row_bomb": make_parquet_row_bomb,
}


def write_all(out: Path) -> dict[str, Path]:
    """Every hostile file, written into ``out``; name -> path."""
    out.mkdir(parents=True, exist_ok=True)
    return {name: make(out) for name, make in MAKERS.items()}


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile")
    for name, p in write_all(target).items():
        print(f"{name}: {p} ({p.stat().st_size / 2**20:.1f} MB)")
