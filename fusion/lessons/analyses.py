"""Each lesson's analysis: from its finished runs to the numbers its text quotes and its figures.

An analysis takes the lesson's runs (run key -> :class:`~fusion.lessons.view.RunView`) and
a translate function and returns :class:`~fusion.lessons.specs.Findings`; the papers each
one follows are in its docstring.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from fusion import plots
from fusion.errors import ConfigError
from fusion.generators import generate
from fusion.lessons.figures import (
    bars_with_chance,
    chance_legend,
    chance_line,
    digit_samples,
    gap_maps,
    layout,
    line_figure,
    map_figure,
    maps_grid,
)
from fusion.lessons.specs import THREE_NOISE, Findings, Translate, run_key
from fusion.lessons.view import RunView, first_last, require_runs, val_series
from fusion.plots import MODALITY_COLORS


def _values_present(views: Mapping[str, RunView], prefix: str) -> list[tuple[float, RunView]]:
    """(value, run) of every trained variation run with key ``<prefix>-<value>``, by value.

    The values are read back from the keys (:func:`~fusion.lessons.specs.run_key`); the
    views hold only one lesson's runs (:func:`fusion.lessons.find_runs`)."""
    out = []
    for key, view in views.items():
        if not key.startswith(prefix + "-"):
            continue
        try:
            value = float(key[len(prefix) + 1 :])
        except ValueError:
            continue
        if run_key(prefix, value) == key:
            out.append((value, view))
    return sorted(out, key=lambda item: item[0])


def analyse_shared_space(views: Mapping[str, RunView], t: Translate) -> Findings:
    """Before vs after training on the map; retrieval before and after, with chance.

    Recall@1 (Radford et al. 2021's retrieval protocol) and class precision@10 from
    :func:`fusion.metrics.joint_metrics`, at epoch 0 (random encoders) and the last epoch.
    """
    require_runs(views, run_key("noise", 0.3))
    base = views[run_key("noise", 0.3)]
    f = Findings()
    r1 = first_last(base, "recall_at_1_mean")
    cp = first_last(base, "class_precision_at_10_a_to_b")
    gap = first_last(base, "modality_gap")
    f.numbers.update(
        r1_before=r1[0],
        r1_after=r1[1],
        r1_chance=float(base.metrics.get("recall_at_1_mean_chance", np.nan)),
        cp_before=cp[0],
        cp_after=cp[1],
        cp_chance=float(base.metrics.get("class_precision_at_10_a_to_b_chance", np.nan)),
        gap_before=gap[0],
        gap_after=gap[1],
        epochs=base.last_epoch,
    )
    first, last = base.snapshot_epochs[0], base.last_epoch
    f.figures["map_before"] = map_figure(
        base, first, t, t("lessons.shared_space.fig.map_before"), "label"
    )
    f.figures["map_after"] = map_figure(
        base, last, t, t("lessons.shared_space.fig.map_after", epoch=last), "label"
    )
    groups = [t("lessons.axes.recall_at_1"), t("lessons.axes.class_precision")]
    fig = bars_with_chance(
        groups,
        [
            (t("lessons.common.before"), [r1[0], cp[0]]),
            (t("lessons.common.after"), [r1[1], cp[1]]),
        ],
        None,
        t,
        t("lessons.shared_space.fig.retrieval"),
        t("lessons.axes.metric"),
        t("lessons.axes.score"),
    )
    for i, c in enumerate([f.numbers["r1_chance"], f.numbers["cp_chance"]]):
        fig.add_shape(
            type="line",
            xref="x",
            x0=i - 0.45,
            x1=i + 0.45,
            y0=c,
            y1=c,
            line=dict(dash="dot", color=MODALITY_COLORS[5], width=2),
        )
    chance_legend(fig, t)
    f.figures["retrieval"] = fig
    trained = _values_present(views, "noise")
    xs = [v for v, _ in trained]
    f.figures["noise"] = line_figure(
        [
            (
                t("lessons.axes.class_precision"),
                xs,
                [float(r.metrics["class_precision_at_10_a_to_b"]) for _, r in trained],
            ),
            (
                t("lessons.axes.recall_at_1"),
                xs,
                [float(r.metrics["recall_at_1_mean"]) for _, r in trained],
            ),
        ],
        t,
        t("lessons.shared_space.fig.noise"),
        t("lessons.axes.noise_b"),
        t("lessons.axes.score"),
    )
    f.figures["noise"].update_yaxes(range=[0, 1.05])
    chance_line(f.figures["noise"], f.numbers["cp_chance"], t)
    for v, r in trained:
        f.numbers[f"cp_noise_{v:g}"] = float(r.metrics["class_precision_at_10_a_to_b"])
    return f


def analyse_collapse(views: Mapping[str, RunView], t: Translate) -> Findings:
    """Spread per epoch (mean per-dimension std, VICReg's collapse signal) of seed vs InfoNCE.

    The seed article's objective sum_ij s_ij ||f(x_i) - g(y_j)||^2 + lam (||f||^2 + ||g||^2)
    has no term for s_ij = 0, so its minimum is f = g = 0 (Hadsell, Chopra & LeCun 2006
    add the missing margin term); InfoNCE (van den Oord et al. 2018) pushes negatives apart.
    """
    seed_key = run_key("seed-lam", 0.1)
    require_runs(views, seed_key, "infonce")
    seed, nce = views[seed_key], views["infonce"]
    f = Findings()
    s0, s1 = first_last(seed, "spread")
    n0, n1 = first_last(nce, "spread")
    f.numbers.update(
        spread_seed_first=s0,
        spread_seed_last=s1,
        spread_nce_first=n0,
        spread_nce_last=n1,
        fold=float(round(s0 / s1)) if s1 > 0 else float("inf"),
        ratio=s1 / n1 if n1 > 0 else float("nan"),
        cp_seed=float(seed.metrics["class_precision_at_10_a_to_b"]),
        cp_nce=float(nce.metrics["class_precision_at_10_a_to_b"]),
        cp_chance=float(seed.metrics["class_precision_at_10_a_to_b_chance"]),
        r1_seed=float(seed.metrics["recall_at_1_mean"]),
        r1_nce=float(nce.metrics["recall_at_1_mean"]),
        r1_chance=float(seed.metrics["recall_at_1_mean_chance"]),
        epochs=seed.last_epoch,
    )
    lines = [(t("lessons.runs.infonce"), nce.epochs["epoch"], val_series(nce, "spread"))]
    dashes = {}
    for i, (lam, view) in enumerate(_values_present(views, "seed-lam")):
        name = t("lessons.runs.seed_lam", lam=f"{lam:g}")
        lines.append((name, view.epochs["epoch"], val_series(view, "spread")))
        dashes[name] = ("solid", "dash", "dot")[i % 3]  # the seed's lines lie on top of each other
        f.numbers[f"spread_lam_{lam:g}"] = float(val_series(view, "spread").iloc[-1])
    f.figures["spread"] = line_figure(
        lines,
        t,
        t("lessons.collapse.fig.spread"),
        t("lessons.axes.epoch"),
        t("lessons.axes.spread_log"),
        log_y=True,
        dashes=dashes,
    )
    last = [(name, float(ys.iloc[-1])) for name, _, ys in lines]
    fig = go.Figure(
        go.Bar(
            x=[name for name, _ in last],
            y=[v for _, v in last],
            marker=dict(
                color=[MODALITY_COLORS[i % len(MODALITY_COLORS)] for i in range(len(last))]
            ),
            text=[f"{v:.2g}" for _, v in last],
            textposition="outside",
            cliponaxis=False,
        )
    )
    fig.update_yaxes(type="log", dtick=1)
    f.figures["spread_last"] = layout(
        fig,
        t,
        t("lessons.collapse.fig.spread_last", epoch=seed.last_epoch),
        t("lessons.axes.run"),
        t("lessons.axes.spread_log"),
    )
    f.figures["maps"] = maps_grid(
        [
            [
                (view, epoch, t(key, epoch=epoch))
                for epoch in (view.snapshot_epochs[0], view.last_epoch)
            ]
            for view, key in (
                (seed, "lessons.collapse.fig.seed_at"),
                (nce, "lessons.collapse.fig.nce_at"),
            )
        ],
        t,
        t("lessons.collapse.fig.maps"),
        "label",
    )
    f.figures["retrieval"] = bars_with_chance(
        [t("lessons.runs.seed_lam", lam="0.1"), t("lessons.runs.infonce")],
        [(t("lessons.axes.class_precision"), [f.numbers["cp_seed"], f.numbers["cp_nce"]])],
        f.numbers["cp_chance"],
        t,
        t("lessons.collapse.fig.retrieval"),
        t("lessons.axes.run"),
        t("lessons.axes.class_precision"),
    )
    return f


def analyse_temperature(views: Mapping[str, RunView], t: Translate) -> Findings:
    """Modality gap ||mean(a/|a|) - mean(b/|b|)|| (Liang et al. 2022) against InfoNCE's tau."""
    trained = _values_present(views, "tau")
    if len(trained) < 1:
        raise ConfigError("lessons.errors.missing_runs", runs="tau-*")
    f = Findings()
    taus = [v for v, _ in trained]
    gaps = [float(r.metrics["modality_gap"]) for _, r in trained]
    r1s = [float(r.metrics["recall_at_1_mean"]) for _, r in trained]
    low, high = trained[0], trained[-1]
    f.numbers.update(
        gap_init=first_last(low[1], "modality_gap")[0],
        tau_low=low[0],
        tau_high=high[0],
        gap_low=gaps[0],
        gap_high=gaps[-1],
        r1_low=r1s[0],
        r1_high=r1s[-1],
        tau_best_r1=taus[int(np.argmax(r1s))],
        r1_best=max(r1s),
        r1_chance=float(low[1].metrics["recall_at_1_mean_chance"]),
        n_trained=len(trained),
    )
    for v, g in zip(taus, gaps, strict=True):
        f.numbers[f"gap_tau_{v:g}"] = g
    fig = line_figure(
        [
            (t("lessons.temperature.fig.gap_after"), taus, gaps),
            (t("lessons.temperature.fig.gap_init"), taus, [f.numbers["gap_init"]] * len(taus)),
        ],
        t,
        t("lessons.temperature.fig.gap_vs_tau"),
        t("lessons.axes.tau_log"),
        t("lessons.axes.gap"),
        log_x=True,
        dashed=[t("lessons.temperature.fig.gap_init")],
    )
    fig.update_yaxes(rangemode="tozero")
    f.figures["gap_vs_tau"] = fig
    f.figures["gap_epochs"] = line_figure(
        [
            (t("lessons.runs.tau", tau=f"{v:g}"), r.epochs["epoch"], val_series(r, "modality_gap"))
            for v, r in trained
        ],
        t,
        t("lessons.temperature.fig.gap_epochs"),
        t("lessons.axes.epoch"),
        t("lessons.axes.gap"),
    )
    f.figures["gap_epochs"].update_yaxes(rangemode="tozero")
    f.figures["recall"] = line_figure(
        [(t("lessons.axes.recall_at_1"), taus, r1s)],
        t,
        t("lessons.temperature.fig.recall"),
        t("lessons.axes.tau_log"),
        t("lessons.axes.recall_at_1"),
        log_x=True,
    )
    chance_line(f.figures["recall"], f.numbers["r1_chance"], t)
    f.figures["recall"].update_yaxes(rangemode="tozero")
    panels = [
        (low[1], low[1].snapshot_epochs[0], t("lessons.temperature.fig.at_init")),
        (low[1], low[1].last_epoch, t("lessons.runs.tau", tau=f"{low[0]:g}")),
        (high[1], high[1].last_epoch, t("lessons.runs.tau", tau=f"{high[0]:g}")),
    ]
    if low[0] == high[0]:
        panels = panels[:2]
    f.figures["clouds"] = gap_maps(panels, t, t("lessons.temperature.fig.clouds"))
    return f


def analyse_broken_sensor(views: Mapping[str, RunView], t: Translate) -> Findings:
    """Attention weight on sensor b against how often b is broken; attention vs early fusion.

    Modality attention w = softmax_m(score(h_m)) (Bahdanau et al. 2015) on the
    gated-reliability task of Arevalo et al. 2017; early fusion concatenates the inputs.
    """
    atts = _values_present(views, "att")
    if not atts:
        raise ConfigError("lessons.errors.missing_runs", runs="att-*")
    f = Findings()
    c0, a0 = atts[0]
    att = a0.attention[a0.attention["epoch"] == a0.attention["epoch"].max()]
    works = att["mask_b"] == 1
    f.numbers.update(
        broken_lo_pct=c0,
        w_b=float(a0.metrics["attention_mean_b"]),
        w_b_works=float(att.loc[works, "weight_b"].median()),
        w_b_broken=float(att.loc[~works, "weight_b"].median()),
        on_informative=float(a0.metrics["attention_on_informative"]),
        on_informative_chance=float(a0.metrics["attention_on_informative_chance"]),
        agreement=float(a0.metrics["attention_mask_agreement"]),
        acc_att=float(a0.metrics["accuracy"]),
        chance=float(a0.metrics.get("accuracy_chance", np.nan)),
    )
    early = views.get(run_key("early", c0))
    f.numbers["acc_early"] = float(early.metrics["accuracy"]) if early else float("nan")
    c1, a1 = atts[-1]
    f.numbers.update(broken_hi_pct=c1, w_b_hi=float(a1.metrics["attention_mean_b"]))
    for c, r in atts:
        f.numbers[f"w_b_{c:g}"] = float(r.metrics["attention_mean_b"])

    sensors = [t("lessons.common.sensor", name=m) for m in ("a", "b")]
    fig = plots.attention_vs_reliability(
        att[["weight_a", "weight_b"]].to_numpy(dtype=float),
        att[["mask_a", "mask_b"]].to_numpy(),
        sensors,
        colors=dict(zip(sensors, MODALITY_COLORS, strict=False)),
        t=t,
    )
    f.figures["reliability"] = layout(
        fig,
        t,
        t("lessons.broken_sensor.fig.reliability", pct=f"{c0:.0%}"),
        t("lessons.axes.sensor"),
        t("lessons.axes.attention_weight"),
    )
    xs = [c for c, _ in atts]
    fig = line_figure(
        [
            (
                t("lessons.broken_sensor.fig.weight_b"),
                xs,
                [float(r.metrics["attention_mean_b"]) for _, r in atts],
            ),
            (t("lessons.broken_sensor.fig.share_works"), xs, [1.0 - c for c in xs]),
        ],
        t,
        t("lessons.broken_sensor.fig.weight_vs_broken"),
        t("lessons.axes.broken_share"),
        t("lessons.axes.mean_weight_b"),
        dashed=[t("lessons.broken_sensor.fig.share_works")],
    )
    fig.update_xaxes(tickformat=".0%")
    fig.update_yaxes(range=[0, 1])
    f.figures["weight_vs_broken"] = fig
    groups = [f"{c:.0%}" for c in xs]
    early_acc = [
        float(views[run_key("early", c)].metrics["accuracy"])
        if run_key("early", c) in views
        else np.nan
        for c in xs
    ]
    f.figures["accuracy"] = bars_with_chance(
        groups,
        [
            (t("lessons.runs.attention"), [float(r.metrics["accuracy"]) for _, r in atts]),
            (t("lessons.runs.early"), early_acc),
        ],
        f.numbers["chance"],
        t,
        t("lessons.broken_sensor.fig.accuracy"),
        t("lessons.axes.broken_share"),
        t("lessons.axes.accuracy"),
    )
    return f


def single_view_probe(view: RunView) -> dict[str, float]:
    """Linear-probe accuracy on each raw view of a run's data: the "single view" baseline.

    The same protocol as the runs' probes (:func:`fusion.metrics.linear_probe_accuracy`:
    standardised features, logistic regression fitted on the training split, accuracy on
    the validation split), on the raw pixels, with the run's seeded split. Keys
    ``raw_<view>`` and ``chance``.
    """
    from fusion.metrics import linear_probe_accuracy  # scikit-learn: only when asked

    src = view.config.get("data", {})
    data = generate(src["generator"], **src["params"])
    train = view.config.get("train", {})
    tr, va = data.split(train.get("val_fraction", 0.2), train.get("seed", 0))
    out: dict[str, float] = {}
    for name in data.names:
        p = linear_probe_accuracy(tr.flat(name), tr.labels, va.flat(name), va.labels)
        out[f"raw_{name}"] = p["linear_probe_accuracy"]
        out["chance"] = p["linear_probe_accuracy_chance"]
    return out


def analyse_digits(views: Mapping[str, RunView], t: Translate) -> Findings:
    """Linear probes (Alain & Bengio 2016) on each view: raw pixels vs linear CCA vs joint.

    The Noisy-MNIST protocol of Wang et al. 2015 ("On Deep Multi-View Representation
    Learning"): train on pairs without labels, then probe the embedding of the first view
    (the rotated digit); in their table linear CCA scored below raw pixels and the deep
    multi-view models above.
    """
    joints = _values_present(views, "joint")
    ccas = dict(_values_present(views, "cca"))
    if not joints:
        raise ConfigError("lessons.errors.missing_runs", runs="joint-*")
    f = Findings()
    base_noise = 0.5 if run_key("joint", 0.5) in views else joints[0][0]
    joint = views[run_key("joint", base_noise)]
    cca = ccas.get(base_noise)
    raw = single_view_probe(joint)
    mods = joint.modalities  # ["rotated", "noisy"]
    f.numbers.update(
        noise=base_noise,
        chance=float(joint.metrics.get("linear_probe_accuracy_chance", raw["chance"])),
        **{f"raw_{m}": raw[f"raw_{m}"] for m in mods},
        **{f"joint_{m}": float(joint.metrics[f"linear_probe_accuracy_{m}"]) for m in mods},
        **{
            f"cca_{m}": float(cca.metrics[f"linear_probe_accuracy_{m}"]) if cca else float("nan")
            for m in mods
        },
    )
    groups = [t("lessons.digits.view", name=m) for m in mods]
    f.figures["probe"] = bars_with_chance(
        groups,
        [
            (t("lessons.digits.raw"), [f.numbers[f"raw_{m}"] for m in mods]),
            (t("lessons.runs.cca"), [f.numbers[f"cca_{m}"] for m in mods]),
            (t("lessons.runs.joint"), [f.numbers[f"joint_{m}"] for m in mods]),
        ],
        f.numbers["chance"],
        t,
        t("lessons.digits.fig.probe"),
        t("lessons.axes.view_probed"),
        t("lessons.axes.probe_accuracy"),
    )
    xs = [v for v, _ in joints]
    first = mods[0]
    cca_xs = [v for v in xs if v in ccas]
    # The same order (and so colours) as the bars: raw pixels, CCA, joint.
    lines = [
        (t("lessons.digits.raw"), xs, [f.numbers[f"raw_{first}"]] * len(xs)),
        (
            t("lessons.runs.cca"),
            cca_xs,
            [float(ccas[v].metrics[f"linear_probe_accuracy_{first}"]) for v in cca_xs],
        ),
        (
            t("lessons.runs.joint"),
            xs,
            [float(r.metrics[f"linear_probe_accuracy_{first}"]) for _, r in joints],
        ),
    ]
    fig = line_figure(
        lines,
        t,
        t("lessons.digits.fig.noise", view=first),
        t("lessons.axes.teacher_noise"),
        t("lessons.axes.probe_accuracy"),
        dashed=[t("lessons.digits.raw")],
    )
    fig.update_yaxes(range=[0, 1.05])
    chance_line(fig, f.numbers["chance"], t)
    f.figures["noise"] = fig
    for v, r in joints:
        f.numbers[f"joint_{first}_noise_{v:g}"] = float(r.metrics[f"linear_probe_accuracy_{first}"])
    f.figures["samples"] = digit_samples(joint, t)
    return f


def analyse_three(views: Mapping[str, RunView], t: Translate) -> Findings:
    """Three modalities in one space (pairwise InfoNCE over a-b, a-c, b-c) and their attention.

    Attention fusion's softmax weights compete across modalities, so the token that best
    predicts the class takes most of the weight; each modality's class information is read
    by a linear probe on its joint embedding (Alain & Bengio 2016).
    """
    require_runs(views, "joint", run_key("att-a", THREE_NOISE[0]))
    joint, att = views["joint"], views[run_key("att-a", THREE_NOISE[0])]
    mods = joint.modalities
    f = Findings()
    for m, noise in zip(mods, THREE_NOISE, strict=False):
        f.numbers[f"w_{m}"] = float(att.metrics[f"attention_mean_{m}"])
        f.numbers[f"probe_{m}"] = float(joint.metrics[f"linear_probe_accuracy_{m}"])
        f.numbers[f"noise_{m}"] = noise
    f.numbers.update(
        chance=float(joint.metrics["linear_probe_accuracy_chance"]),
        acc=float(att.metrics["accuracy"]),
        acc_chance=float(att.metrics.get("accuracy_chance", np.nan)),
        r1=float(joint.metrics["recall_at_1_mean"]),
        r1_chance=float(joint.metrics["recall_at_1_mean_chance"]),
    )
    f.figures["map"] = map_figure(
        joint, joint.last_epoch, t, t("lessons.three_modalities.fig.map", epoch=joint.last_epoch)
    )
    groups = [
        t("lessons.three_modalities.modality", name=m, noise=f"{n:g}")
        for m, n in zip(mods, THREE_NOISE, strict=False)
    ]
    f.figures["attention"] = bars_with_chance(
        groups,
        [
            (t("lessons.axes.mean_weight"), [f.numbers[f"w_{m}"] for m in mods]),
            (t("lessons.axes.probe_accuracy"), [f.numbers[f"probe_{m}"] for m in mods]),
        ],
        f.numbers["chance"],
        t,
        t("lessons.three_modalities.fig.attention"),
        t("lessons.axes.modality"),
        t("lessons.axes.score_or_weight"),
    )
    trained = _values_present(views, "att-a")
    xs = [v for v, _ in trained]
    f.figures["noise_a"] = line_figure(
        [
            (
                t("lessons.three_modalities.weight_of", name=m),
                xs,
                [float(r.metrics[f"attention_mean_{m}"]) for _, r in trained],
            )
            for m in mods
        ],
        t,
        t("lessons.three_modalities.fig.noise_a"),
        t("lessons.axes.noise_a"),
        t("lessons.axes.mean_weight"),
    )
    f.figures["noise_a"].update_yaxes(range=[0, 1])
    for v, r in trained:
        for m in mods:
            f.numbers[f"w_{m}_noise_{v:g}"] = float(r.metrics[f"attention_mean_{m}"])
    return f
