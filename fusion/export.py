"""Exports: paired data as one table, and a finished run as files that reproduce it.

Data: a table holds every modality's columns under a ``<modality>__<column>`` prefix
(the convention :mod:`fusion.loaders` reads back), plus ``id`` and ``label``.
Image modalities are flattened row-major into ``<modality>__r<row>c<col>``.

Runs (a folder written by :func:`fusion.runs.save_run`):

- :func:`run_archive`: one zip with the config, weights, history, metrics (with chance
  levels), embeddings (CSV and Parquet), the Embedding Projector files, a README and
  ``reproduce.py``; for a run trained on uploaded data, the data itself when the caller
  passes it (a run folder keeps only the validation samples behind its snapshots).
- :func:`projector_files`: ``vectors.tsv`` + ``metadata.tsv`` for the TensorBoard
  Embedding Projector (Smilkov et al. 2016, "Embedding Projector: Interactive
  Visualization and Interpretation of Embeddings"), one row per (sample, modality).
- :func:`reproduce_script`: a standalone script that rebuilds the data and the
  :class:`~fusion.config.RunConfig`, trains again on the CPU and compares metrics.
- :func:`figure_bytes`: a Plotly figure as self-contained HTML or as PNG (PNG through
  ``kaleido`` and a locally installed Chrome/Chromium; nothing is downloaded).
"""

from __future__ import annotations

import io
import json
import math
import os
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fusion.data import PairedData
from fusion.errors import FusionError
from fusion.rundata import snapshot, snapshot_epochs
from fusion.shared_space import FILE as SHARED_SPACE_FILE
from fusion.templates import reproduce as _reproduce

# The script's own tolerance rule is the export's too; its data file is the zip's.
from fusion.templates.reproduce import ABS_TOL as ABS_TOL
from fusion.templates.reproduce import DATA_FILE
from fusion.templates.reproduce import TOLERANCE_RULE as TOLERANCE_RULE
from fusion.templates.reproduce import tolerance as tolerance


def data_to_frame(data: PairedData) -> pd.DataFrame:
    """One DataFrame: id, label (name), then each modality's prefixed columns."""
    cols: dict[str, np.ndarray] = {"id": data.ids}
    if data.labels is not None:
        names = data.label_names or [str(i) for i in range(data.n_classes)]
        cols["label"] = np.array([names[i] for i in data.labels])
    for name, arr in data.modalities.items():
        if arr.ndim == 3:
            h, w = arr.shape[1:]
            keys = [f"{name}__r{r}c{c}" for r in range(h) for c in range(w)]
        else:
            keys = [f"{name}__{j}" for j in range(arr.shape[1])]
        flat = arr.reshape(len(arr), -1)
        cols.update({k: flat[:, j] for j, k in enumerate(keys)})
    return pd.DataFrame(cols)


def data_to_bytes(data: PairedData, fmt: str = "csv") -> bytes:
    """The table of :func:`data_to_frame` as CSV or Parquet bytes (for downloads)."""
    return _table_bytes(data_to_frame(data), fmt)


# ---------------------------------------------------------------------------
# Runs: the files of one run folder, as downloads

_HTML_CONFIG = {"displaylogo": False, "responsive": True}


def _load(run_dir: str | os.PathLike):
    from fusion.runs import load_run  # torch comes with it: imported when a run is exported

    return load_run(run_dir)


def _table_bytes(df: pd.DataFrame, fmt: str) -> bytes:
    if fmt == "parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue()
    return df.to_csv(index=False).encode("utf-8")


def metrics_frame(metrics: dict[str, float]) -> pd.DataFrame:
    """One row per metric: metric, value and its chance level (NaN where it has none)."""
    keys = [k for k in metrics if not k.endswith("_chance")]
    return pd.DataFrame(
        {
            "metric": keys,
            "value": [metrics[k] for k in keys],
            "chance": [metrics.get(f"{k}_chance", np.nan) for k in keys],
        }
    )


def needs_data(run_dir: str | os.PathLike) -> bool:
    """True when the run was trained on uploaded files, not on a seeded generator.

    Such a run folder keeps only the validation samples behind its snapshots, so the
    training data must come from the caller (the session's dataset) to be exported.
    """
    cfg = json.loads((Path(run_dir) / "config.json").read_text(encoding="utf-8"))
    return "generator" not in (cfg.get("data") or {})


def data_matches_run(run_dir: str | os.PathLike, data: PairedData | None) -> bool:
    """Whether ``data`` is the data the run was trained on.

    Checks the recorded files, the modalities and their shapes, and that the validation
    samples stored in the run are exactly ``data``'s rows with the same ids.
    """
    if data is None:
        return False
    run = _load(run_dir)
    recorded = run.config.get("data") or {}
    if "generator" in recorded:
        same_source = {k: data.source.get(k) for k in ("generator", "params")} == {
            "generator": recorded["generator"],
            "params": recorded.get("params"),
        }
    else:
        same_source = data.source.get("files") == recorded.get("files")
    if not same_source or data.names != run.modalities:
        return False
    if data.n <= run.run.get("n_val", 0):  # the validation rows are a part of the data
        return False
    samples = run.samples
    if samples is None:
        return True
    # The stored validation samples, found by id wherever the split put them.
    position = {sid: i for i, sid in enumerate(data.ids)}
    found = [position.get(sid) for sid in samples.ids]
    if any(r is None for r in found):
        return False
    rows = np.asarray(found, dtype=np.int64)
    return all(
        samples.modalities[name].shape[1:] == data.modalities[name].shape[1:]
        and np.array_equal(samples.modalities[name], data.modalities[name][rows])
        for name in data.names
    )


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """Both absent, or both present and equal."""
    return (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))


def data_npz(data: PairedData) -> bytes | None:
    """``data`` as an NPZ archive that :func:`fusion.loaders.load` reads back unchanged.

    One array per modality, ``labels`` (class names when reading them back keeps the
    class order, else class indices), ``ids`` and, when the data has them, ``groups``.
    Returns None when a round trip through the loader would not give the same arrays (a
    modality named like the label, id or group arrays, a file over the loader's size
    limit), so nothing misleading is exported.
    """
    from fusion import loaders

    reserved = ("label", "labels", "id", "ids", "group", "groups")
    if data.mask is not None or any(n in reserved for n in data.names):
        return None  # the loader reads no reliability mask, and these names are reserved
    candidates: list[np.ndarray | None] = [None]
    if data.labels is not None:
        names = np.array(data.label_names or [], dtype=str)
        candidates = [names[data.labels], data.labels]
    for labels in candidates:
        arrays: dict[str, np.ndarray] = dict(data.modalities)
        if labels is not None:
            arrays["labels"] = labels
        arrays["ids"] = data.ids.astype(str)
        if data.groups is not None:  # the split keeps each group on one side
            arrays["groups"] = data.groups.astype(str)
        try:
            buf = io.BytesIO()
            np.savez_compressed(buf, **arrays)
            raw = buf.getvalue()
            back = loaders.load((DATA_FILE, raw))
        except (ValueError, OSError):  # FusionError is a ValueError: the loader refused it
            return None
        same = (
            back.names == data.names
            and all(np.array_equal(back.modalities[k], data.modalities[k]) for k in data.names)
            and np.array_equal(back.ids, data.ids)
            and all(_same(getattr(back, a), getattr(data, a)) for a in ("groups", "labels"))
        )
        if same:
            return raw
    return None


def projector_files(run_dir: str | os.PathLike, epoch: int | None = None) -> tuple[str, str]:
    """``vectors.tsv`` and ``metadata.tsv`` of one snapshot for the Embedding Projector.

    One row per (sample, modality), so both modalities of a pair sit in one shared space.
    vectors.tsv: tab-separated floats, no header. metadata.tsv: a header row (the Projector
    requires one when there is more than one column), then one row per vector in the same
    order: ``id``, ``modality``, ``label``, ``sample`` (row in the snapshot) and, when the
    data has a reliability mask, ``reliability``. ``epoch`` defaults to the last snapshot.
    Rows whose vector is not finite (a diverged run) are left out of both files.
    """
    emb = pd.read_parquet(Path(run_dir) / "embeddings.parquet")
    epochs = snapshot_epochs(emb)
    if not epochs:
        raise FusionError("errors.export.no_embeddings", run=Path(run_dir).name)
    found = snapshot(emb, epoch)
    if found is None:
        raise FusionError(
            "errors.export.no_snapshot", epoch=epoch, available=", ".join(map(str, epochs))
        )
    found = found.finite()  # (n_rows, D): a diverged run's rows drop
    if not len(found.meta):
        raise FusionError("errors.export.no_embeddings", run=Path(run_dir).name)
    if found.Z.shape[1] < 2:
        raise FusionError("errors.export.projector_dim", dim=found.Z.shape[1])
    z, snap = found.Z, found.meta

    vectors = io.StringIO()
    np.savetxt(vectors, z, fmt="%.7g", delimiter="\t")

    def clean(v: Any) -> str:  # a tab or newline inside a value would shift the columns
        return " ".join(str(v).split())

    labels = [
        clean(name) if isinstance(name, str) and name else (str(int(lab)) if lab >= 0 else "")
        for name, lab in zip(snap["label_name"], snap["label"], strict=True)
    ]
    columns = {
        "id": [clean(v) for v in snap["id"]],
        "modality": [clean(v) for v in snap["modality"]],
        "label": labels,
        "sample": [str(int(v)) for v in snap["sample"]],
    }
    rel = snap["reliability"].to_numpy(dtype=np.float64)
    if not np.isnan(rel).all():
        columns["reliability"] = ["" if math.isnan(v) else f"{v:.4g}" for v in rel]
    lines = ["\t".join(columns)]
    lines += ["\t".join(row) for row in zip(*columns.values(), strict=True)]
    return vectors.getvalue(), "\n".join(lines) + "\n"


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _json_literal(obj: Any) -> str:
    """``obj`` as JSON text to put inside a raw triple-double-quoted string of the script.

    JSON never holds three unescaped double quotes in a row (after a string comes a comma,
    a colon, a bracket or a brace), and a raw string keeps its backslash escapes as they
    are, so ``json.loads`` reads the text back unchanged.
    """
    text = json.dumps(obj, indent=1, ensure_ascii=True)
    assert '"""' not in text.replace('\\"', ""), "JSON text would close the script's string"
    return text


def _replace_line(script: str, line: str, text: str) -> str:
    """``script`` with its one line ``line`` (whole, without the newline) replaced by ``text``."""
    lines = script.split("\n")
    assert lines.count(line) == 1, f"the template has no single line {line!r}"
    lines[lines.index(line)] = text
    return "\n".join(lines)


def reproduce_template() -> str:
    """The source of the reproduce script (:mod:`fusion.templates.reproduce`) before it is
    filled in with a run."""
    return Path(_reproduce.__file__).read_text(encoding="utf-8")


# The template's lines that reproduce_script() fills in: the docstring's title, and the run's
# JSON files (each as a line ``NAME: dict = {}  # filled in: <file>``).
_TITLE = (_reproduce.__doc__ or "").splitlines()[0]
_FILLED = {"CONFIG": "config.json", "EXPORTED_METRICS": "metrics.json", "RUN": "run.json"}


def reproduce_script(run_dir: str | os.PathLike) -> str:
    """A standalone ``reproduce.py`` for the run: rebuild the data, train on the CPU, compare.

    The script is :mod:`fusion.templates.reproduce` with the run's title in its docstring
    and the run's configuration, its reported metrics and the few facts of ``run.json`` it
    checks as JSON in three marked lines, so it runs on its own, downloaded without the
    zip. Only a run on uploaded data needs more: that data, as ``data.npz`` beside the
    script (the unzipped :func:`run_archive`) or a file given with ``--data``.
    """
    run_dir = Path(run_dir)
    cfg = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    info = _read_json(run_dir / "run.json")
    run_facts = {k: info[k] for k in ("status", "completed_epochs", "n_val") if k in info}
    source = cfg.get("data") or {}
    if "generator" in source:
        params = ", ".join(f"{k}={v!r}" for k, v in (source.get("params") or {}).items())
        data_text = f"generated: {source['generator']}({params})"
    else:
        files = ", ".join(map(str, source.get("files") or [])) or "uploaded data"
        data_text = f"uploaded: {files} (read from {DATA_FILE})"
    header = (
        f"Reproduce the Fusion Playground run {run_dir.name!r}: "
        f"{cfg.get('method', '?')} / {cfg.get('loss', '?')}.\n\n"
        + textwrap.fill(f"Data {data_text}.", 88)
    )
    # The header goes into the script's docstring: keep backslashes and quotes literal.
    header = header.replace("\\", "\\\\").replace('"""', "'''")
    script = _replace_line(reproduce_template(), f'"""{_TITLE}', f'"""{header}')
    values = {
        "CONFIG": cfg,
        "EXPORTED_METRICS": _read_json(run_dir / "metrics.json"),
        "RUN": run_facts,
    }
    for name, file in _FILLED.items():
        marked = f"{name}: dict = {{}}  # filled in: {file}"
        filled = f'{name}: dict = json.loads(\n    r"""\n{_json_literal(values[name])}\n"""\n)'
        script = _replace_line(script, marked, filled)
    return script


def _readme(name: str, members: list[str], data_note: str) -> str:
    described = {
        "config.json": "the run's configuration (fusion.config.RunConfig as JSON) and, "
        "under 'data', where its data came from",
        "run.json": "status, device, timings, modality names and the validation size",
        "weights.pt": "the trained model's state_dict (torch.load(path, weights_only=True))",
        SHARED_SPACE_FILE: "Deep CCA: the linear CCA fitted on the training outputs; the "
        "metrics and embeddings are in this space: (z - mean__<m>) @ weights__<m> "
        "(np.load(path); fusion.shared_space.CCAProjection.from_arrays)",
        "history/epochs.csv": "one row per epoch: seconds, samples/s, training losses, "
        "validation metrics (val_*)",
        "history/steps.csv": "one row per optimisation step with each loss part",
        "history/steps.parquet": "the same, as Parquet",
        "metrics/metrics.json": "the final validation metrics; <name>_chance is the chance level",
        "metrics/metrics.csv": "the same as a table: metric, value, chance",
        "embeddings/last_snapshot.csv": "validation embeddings at the last snapshot, long form: "
        "epoch, sample, id, modality, label, label_name, reliability, z0..z{D-1}",
        "embeddings/last_snapshot.parquet": "the same, as Parquet",
        "embeddings/all_snapshots.csv": "the embeddings at every snapshot epoch (same columns)",
        "embeddings/all_snapshots.parquet": "the same, as Parquet",
        "projector/vectors.tsv": "last snapshot for the TensorBoard Embedding Projector: one "
        "vector per line, tab-separated, no header",
        "projector/metadata.tsv": "one line per vector in the same order, after a header: id, "
        "modality, label, sample (and reliability when the data has a mask); in "
        "projector.tensorflow.org: Load, then choose both files",
        DATA_FILE: "the training data (uploaded files) as NumPy arrays: one per modality, "
        "labels and ids; read by fusion.loaders.load",
        "reproduce.py": "trains the same model again and compares its metrics with "
        "metrics/metrics.json (see below); it carries both, so it also runs on its own",
        "README.txt": "this file",
    }
    width = max(len(m) for m in members)

    def para(text: str) -> list[str]:
        return textwrap.wrap(text, 88, initial_indent="  ", subsequent_indent="  ")

    lines = [
        f"Fusion Playground run '{name}'",
        "",
        "Files:",
        *(f"  {m.ljust(width)}  {described.get(m, '')}" for m in members),
        "",
        "Training data:",
        *para(data_note),
        "",
        "Reproducing the run:",
        *para(
            "reproduce.py carries the run's configuration (config.json) and metrics, "
            "rebuilds the data, trains "
            "with fusion.experiment.run_experiment on the CPU, prints each metric next to the "
            "exported one, writes reproduced_metrics.json and exits with status 1 if a metric "
            f"differs by more than the tolerance: {TOLERANCE_RULE}. Seeds fix the data, the split, the "
            "initialisation and the batches, so the same machine and library versions give "
            "the same numbers."
        ),
        "",
        *para(
            "It needs the `fusion` package of Fusion Playground and its requirements "
            "(pip install -r requirements.txt in the project). From this folder:"
        ),
        "",
        "      PYTHONPATH=/path/to/fusion-playground python reproduce.py",
        "",
        *para(
            "Options: --data FILE [FILE ...] (the training data: one table or NPZ file, or "
            "one .npy file per modality, for a run on uploaded data whose "
            "data.npz is missing), --output FILE (where to write the reproduced metrics), "
            "--config FILE and --metrics FILE (train with another configuration, compare with "
            "other metrics, instead of those the script carries)."
        ),
        "",
    ]
    return "\n".join(lines)


def _zip_time(root: Path) -> tuple[int, int, int, int, int, int]:
    """The run's own time for every member, so the same run always gives the same zip."""
    import time

    t = time.localtime(max((root / "metrics.json").stat().st_mtime, 315532800))  # >= 1980
    return t[:6]


def run_archive(run_dir: str | os.PathLike, data: PairedData | None = None) -> bytes:
    """A zip of the run, inside one folder named after it (see README.txt in the zip).

    ``data``: the dataset the run was trained on, for a run made from uploaded files. A run
    folder stores only the validation samples behind its snapshots, not the full training
    data; it is added as ``data.npz`` when ``data`` matches the run
    (:func:`data_matches_run`), and README.txt says when it is missing. Runs on generated
    data need nothing: ``reproduce.py`` regenerates it from the recorded seed and parameters.
    Raises :class:`~fusion.errors.DataError` for a damaged run.
    """
    run = _load(run_dir)
    root = Path(run_dir)
    files: dict[str, bytes] = {
        "config.json": (root / "config.json").read_bytes(),
        "run.json": (root / "run.json").read_bytes(),
    }
    if (root / "weights.pt").is_file():
        files["weights.pt"] = (root / "weights.pt").read_bytes()
    if (root / SHARED_SPACE_FILE).is_file():
        files[SHARED_SPACE_FILE] = (root / SHARED_SPACE_FILE).read_bytes()
    files["history/epochs.csv"] = (root / "epochs.csv").read_bytes()
    files["history/steps.csv"] = _table_bytes(run.steps, "csv")
    files["history/steps.parquet"] = _table_bytes(run.steps, "parquet")
    files["metrics/metrics.json"] = (root / "metrics.json").read_bytes()
    files["metrics/metrics.csv"] = _table_bytes(metrics_frame(run.metrics), "csv")
    emb = run.embeddings
    if len(emb):
        last = emb[emb["epoch"] == emb["epoch"].max()]
        for stem, df in (("last_snapshot", last), ("all_snapshots", emb)):
            for fmt in ("csv", "parquet"):
                files[f"embeddings/{stem}.{fmt}"] = _table_bytes(df, fmt)
        try:
            vectors, metadata = projector_files(root)
        except FusionError:  # a diverged run or 1-D embeddings: the tables still go out
            pass
        else:
            files["projector/vectors.tsv"] = vectors.encode("utf-8")
            files["projector/metadata.tsv"] = metadata.encode("utf-8")
    source = run.config.get("data") or {}
    if "generator" in source:
        data_note = (
            f"generated by fusion.generators.{source['generator']} with the parameters and "
            "seed in config.json; reproduce.py regenerates it."
        )
    else:
        files_text = ", ".join(map(str, source.get("files") or [])) or "unknown"
        matches = data_matches_run(root, data)
        packed = data_npz(data) if matches else None
        if matches and packed is None:
            data_note = (
                f"NOT INCLUDED. This run was trained on uploaded files ({files_text}), which "
                "cannot be stored in a form fusion.loaders reads back unchanged (a reliability "
                "mask, or a modality named label or id). Pass the original file: "
                "python reproduce.py --data FILE."
            )
        elif packed is not None:
            files[DATA_FILE] = packed
            data_note = (
                f"{DATA_FILE} holds the uploaded data the run was trained on ({files_text})."
            )
        else:
            data_note = (
                f"NOT INCLUDED. This run was trained on uploaded files ({files_text}), and a run "
                "folder keeps only its validation samples, not the full training data. Export "
                "again with the same dataset loaded in the dashboard, or pass the original "
                "file: python reproduce.py --data FILE."
            )
    files["reproduce.py"] = reproduce_script(root).encode("utf-8")
    members = [*files, "README.txt"]
    files["README.txt"] = _readme(run.name, members, data_note).encode("utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for member, content in files.items():
            info = zipfile.ZipInfo(f"{run.name}/{member}", date_time=_zip_time(root))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if member.endswith(".py") else 0o644) << 16
            zf.writestr(info, content)
    return buf.getvalue()


# ---------------------------------------------------------------------------
# Figures


def browser_path() -> str | None:
    """The Chrome/Chromium that kaleido would use (``$BROWSER_PATH`` first), or None."""
    try:
        from choreographer.browsers.chromium import Chromium
    except ImportError:
        return None
    try:
        path = Chromium.find_browser(skip_local=False)
    except Exception:  # a best-effort search must never break a page
        return None
    return path if path and os.access(path, os.X_OK) else None


def png_available() -> bool:
    """Whether :func:`figure_bytes` can make PNGs here: kaleido and a local browser."""
    import importlib.util

    return importlib.util.find_spec("kaleido") is not None and browser_path() is not None


def figure_bytes(fig: Any, fmt: str, scale: float = 2.0) -> bytes:
    """A Plotly figure as ``"html"`` (self-contained: plotly.js inlined, opens offline) or
    ``"png"`` (rendered by kaleido in the local Chrome/Chromium; ``scale`` multiplies the
    layout's pixel size).

    PNG raises :class:`~fusion.errors.FusionError` when kaleido or a browser is missing;
    nothing is ever downloaded (kaleido's MathJax, fetched from a CDN, is turned off).
    """
    if fmt == "html":
        html = fig.to_html(include_plotlyjs=True, full_html=True, config=_HTML_CONFIG)
        return html.encode("utf-8")
    if fmt != "png":
        raise FusionError("errors.export.unknown_format", fmt=fmt)
    if not png_available():
        raise FusionError("errors.export.png_unavailable")
    import kaleido

    fig = type(fig)(fig)  # a copy: the page's figure stays as it is
    transparent = (None, "rgba(0,0,0,0)", "transparent")
    if fig.layout.paper_bgcolor in transparent:
        # The app's figures are transparent so the page theme shows through; a PNG file has
        # no theme behind it: white paper, and the default template's plot area and grid.
        fig.layout.paper_bgcolor = "white"
        if fig.layout.plot_bgcolor in transparent:
            fig.layout.plot_bgcolor = None
    layout = fig.layout
    opts = {
        "format": "png",
        "width": layout.width or 1000,
        "height": layout.height or 600,
        "scale": scale,
    }
    try:
        png = kaleido.calc_fig_sync(fig.to_dict(), opts=opts, kopts={"mathjax": False})
    except Exception as exc:  # the browser crashed or timed out: say so, never a traceback
        raise FusionError(
            "errors.export.png_failed", detail=f"{type(exc).__name__}: {str(exc)[:200]}"
        ) from None
    return bytes(png)
