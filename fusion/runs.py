"""Runs on disk: one folder per finished, stopped or failed training.

A run folder holds:

- ``config.json``   the :class:`~fusion.config.RunConfig` (with its layout's
                    ``schema_version``) and the data source,
- ``run.json``      status, message, device, timings, modality names, creation time,
- ``metrics.json``  flat metrics, each with ``<name>_chance`` where it has one,
- ``epochs.csv``    one row per epoch (seconds, samples/s, train losses, val metrics),
- ``steps.parquet`` one row per optimisation step (each loss part),
- ``weights.pt``    the model's ``state_dict`` (loaded with ``weights_only=True``),
- ``embeddings.parquet`` validation embeddings at every snapshot epoch (long form),
- ``attention.parquet``  attention weights at every snapshot epoch (attention runs),
- ``samples.npz`` / ``texts.json`` the validation samples behind the snapshots, so a
  map's points can show their images, captions and features,
- ``live_frames.npz`` the live map's frames as drawn while training (:mod:`fusion.live`),
  so Explore replays the same map,
- ``map.parquet`` / ``map.json`` the map of every validation row, when the snapshots keep
  only some of them (large runs; :mod:`fusion.bigmap`),
- ``shared_space.npz`` Deep CCA runs: the linear CCA projection (fitted on training rows)
  that takes the networks' outputs into the shared space its metrics and maps are in.

The default root is ``./runs``; ``FUSION_RUNS_DIR`` overrides it. Names given by
users are sanitised and every path is checked to stay inside the root. A folder
with missing or unreadable files is listed as damaged instead of failing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fusion.config import SCHEMA_VERSION, RunConfig
from fusion.data import PairedData
from fusion.errors import DataError
from fusion.i18n import DEFAULT_LANGUAGE, translate
from fusion.shared_space import FILE as SHARED_SPACE_FILE
from fusion.shared_space import CCAProjection

if TYPE_CHECKING:  # fusion.experiment imports torch: listing runs must not wait for it
    import pandas as pd  # imported where runs are written or read: Home paints without it

    from fusion.experiment import RunResult

EVALUATIONS = "evaluations"  # saved cross-validations (fusion.evaluation), not a run
REQUIRED_FILES = ("config.json", "run.json", "metrics.json", "epochs.csv", "embeddings.parquet")


def runs_root(root: str | os.PathLike | None = None) -> Path:
    """The runs folder: ``root`` if given, else ``$FUSION_RUNS_DIR``, else ``./runs``."""
    return Path(root or os.environ.get("FUSION_RUNS_DIR") or "runs").resolve()


def safe_name(name: str) -> str:
    """A run name usable as one folder name: letters, digits, '-', '_' and '.', no leading dot."""
    s = re.sub(r"[^\w.-]+", "-", str(name), flags=re.ASCII).strip(".-_")
    return s[:80] or "run"


def default_run_name(config: RunConfig, data_source: dict[str, Any] | None = None) -> str:
    """A run name that says what the run is: ``<loss or method>-<data>-s<seed>``.

    For example ``infonce-shared_latent-s0``, ``attention-gated_reliability-s3`` or
    ``early-my_table-s0`` (an uploaded file's stem); a subset of a selection names its data
    and what was kept: ``infonce-pairs_100k-keep13394-s0``. :func:`save_run` adds ``-2``,
    ``-3``, … when the name is taken.
    """
    source = data_source or {}
    files = source.get("files") or []
    data = source.get("generator") or (Path(str(files[0])).stem if files else source.get("name"))
    if source.get("kind") == "subset":  # a selection kept or dropped: short, not its label
        of = source.get("subset_of") or {}
        of_files = of.get("files") or []
        base = of.get("generator") or (Path(str(of_files[0])).stem if of_files else "data")
        data = f"{base}-{'keep' if source.get('keep', True) else 'drop'}{source.get('n', '')}"
    what = config.loss.replace("_", "") if config.method == "joint" else config.method
    return safe_name(f"{what}-{data or 'data'}-s{config.train.seed}")


def _inside(root: Path, name: str) -> Path:
    path = (root / safe_name(name)).resolve()
    if path.parent != root:
        raise DataError("errors.runs.unsafe_name", name=name)
    return path


def json_default(o: Any) -> Any:
    """``json.dumps``'s ``default`` for numpy scalars and arrays (anything else as text)."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(
        json.dumps(obj, indent=2, ensure_ascii=False, default=json_default), encoding="utf-8"
    )


def save_run(
    result: RunResult,
    root: str | os.PathLike | None = None,
    name: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``result`` to a new folder under the runs root and return its path.

    The folder is written under a temporary name and renamed at the end, so a
    crash midway never leaves a half-written run that looks complete. An
    existing run of the same name gets a ``-2``, ``-3``... suffix, unless
    ``overwrite`` replaces it.
    """
    import torch

    root = runs_root(root)
    cfg = result.config
    base = safe_name(name or cfg.name or default_run_name(cfg, result.data_source))
    path, tmp = _new_folder(root, base, overwrite)
    h = result.history
    _write_json(
        tmp / "config.json",
        {
            "schema_version": SCHEMA_VERSION,
            **cfg.to_dict(),
            "name": path.name,
            "data": result.data_source,
        },
    )
    _write_json(
        tmp / "run.json",
        {
            **h.summary(),
            "name": path.name,
            "method": cfg.method,
            "loss": cfg.loss,
            "modalities": result.modality_names,
            "created": time.strftime("%Y-%m-%d %H:%M:%S"),
            "n_val": result.val.n,
        },
    )
    import pandas as pd

    from fusion.experiment import attention_frame, embeddings_frame

    _write_json(tmp / "metrics.json", {**result.metrics, **result.verdicts})
    pd.DataFrame(h.epochs).to_csv(tmp / "epochs.csv", index=False)
    pd.DataFrame(h.steps).to_parquet(tmp / "steps.parquet", index=False)
    embeddings_frame(result).to_parquet(tmp / "embeddings.parquet", index=False)
    if getattr(result, "full_map", None) is not None:
        from fusion.bigmap import write_map

        write_map(tmp, *result.full_map)
    att = attention_frame(result)
    if len(att):
        att.to_parquet(tmp / "attention.parquet", index=False)
    heads = [(s.epoch, s.arrays["head_weights"]) for s in h.snapshots if "head_weights" in s.arrays]
    if heads:
        np.savez_compressed(
            tmp / "head_weights.npz",
            epochs=np.array([e for e, _ in heads]),
            weights=np.stack([w for _, w in heads]),
        )
    if result.projection is not None:
        np.savez(tmp / SHARED_SPACE_FILE, **result.projection.to_arrays())
    if result.model is not None:
        torch.save(
            {k: v.detach().cpu() for k, v in result.model.state_dict().items()}, tmp / "weights.pt"
        )
    rows = h.snapshot_rows if h.snapshot_rows is not None else np.arange(result.val.n)
    sub = result.val.subset(rows)
    arrays = {f"mod__{k}": v for k, v in sub.modalities.items()}
    arrays["ids"] = sub.ids.astype(str)
    if sub.labels is not None:
        arrays["labels"] = sub.labels
    if sub.mask is not None:
        arrays["mask"] = sub.mask
    np.savez_compressed(tmp / "samples.npz", **arrays)
    from fusion.live import save_frames

    save_frames(tmp, h)  # live_frames.npz: the live map's frames, replayed by Explore
    _write_json(tmp / "texts.json", {"texts": sub.texts, "label_names": sub.label_names})
    tmp.rename(path)
    return path


def _new_folder(root: Path, base: str, overwrite: bool = False) -> tuple[Path, Path]:
    """(a free run folder path named ``base`` or ``base-2``..., an empty temporary folder)."""
    root.mkdir(parents=True, exist_ok=True)
    path = _inside(root, base)
    if overwrite and path.is_dir():
        shutil.rmtree(path)
    k = 2
    while path.exists():
        path = _inside(root, f"{base}-{k}")
        k += 1
    tmp = root / f".tmp-{path.name}-{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    return path, tmp


def place_run(root: str | os.PathLike, name: str, files: dict[str, bytes]) -> Path:
    """Write a run's files (as a worker sent them) into a new folder under ``root``.

    The server side of a job: the worker saved the run with :func:`save_run` in its own
    temporary folder and sent the bytes, so it needs no shared disk. The folder gets
    ``name`` (or ``name-2``...); the names inside ``config.json`` and ``run.json`` follow.
    Written under a temporary name and renamed at the end, as :func:`save_run` does.
    """
    path, tmp = _new_folder(runs_root(root), safe_name(name))
    try:
        for rel, blob in files.items():
            target = (tmp / rel).resolve()
            if tmp.resolve() not in target.parents:  # a file name that would leave the run
                raise DataError("errors.runs.unsafe_name", name=rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
        for meta in ("config.json", "run.json"):
            if (tmp / meta).is_file():
                obj = json.loads((tmp / meta).read_text(encoding="utf-8"))
                obj["name"] = path.name
                _write_json(tmp / meta, obj)
        tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


@dataclass
class RunInfo:
    name: str
    path: Path
    status: str = "unknown"
    method: str = ""
    loss: str = ""
    created: str = ""
    message: str = ""  # English; see message_key and localized_message
    damaged: bool = False
    problem: str = ""  # English; see problem_key and localized_message(info, lang, "problem")
    metrics: dict[str, float] = field(default_factory=dict)
    # "verdict" (and "verdict_class_structure"): the paired comparisons with the baselines
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    message_key: str = ""  # catalogue key of the message ("": an English message as saved)
    message_params: dict[str, Any] = field(default_factory=dict)
    problem_key: str = ""
    problem_params: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        if self.damaged:
            return f"{self.name} (damaged)"
        return f"{self.name} · {self.method}/{self.loss} · {self.status}"


def run_info(path: str | os.PathLike) -> RunInfo:
    """One run folder's :class:`RunInfo` (status, metrics, verdicts); never raises."""
    return _read_info(Path(path))


def _read_info(path: Path) -> RunInfo:
    info = RunInfo(name=path.name, path=path)
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        info.damaged = True
        _set_problem(info, "messages.runs.missing_files", files=", ".join(missing))
        return info
    try:
        run = json.loads((path / "run.json").read_text(encoding="utf-8"))
        saved = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
        # Verdicts (fusion.verdicts) are saved beside the flat metrics, as objects.
        info.verdicts = {k: v for k, v in saved.items() if isinstance(v, dict)}
        info.metrics = {k: v for k, v in saved.items() if not isinstance(v, dict)}
        info.status = str(run.get("status", "unknown"))
        info.method = str(run.get("method", ""))
        info.loss = str(run.get("loss", ""))
        info.created = str(run.get("created", ""))
        info.message = str(run.get("message", ""))
        key, params = run.get("message_key"), run.get("message_params")
        if isinstance(key, str) and isinstance(params, dict):
            info.message_key, info.message_params = key, params
    except (OSError, ValueError, AttributeError) as exc:
        info.damaged = True
        _set_problem(info, "messages.runs.unreadable_info", error_type=exc.__class__.__name__)
    return info


def _set_problem(info: RunInfo, key: str, **params: Any) -> None:
    """Why a run is damaged: English in ``problem``, the key for other languages beside it."""
    info.problem = translate(key, DEFAULT_LANGUAGE, **params)
    info.problem_key, info.problem_params = key, params


def list_runs(root: str | os.PathLike | None = None) -> list[RunInfo]:
    """Every run folder under the root, newest first; damaged ones flagged, never raising."""
    root = runs_root(root)
    if not root.is_dir():
        return []
    infos = [
        _read_info(p)
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name != EVALUATIONS
    ]
    return sorted(infos, key=lambda i: (i.created, i.name), reverse=True)


@dataclass
class LoadedRun:
    info: RunInfo
    config: dict[str, Any]
    run: dict[str, Any]
    metrics: dict[str, float]
    epochs: pd.DataFrame
    steps: pd.DataFrame
    embeddings: pd.DataFrame
    attention: pd.DataFrame
    samples: PairedData | None
    head_weights: tuple[np.ndarray, np.ndarray] | None = None  # (epochs, (E, n, H, M, M))
    projection: CCAProjection | None = None  # Deep CCA's shared space (see SHARED_SPACE_FILE)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def modalities(self) -> list[str]:
        return list(self.run.get("modalities", []))

    @property
    def verdicts(self) -> dict[str, dict[str, Any]]:
        return self.info.verdicts

    @property
    def validation_reported(self) -> bool:
        """A run without test rows (``test_fraction`` 0, as config layouts up to 3 read):
        its numbers were measured on validation rows, the rows early stopping chose on."""
        return "test_rows" not in self.metrics

    @property
    def snapshot_epochs(self) -> list[int]:
        return (
            sorted(int(e) for e in self.embeddings["epoch"].unique())
            if len(self.embeddings)
            else []
        )

    def run_config(self) -> RunConfig:
        return RunConfig.from_dict(self.config)


def load_run(path: str | os.PathLike, root: str | os.PathLike | None = None) -> LoadedRun:
    """Load a run folder (or a run name under the root); a damaged run raises DataError."""
    import pandas as pd

    p = Path(path)
    if not p.is_dir():
        p = _inside(runs_root(root), str(path))
    info = _read_info(p)
    if info.damaged:
        problem = info.problem_params
        if info.problem_key == "messages.runs.missing_files":
            raise DataError("errors.runs.damaged_missing", name=p.name, files=problem["files"])
        raise DataError(
            "errors.runs.damaged_unreadable_info", name=p.name, error_type=problem["error_type"]
        )
    try:
        config = json.loads((p / "config.json").read_text(encoding="utf-8"))
        run = json.loads((p / "run.json").read_text(encoding="utf-8"))
        epochs = (
            pd.read_csv(p / "epochs.csv")
            if (p / "epochs.csv").stat().st_size > 1
            else pd.DataFrame()
        )
        steps = (
            pd.read_parquet(p / "steps.parquet")
            if (p / "steps.parquet").is_file()
            else pd.DataFrame()
        )
        emb = pd.read_parquet(p / "embeddings.parquet")
        att = (
            pd.read_parquet(p / "attention.parquet")
            if (p / "attention.parquet").is_file()
            else pd.DataFrame()
        )
        samples = _read_samples(p)
        heads = None
        if (p / "head_weights.npz").is_file():
            with np.load(p / "head_weights.npz", allow_pickle=False) as z:
                heads = (z["epochs"], z["weights"])
        projection = None
        if (p / SHARED_SPACE_FILE).is_file():
            with np.load(p / SHARED_SPACE_FILE, allow_pickle=False) as z:
                projection = CCAProjection.from_arrays(dict(z))
    except Exception as exc:  # any unreadable file means the run is damaged, never a crash
        raise DataError(
            "errors.runs.damaged_unreadable",
            name=p.name,
            error_type=exc.__class__.__name__,
            error=str(exc)[:200],
        ) from None
    return LoadedRun(
        info, config, run, info.metrics, epochs, steps, emb, att, samples, heads, projection
    )


def _read_samples(p: Path) -> PairedData | None:
    if not (p / "samples.npz").is_file():
        return None
    extra = {}
    if (p / "texts.json").is_file():
        extra = json.loads((p / "texts.json").read_text(encoding="utf-8"))
    with np.load(p / "samples.npz", allow_pickle=False) as z:
        mods = {k[5:]: z[k] for k in z.files if k.startswith("mod__")}
        return PairedData(
            modalities=mods,
            labels=z["labels"] if "labels" in z.files else None,
            label_names=extra.get("label_names"),
            mask=z["mask"] if "mask" in z.files else None,
            ids=z["ids"],
            texts=extra.get("texts") or {},
        )


def load_weights(path: str | os.PathLike) -> dict[str, Any]:
    """A run's state_dict, loaded safely (tensors only, nothing unpickled)."""
    import torch

    return torch.load(Path(path) / "weights.pt", map_location="cpu", weights_only=True)


def delete_run(name: str, root: str | os.PathLike | None = None) -> None:
    """Remove a run folder (only ever inside the runs root)."""
    path = _inside(runs_root(root), name)
    if path.is_dir():
        shutil.rmtree(path)
