"""Write a Parquet file of paired embeddings as researchers keep them: one row per pair,
an ``image`` and a ``text`` column each holding a 128-d vector, and a ``label``.

The pairs come from one class-clustered latent (10 classes) seen through a fixed random
linear map per modality plus noise, so the two columns are related pair by pair and by
class, and a joint embedding has something to learn. 100,000 float32 pairs make a file of
about 100 MB (float64: about 200 MB). Files are generated at test or benchmark time into a
temporary folder, never committed.

    python tests/data/make_big_pairs.py OUT.parquet [--n 100000] [--dim 128] [--float64]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CLASSES = ("cat", "dog", "fox", "owl", "eel", "yak", "emu", "ant", "bee", "cod")


def pairs(n: int, dim: int = 128, seed: int = 0, dtype=np.float32):
    """(image (n, dim), text (n, dim), labels (n,)) of ``n`` related pairs."""
    rng = np.random.default_rng(seed)
    latent_dim = 16
    labels = rng.integers(0, len(CLASSES), n)
    centres = rng.normal(scale=2.0, size=(len(CLASSES), latent_dim))
    latent = centres[labels] + rng.normal(size=(n, latent_dim))
    out = []
    for _ in range(2):
        mix = rng.normal(size=(latent_dim, dim)) / np.sqrt(latent_dim)
        out.append((latent @ mix + 0.5 * rng.normal(size=(n, dim))).astype(dtype))
    return out[0], out[1], labels


def write_pairs(
    path: str | Path, n: int = 100_000, dim: int = 128, seed: int = 0, float64: bool = False
) -> Path:
    """Write ``n`` pairs to ``path`` as Parquet (vector columns ``image``, ``text``)."""
    dtype = np.float64 if float64 else np.float32
    image, text, labels = pairs(n, dim, seed, dtype)
    value = pa.float64() if float64 else pa.float32()

    def vectors(a: np.ndarray) -> pa.Array:
        return pa.FixedSizeListArray.from_arrays(pa.array(a.reshape(-1), type=value), dim)

    table = pa.table(
        {
            "id": pa.array(np.arange(n).astype(str)),
            "image": vectors(image),
            "text": vectors(text),
            "label": pa.array(np.array(CLASSES)[labels]),
        }
    )
    path = Path(path)
    pq.write_table(table, path)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--float64", action="store_true")
    a = p.parse_args(argv)
    path = write_pairs(a.out, a.n, a.dim, a.seed, a.float64)
    print(f"{path}: {path.stat().st_size / 2**20:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
