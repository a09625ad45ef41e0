"""GPU: training on CUDA vs the CPU at 100k pairs, with numerical agreement.

Where ``torch.cuda.is_available()``: the joint InfoNCE default on 100k pairs of
(128 + 64)-dim data, one epoch on each device from the same initial weights; the ratio
is CUDA samples/s / CPU samples/s, and the first step's loss must agree within 1e-4
relative. Without CUDA a single entry says so (met = None).

UMAP: where RAPIDS ``cuml`` is installed (optional, not in the requirements), its GPU UMAP
against umap-learn on the same 20k points (the ratio is umap-learn's seconds / cuML's);
otherwise an entry says that only umap-learn is available.
"""

from __future__ import annotations

from benchmarks.common import Entry, entry, interleaved, paired_entry, ratio


def _epoch(device: str, n: int) -> tuple[float, float]:
    from benchmarks._fresh import paired
    from fusion.experiment import default_config, run_experiment

    cfg = default_config("joint", "info_nce", epochs=1, device=device)
    h = run_experiment(paired(n), cfg).history
    return h.epochs[1]["samples_per_sec"], h.steps[0]["loss"]


def _umap_entry(quick: bool) -> Entry:
    import importlib.util
    import time

    import numpy as np

    n = 5_000 if quick else 20_000
    x = np.random.default_rng(0).normal(size=(n, 32)).astype(np.float32)
    if importlib.util.find_spec("cuml") is None:
        return entry(
            f"gpu: UMAP of {n:,} points, cuML vs umap-learn",
            None,
            "s",
            note="cuml is not installed: maps use umap-learn on the CPU",
        )
    import umap
    from cuml.manifold import UMAP as CuUMAP

    t = time.perf_counter()
    umap.UMAP(random_state=0).fit_transform(x)
    cpu = time.perf_counter() - t
    t = time.perf_counter()
    CuUMAP(random_state=0).fit_transform(x)
    gpu = time.perf_counter() - t
    return entry(f"gpu: UMAP of {n:,} points, cuML vs umap-learn", gpu, "s", cpu, ratio(cpu, gpu))


def run(quick: bool) -> list[Entry]:
    import torch

    if not torch.cuda.is_available():
        return [
            entry(
                "gpu: CUDA vs CPU training at 100k pairs",
                None,
                "samples/s",
                note="no CUDA device here",
            ),
            _umap_entry(quick),
        ]
    n = 20_000 if quick else 100_000
    _epoch("cuda", 2_000)  # CUDA context and kernels out of the way
    got = interleaved({"cpu": lambda: _epoch("cpu", n), "cuda": lambda: _epoch("cuda", n)})
    cpu_loss, gpu_loss = got["cpu"][0][1], got["cuda"][0][1]
    rel = abs(gpu_loss - cpu_loss) / max(abs(cpu_loss), 1e-12)
    return [
        paired_entry(
            f"gpu: CUDA vs CPU training, {n:,} pairs",
            [r[0] for r in got["cuda"]],
            [r[0] for r in got["cpu"]],
            "samples/s",
            "ours/base",
            note=torch.cuda.get_device_name(0),
        ),
        entry(
            "gpu: first-step loss, CUDA vs CPU relative difference",
            rel,
            "relative",
            target=("value", "<=", 1e-4),
        ),
        _umap_entry(quick),
    ]
