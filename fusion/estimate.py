"""How long a training run will take, estimated from the data's size before it starts.

A rough cost model, so the Train page can say "about 3 min" and warn before a run holds
a training slot for long; it never imports torch (the web server does not). Training
costs a fixed overhead per optimiser step (Python, autograd, the optimiser) plus the
floating-point work of the encoders, forward and backward (about 6 flops per weight
per sample), at a sustained rate; evaluation costs the per-epoch metrics on the
snapshot rows (a joint run's on the time budget :data:`fusion.config.EVAL_SHARE`) and
the final metrics on the whole validation split, whose quadratic part (retrieval ranks,
class precision) is capped at :data:`fusion.metrics.RETRIEVAL_MAX_ROWS` rows.

The constants were measured on a quiet two-core laptop CPU (``benchmarks/RESULTS.md``:
about 100,000 samples/s for a joint InfoNCE model on 128 + 64 features; joint metrics
take about 0.3 s at 2,000 rows); a GPU is faster. A busy machine is slower: the estimate
is scaled by :func:`busy_factor`, the 1-minute load average per core (measured: a 200k-pair
epoch estimated at 1.2 s on a quiet machine took 3.7 s at load 3.4 on two cores, and a
1.2M-pair epoch estimated at 9 s took 162 s at load 4-7.5 with two torch threads per
job). The estimate is for orders of magnitude, not for a stopwatch.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from fusion.config import EVAL_SHARE

LONG_RUN_S = 60.0  # the Train page warns above this many estimated seconds
STEP_OVERHEAD_S = 8e-4  # per optimiser step on a CPU, however small the model
CPU_FLOPS = 2e10  # sustained flop/s of small-matrix training on two CPU cores
GPU_SPEEDUP = 10.0  # a CUDA device does the flops this much faster (overhead stays)
PAIR_SECONDS = 8e-8  # joint metrics per (row x row) per modality pair, with ranks and ties
ROW_SECONDS = 1.5e-5  # linear metrics (alignment, spread, CCA, probe prediction) per row
PROBE_SECONDS = 1.0  # fitting the final linear probe on at most 5,000 training rows
CCA_SECONDS_PER_VALUE = 2e-7  # scikit-learn CCA fit, per training value, per component


def busy_factor() -> float:
    """How much slower than quiet this machine runs now: load average per core, at least 1."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        return 1.0
    return max(1.0, load / (os.cpu_count() or 1))


@dataclass(frozen=True)
class RunEstimate:
    """Estimated seconds of one run, and the sizes they were estimated from."""

    train_seconds: float
    eval_seconds: float
    n_train: int
    n_val: int
    epochs: int

    @property
    def seconds(self) -> float:
        return self.train_seconds + self.eval_seconds

    @property
    def long(self) -> bool:
        """Long enough that a person should know before starting."""
        return self.seconds > LONG_RUN_S


def _encoder_weights(shape: tuple[int, ...], out_dim: int, encoder: Any) -> int:
    """Weights one sample passes through in an encoder (MACs per sample, roughly)."""
    d_in = math.prod(shape)
    kind = getattr(encoder, "kind", "mlp")
    hidden = int(getattr(encoder, "hidden", 64))
    depth = int(getattr(encoder, "depth", 1))
    if kind == "cnn" or (kind == "auto" and len(shape) == 2):
        c1 = max(hidden // 2, 4)
        return d_in * 9 * c1 + (d_in // 4) * 9 * c1 * hidden + 4 * hidden * out_dim
    if kind == "linear" or depth == 0:
        return d_in * out_dim
    return d_in * hidden + (depth - 1) * hidden * hidden + hidden * out_dim


def estimate_run(
    n_rows: int,
    input_shapes: dict[str, tuple[int, ...]],
    config: Any,
    has_labels: bool = False,
    device: str = "cpu",
    busy: float | None = None,
) -> RunEstimate:
    """Seconds a run of ``config`` (a :class:`~fusion.config.RunConfig`) would take.

    ``n_rows`` paired rows with per-sample ``input_shapes`` (``PairedData.input_shapes()``);
    ``device`` is "cpu", "cuda" or "mps" (anything but "cpu" counts as a GPU). The result
    is scaled by ``busy`` (default: :func:`busy_factor` now; 1 = a quiet machine).
    """
    quiet = _estimate_quiet(n_rows, input_shapes, config, has_labels, device)
    k = busy_factor() if busy is None else busy
    return RunEstimate(
        quiet.train_seconds * k, quiet.eval_seconds * k, quiet.n_train, quiet.n_val, quiet.epochs
    )


def _estimate_quiet(
    n_rows: int,
    input_shapes: dict[str, tuple[int, ...]],
    config: Any,
    has_labels: bool,
    device: str,
) -> RunEstimate:
    """:func:`estimate_run` on a quiet machine."""
    from fusion.metrics import RETRIEVAL_MAX_ROWS

    tr = config.train
    n_train, n_val, folds = _role_sizes(n_rows, tr)
    m = len(input_shapes)
    pairs = m * (m - 1) // 2
    model = config.model
    if config.method == "cca":
        values = n_train * sum(math.prod(s) for s in list(input_shapes.values())[:2])
        fit = values * max(int(getattr(model, "dim", 8)), 1) * CCA_SECONDS_PER_VALUE
        quad = min(n_val, RETRIEVAL_MAX_ROWS) ** 2 * PAIR_SECONDS * (1 + has_labels)
        evaluation = quad + n_val * ROW_SECONDS + PROBE_SECONDS
        return RunEstimate(fit * folds, evaluation * folds, n_train, n_val, 1)

    out_dim = int(getattr(model, "dim", 16))
    encoder = getattr(model, "encoder", None)
    weights = sum(_encoder_weights(s, out_dim, encoder) for s in input_shapes.values())
    flops = 6 * weights
    if config.method == "joint":
        flops += 6 * pairs * tr.batch_size * out_dim  # the batch's similarity matrices
    rate = CPU_FLOPS * (GPU_SPEEDUP if device != "cpu" else 1.0)
    steps = tr.epochs * max(n_train // tr.batch_size, 1)
    train_s = steps * STEP_OVERHEAD_S + tr.epochs * n_train * flops / rate

    joint = config.method == "joint"
    snap = min(n_val, tr.snapshot_rows)
    evaluations = tr.epochs + 1  # epoch 0, before training, is evaluated too
    outputs = evaluations * snap * (2 * weights / rate + ROW_SECONDS)
    metrics = 0.0
    if joint:
        # A joint run's per-epoch metrics (early stopping watches its loss) are on the time
        # budget of fusion.train: epochs 0, 1 and the last always, the others while all
        # metric time stays within EVAL_SHARE of the wall time.
        each = snap**2 * PAIR_SECONDS * pairs * (1 + has_labels)
        budget = EVAL_SHARE / (1.0 - EVAL_SHARE) * (train_s + outputs)
        metrics = min(evaluations * each, max(min(evaluations, 3) * each, budget))
    final = n_val * (2 * weights / rate + ROW_SECONDS)
    if joint:
        final += min(n_val, RETRIEVAL_MAX_ROWS) ** 2 * PAIR_SECONDS * pairs * (1 + has_labels)
        final += PROBE_SECONDS if has_labels else 0.0
    evaluation = outputs + metrics + final
    return RunEstimate(train_s * folds, evaluation * folds, n_train, n_val, tr.epochs)


def _role_sizes(n_rows: int, train: Any) -> tuple[int, int, int]:
    """(training rows, validation rows, runs) of :func:`fusion.data.plan_roles` for
    ``n_rows`` rows, by the same rule without the data: a test split of ``test_fraction``
    held out, or, when it would hold fewer than ``min_test_rows``, ``cv_folds`` runs of
    cross-validation, each holding one fold out. Validation is ``val_fraction`` of all rows."""
    test_fraction = float(getattr(train, "test_fraction", 0.0))
    n_test, folds = int(round(n_rows * test_fraction)), 1
    if test_fraction > 0 and n_test < int(getattr(train, "min_test_rows", 0)):
        folds = max(min(int(getattr(train, "cv_folds", 5)), n_rows), 2)
        n_test = n_rows // folds
    n_val = max(1, int(round(n_rows * train.val_fraction)))
    return max(n_rows - n_val - n_test, 1), n_val, folds
