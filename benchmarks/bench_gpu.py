"""GPU: training on CUDA vs the CPU at 100k pairs, with numerical agreement.

Where ``torch.cuda.is_available()``: the joint InfoNCE default on 100k pairs of
(128 + 64)-dim data, one epoch on each device from the same initial weights; the ratio
is CUDA samples/s / CPU samples/s, and the first step's loss must agree within 1e-4
relative. Without CUDA a single entry says so (met = None).
"""

from __future__ import annotations

from benchmarks.common import Entry, entry, ratio


def _epoch(device: str, n: int) -> tuple[float, float]:
    from benchmarks._fresh import paired
    from fusion.experiment import default_config, run_experiment

    cfg = default_config("joint", "info_nce", epochs=1, device=device)
    h = run_experiment(paired(n), cfg).history
    return h.epochs[1]["samples_per_sec"], h.steps[0]["loss"]


def run(quick: bool) -> list[Entry]:
    import torch

    if not torch.cuda.is_available():
        return [
            entry(
                "gpu: CUDA vs CPU training at 100k pairs",
                None,
                "samples/s",
                note="no CUDA device here",
            )
        ]
    n = 20_000 if quick else 100_000
    _epoch("cuda", 2_000)  # CUDA context and kernels out of the way
    cpu, cpu_loss = _epoch("cpu", n)
    gpu, gpu_loss = _epoch("cuda", n)
    rel = abs(gpu_loss - cpu_loss) / max(abs(cpu_loss), 1e-12)
    return [
        entry(
            f"gpu: CUDA vs CPU training, {n:,} pairs",
            gpu,
            "samples/s",
            cpu,
            ratio(gpu, cpu),
            note=torch.cuda.get_device_name(0),
        ),
        entry(
            "gpu: first-step loss, CUDA vs CPU relative difference",
            rel,
            "relative",
            target=("value", "<=", 1e-4),
        ),
    ]
