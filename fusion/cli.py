"""Command line: ``python -m fusion generate | train | evaluate | project | runs``.

The headless path for scripts, teaching notebooks and benchmarks. Bad input
prints the project's clear message and exits with status 2, never a traceback.

    python -m fusion generate shared_latent --n 2000 --seed 0 --out data.parquet
    python -m fusion train --data shared_latent --method joint --loss info_nce --epochs 20 --out runs/demo
    python -m fusion train --data shared_latent --set train.patience=5 --set train.standardize=false
    python -m fusion train --data data.parquet --method attention --label-column label --out runs/att
    python -m fusion train --data shared_latent --method joint --executor ray --out runs/on-ray
    python -m fusion train --data view_a.csv --data view_b.csv --id-column id --method joint --loss triplet --out runs/mine
    python -m fusion evaluate --data data.parquet --label-column label --methods attention,early --folds 5
    python -m fusion project runs/demo --method umap
    python -m fusion runs
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from fusion import registry
from fusion.errors import FusionError
from fusion.jobs.executors import EXECUTORS


def _value(text: str) -> Any:
    """A command-line parameter value: JSON if it parses (numbers, lists, booleans), else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _params(pairs: list[str]) -> dict[str, Any]:
    out = {}
    for p in pairs or []:
        if "=" not in p:
            raise FusionError("errors.cli.bad_param", pair=p)
        k, v = p.split("=", 1)
        out[k.strip()] = _value(v)
    return out


def _pair(pair: str) -> tuple[str, str]:
    """``path=value`` of a ``--set``, split at the first ``=``."""
    path, sep, text = pair.partition("=")
    if not sep or not path.strip():
        raise FusionError("errors.cli.bad_set", pair=pair)
    return path.strip(), text


def apply_settings(cfg: Any, pairs: list[str]) -> Any:
    """The RunConfig ``cfg`` with each ``--set path=value`` applied: the path names a declared
    parameter of the method and loss (:func:`fusion.config.settable_paths`), the text is read
    as its type (:func:`fusion.params.parse_value`), and the result is validated."""
    from fusion.config import RunConfig, param_at, set_path, settable_paths
    from fusion.params import parse_value

    if not pairs:
        return cfg
    d = cfg.to_dict()
    for pair in pairs:
        path, text = _pair(pair)
        p = param_at(path, cfg.method, cfg.loss)
        if p is None:
            raise FusionError(
                "errors.cli.unknown_set_path",
                path=path,
                method=cfg.method,
                loss=cfg.loss,
                known=", ".join(settable_paths(cfg.method, cfg.loss)),
            )
        set_path(d, path, parse_value(p, text, path))
    out = RunConfig.from_dict(d)
    out.validate()
    return out


# The common flags of ``train`` and the setting each one sets, as ``--set <path>=`` would. A
# flag whose setting the method's config does not have is ignored (``--temperature`` for a
# classifier); ``--modality`` picks the modality of the single-modality baseline only.
FLAG_SETTINGS = {
    "epochs": "train.epochs",
    "batch_size": "train.batch_size",
    "lr": "train.lr",
    "optimizer": "train.optimizer",
    "seed": "train.seed",
    "device": "train.device",
    "weight_decay": "train.weight_decay",
    "dim": "model.dim",
    "encoder": "model.encoder.kind",
    "hidden": "model.encoder.hidden",
    "temperature": "model.temperature",
    "heads": "model.heads",
    "modality": "model.modality",
}


def apply_flags(cfg: Any, args: argparse.Namespace) -> Any:
    """The RunConfig ``cfg`` with the common flags given in ``args`` (:data:`FLAG_SETTINGS`)."""
    from fusion.config import RunConfig, param_at, set_path

    d = cfg.to_dict()
    for flag, path in FLAG_SETTINGS.items():
        value = getattr(args, flag, None)
        if value is None or param_at(path, cfg.method, cfg.loss) is None:
            continue
        if flag == "modality" and cfg.method != "single":
            continue
        set_path(d, path, value)
    return RunConfig.from_dict(d)


def generator_settings(name: str, pairs: list[str]) -> dict[str, Any]:
    """A generator's ``--set name=value`` pairs, each read as its declared type."""
    from fusion.generators import GENERATOR_SPECS
    from fusion.params import parse_value

    out: dict[str, Any] = {}
    declared = GENERATOR_SPECS[name].params if name in GENERATOR_SPECS else {}
    for pair in pairs or []:
        key, text = _pair(pair)
        out[key] = parse_value(declared[key], text, key) if key in declared else _value(text)
    return out


def _generator_names() -> str:
    from fusion.generators import GENERATORS

    return " | ".join(GENERATORS)


class Progress:
    """Training progress on stderr: a tqdm bar on a terminal, one plain line per epoch in a log.

    A bar redrawn with carriage returns floods a CI log or a file with thousands of
    fragments, so when the stream is not a terminal each epoch ends with one line instead.
    ``quiet`` shows nothing.
    """

    def __init__(self, stream=None, quiet: bool = False):
        self.stream = sys.stderr if stream is None else stream
        self.quiet = quiet
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.bar = None
        self.epochs = 0

    def start(self, epochs: int, batches_per_epoch: int) -> None:
        self.epochs = epochs
        if self.interactive and not self.quiet:
            from tqdm import tqdm

            total = epochs * max(batches_per_epoch, 1)
            self.bar = tqdm(total=total, file=self.stream, unit="step", dynamic_ncols=True)

    def steps(self, n: int, last: dict | None) -> None:
        if self.bar is not None and n > 0:
            if last is not None:
                self.bar.set_postfix(loss=f"{last['loss']:.4f}", refresh=False)
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def epoch_done(self, info: dict) -> None:
        keys = [k for k in info if k.startswith("val_recall_at_1_mean") or k == "val_accuracy"]
        score = ", ".join(f"{k[4:]}={info[k]:.3f}" for k in keys[:1])
        if keys:
            self.scored = True
        elif getattr(self, "scored", False):  # the per-epoch evaluation's time budget skipped it
            score = "metrics not measured this epoch (time budget)"
        epoch = f"epoch {int(info['epoch'])}/{self.epochs}"
        if self.bar is not None:
            self.bar.set_description(epoch)
        elif not self.quiet:
            loss = info.get("train_loss")
            parts = [epoch, f"loss {loss:.4f}" if loss is not None else "", score]
            self.stream.write("  ".join(p for p in parts if p) + f"  ({info['seconds']:.1f} s)\n")
            self.stream.flush()


def load_data(sources: list[str], args: argparse.Namespace):
    """--data: a generator name (with --param), one table, or one file per modality."""
    from fusion import generators, loaders

    if len(sources) == 1 and sources[0] in generators.GENERATORS:
        params = _params(args.param)
        if "seed" not in params and getattr(args, "seed", None) is not None:
            params["seed"] = args.seed
        return generators.generate(sources[0], **params)
    for s in sources:
        if s in generators.GENERATORS:
            raise FusionError("errors.cli.generator_with_files", name=s)
        if not Path(s).is_file():
            raise FusionError(
                "errors.cli.no_such_source", name=s, generators=", ".join(generators.GENERATORS)
            )
    return loaders.load(
        sources if len(sources) > 1 else sources[0],
        label_column=args.label_column,
        id_column=args.id_column,
        group_column=args.group_column,
    )


def cmd_generate(args: argparse.Namespace) -> int:
    from fusion import generators
    from fusion.export import data_to_frame

    params = {**_params(args.param), **generator_settings(args.generator, args.set)}
    for k in ("n", "seed"):
        if getattr(args, k) is not None:
            params[k] = getattr(args, k)
    data = generators.generate(args.generator, **params)
    out = Path(args.out)
    df = data_to_frame(data)
    if out.suffix == ".csv":
        df.to_csv(out, index=False)
    elif out.suffix == ".tsv":
        df.to_csv(out, index=False, sep="\t")
    else:
        df.to_parquet(out, index=False)
    print(f"Wrote {data.describe()} to {out}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from fusion.config import default_config
    from fusion.i18n import translate
    from fusion.jobs import TrainingJob
    from fusion.runs import runs_root

    data = load_data(args.data, args)
    cfg = apply_flags(default_config(args.method, args.loss), args)
    cfg.loss_params.update(_params(args.loss_param))
    cfg = apply_settings(cfg, args.set)
    out = Path(args.out) if args.out else None
    cfg.name = out.name if out else ""
    progress = Progress(quiet=args.quiet)
    if not args.quiet:
        print(f"Data: {data.describe()}", file=sys.stderr)
    root = out.parent if out else runs_root()
    if out and out.is_dir():  # --out names the folder: a new run replaces the old one
        shutil.rmtree(out)
    requested = cfg.train.batch_size  # the run adapts the config's default batch to small data
    job = TrainingJob(data, cfg, root=root, name=cfg.name or None, executor=args.executor)
    follow(job.start(), progress)
    if job.result is None:
        print(f"failed: {job.error}", file=sys.stderr)
        return 1
    h = job.result.history
    print(f"{h.status}: {h.message} ({h.seconds:.1f} s on {h.device}; {h.device_reason})")
    used = job.result.config.train.batch_size
    if used < requested:  # the default batch adapted to fewer training rows
        print(translate("train.auto.batch", batch=requested, n=used))
    for k, v in sorted(job.result.metrics.items()):
        if not k.endswith("_chance"):
            chance = job.result.metrics.get(f"{k}_chance")
            extra = f"  (chance {chance:.3g})" if chance is not None else ""
            print(f"  {k:40s} {v:10.4f}{extra}")
    for line in verdict_lines(job.result.metrics, job.result.verdicts):
        print(line)
    print(f"Saved run to {job.saved_path}")
    return 0 if h.status in ("finished", "stopped") else 1


def verdict_lines(metrics: dict[str, float], verdicts: dict[str, Any]) -> list[str]:
    """What the numbers above rest on, and the run's verdicts against its baselines."""
    from fusion.baselines import verdict_sentence
    from fusion.i18n import translate
    from fusion.verdicts import saved

    lines = []
    if "test_rows" in metrics:
        rows = int(metrics["test_rows"])
        folds = int(metrics.get("cv_folds", 0))
        key = "baselines.rows_cv" if folds > 1 else "baselines.rows_test"
        lines.append(translate(key, rows=f"{rows:,}", folds=folds))
    for _, v in saved(verdicts):
        lines.append(f"{v.outcome.upper()}: {verdict_sentence(v)}")
    return lines


def follow(job: Any, progress: Progress, poll: float = 0.2) -> None:
    """Show ``job``'s progress on ``progress`` until it ends; Ctrl-C stops it (work kept)."""
    seen_steps = seen_epochs = 0
    started = False
    try:
        while job.running or not started:
            job.join(poll)
            p = job.progress()
            if not started and p.state in ("running", "done", "failed"):
                started = True
                if p.total_steps:
                    progress.start(p.epochs, p.total_steps // max(p.epochs, 1))
            progress.steps(p.step - seen_steps, p.steps[-1] if p.steps else None)
            seen_steps = p.step
            for row in p.epoch_rows[seen_epochs:]:
                progress.epoch_done(row)
            seen_epochs = len(p.epoch_rows)
    except KeyboardInterrupt:
        job.stop()
        job.join()
    progress.close()


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Cross-validate methods on the data (fusion.evaluation); Ctrl-C keeps finished folds."""
    from fusion.evaluation import EvaluationRun, method_choices, row_label
    from fusion.i18n import translate
    from fusion.runs import runs_root

    data = load_data(args.data, args)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if not args.quiet:
        print(f"Data: {data.describe()}", file=sys.stderr)
    root = runs_root(args.root)
    run = EvaluationRun(
        data,
        methods or list(method_choices()),
        root=root,
        folds=args.folds,
        seed=args.seed,
        epochs=args.epochs,
        executor=args.executor,
        name=args.name or "",
    ).start()
    seen = -1

    def show() -> None:
        nonlocal seen
        p = run.progress()
        if p.done + p.failed != seen and p.total and not args.quiet:
            seen = p.done + p.failed
            each = ", ".join(f"{k} {m.done}/{m.total}" for k, m in p.methods.items())
            print(
                translate("evaluate.cli_progress", done=p.done, total=p.total, methods=each),
                file=sys.stderr,
                flush=True,
            )

    try:
        while not run.join(0.3):
            show()
        show()
    except KeyboardInterrupt:
        print(translate("evaluate.stopping"), file=sys.stderr)
        run.stop()
        run.join()
    if run.result is None:
        print(f"error: {translate(run.error_key, **run.error_params)}", file=sys.stderr)
        return 2
    ev = run.result
    for s in ev.scores:
        line = f"  {row_label(s):45s} {s.score:6.3f}  [{s.interval[0]:.3f}, {s.interval[1]:.3f}]"
        line += f"  {s.test_rows:5d} rows  {s.folds}/{s.folds_total} folds"
        if s.verdict:
            line += f"  {s.verdict['outcome']} vs {s.verdict['against']}"
            line += f" ({s.verdict['difference'] * 100:+.1f} points)"
        elif s.chosen:
            line += "  (baseline set against)"
        elif s.error_key:
            line += f"  failed: {translate(s.error_key, **s.error_params)}"
        print(line)
    if ev.stopped:
        print(translate("evaluate.stopped", total=ev.folds))
    print(f"Saved evaluation to {ev.path}")
    return 0


def cmd_project(args: argparse.Namespace) -> int:
    import numpy as np

    from fusion.projection import project
    from fusion.rundata import snapshot
    from fusion.runs import load_run

    run = load_run(args.run)
    snap = snapshot(run.embeddings, args.epoch)
    if snap is None:
        raise FusionError(
            "errors.cli.no_snapshot",
            run=run.name,
            epoch=args.epoch if args.epoch is not None else "?",
            epochs=run.snapshot_epochs,
        )
    epoch = snap.epoch
    uv = project(
        snap.Z.astype(np.float32),
        method=args.method,
        n_neighbors=args.n_neighbors,
        min_dist=args.min_dist,
        seed=args.seed,
    )
    out = snap.meta.assign(u=uv[:, 0], v=uv[:, 1])
    target = run.info.path / f"map_{args.method}_epoch{epoch}.parquet"
    out.to_parquet(target, index=False)
    print(f"Projected {len(out)} points ({args.method}, epoch {epoch}) to {target}")
    if args.html:
        from fusion.plots import shared_space

        shared_space(out, color_by=args.color_by, show_pairs=False).write_html(args.html)
        print(f"Wrote the map to {args.html}")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from fusion.runs import delete_run, list_runs

    if args.delete:
        delete_run(args.delete, args.root)
        print(f"Deleted {args.delete}")
        return 0
    infos = list_runs(args.root)
    if not infos:
        print("No runs yet. Train one: python -m fusion train --data shared_latent --out runs/demo")
    for i in infos:
        key = "recall_at_1_mean" if "recall_at_1_mean" in i.metrics else "accuracy"
        score = i.metrics.get(key)
        s = f"{key}={score:.3f}" if isinstance(score, (int, float)) else ""
        print(
            f"{i.name:40s} {i.method:9s} {i.loss:15s} {i.status if not i.damaged else 'DAMAGED: ' + i.problem:12s} {s}"
        )
    return 0


def _data_arguments(parser: argparse.ArgumentParser, group_help: str) -> None:
    """The options that name the data: ``--data`` (repeatable), generator parameters and the
    columns of a table (labels, ids, groups)."""
    parser.add_argument(
        "--data",
        action="append",
        required=True,
        help="generator name, a table, or one file per modality (repeat)",
    )
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="generator parameter"
    )
    parser.add_argument("--label-column")
    parser.add_argument("--id-column")
    parser.add_argument("--group-column", help=group_help)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fusion", description="Fusion Playground from the command line."
    )
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="make a synthetic paired data set and write it to a file")
    g.add_argument("generator", help=_generator_names())
    g.add_argument("--n", type=int)
    g.add_argument("--seed", type=int)
    g.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="generator parameter"
    )
    g.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="generator parameter, read as its declared type (repeatable), e.g. --set noise=0.5",
    )
    g.add_argument("--out", required=True, help="output file: .parquet, .csv or .tsv")
    g.set_defaults(func=cmd_generate)

    t = sub.add_parser("train", help="train a fusion model and save the run folder")
    _data_arguments(
        t, "column naming each row's subject or source; a group stays on one side of the split"
    )
    t.add_argument("--method", default="joint", choices=list(registry.METHODS))
    t.add_argument(
        "--loss",
        choices=list(registry.LOSSES),
        help="for --method joint: " + ", ".join(registry.joint_losses()) + " (default "
        f"{registry.default_loss('joint')}); other methods have their own loss",
    )
    t.add_argument(
        "--loss-param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="e.g. lam=0.1, margin=0.2",
    )
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--optimizer", choices=list(registry.OPTIMIZERS))
    t.add_argument("--weight-decay", type=float)
    t.add_argument("--dim", type=int, help="shared / token dimension")
    t.add_argument("--encoder", choices=list(registry.ENCODER_KINDS))
    t.add_argument("--hidden", type=int, help="encoder width")
    t.add_argument("--temperature", type=float)
    t.add_argument("--heads", type=int)
    t.add_argument("--modality", help="for --method single")
    t.add_argument("--seed", type=int)
    t.add_argument("--device", choices=list(registry.DEVICES))
    t.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="any setting by its dotted path, checked like the Train form's (repeatable; "
        "applied after the flags above), e.g. --set train.patience=5 "
        "--set train.standardize=false --set model.encoder.depth=2",
    )
    t.add_argument("--quiet", action="store_true", help="no progress output, only the results")
    t.add_argument(
        "--executor",
        choices=list(EXECUTORS),
        default="thread",
        help="where to train: in this process (thread, the default), a worker process "
        "(local), or a Ray cluster (ray; RAY_ADDRESS says which)",
    )
    t.add_argument(
        "--out", help="run folder (default: a new folder under $FUSION_RUNS_DIR or ./runs)"
    )
    t.set_defaults(func=cmd_train)

    ev = sub.add_parser(
        "evaluate", help="cross-validate methods on labelled data, the folds in parallel"
    )
    _data_arguments(ev, "rows of one group stay in one fold")
    ev.add_argument(
        "--methods",
        default="attention,early,late,single,joint",
        help="comma-separated, from: "
        + ", ".join(m for m, s in registry.METHODS.items() if not s.gradient_free),
    )
    ev.add_argument("--folds", type=int, default=5)
    ev.add_argument("--epochs", type=int, help="at most this many epochs per training")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument(
        "--executor",
        choices=list(EXECUTORS),
        help="where the folds train (default $FUSION_EXECUTOR, else local worker processes)",
    )
    ev.add_argument("--name", help="the evaluation's folder name")
    ev.add_argument("--root", help="runs folder (default $FUSION_RUNS_DIR or ./runs)")
    ev.add_argument("--quiet", action="store_true", help="no progress output")
    ev.set_defaults(func=cmd_evaluate)

    pr = sub.add_parser("project", help="2-D map (UMAP or PCA) of a run's shared space")
    pr.add_argument("run", help="run folder or run name")
    pr.add_argument("--method", default="umap", choices=["umap", "pca"])
    pr.add_argument("--epoch", type=int)
    pr.add_argument("--n-neighbors", type=int, default=15)
    pr.add_argument("--min-dist", type=float, default=0.1)
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument("--html", help="also write the map as an interactive HTML file")
    pr.add_argument("--color-by", default="modality", choices=["modality", "label", "reliability"])
    pr.set_defaults(func=cmd_project)

    r = sub.add_parser("runs", help="list (or delete) saved runs")
    r.add_argument("--root", help="runs folder (default $FUSION_RUNS_DIR or ./runs)")
    r.add_argument("--delete", metavar="NAME")
    r.set_defaults(func=cmd_runs)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except FusionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
