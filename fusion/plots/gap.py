"""The modality-gap shift figure: Recall@1 and the gap as both modalities move along the gap.

Liang et al. 2022 ("Mind the Gap", https://arxiv.org/abs/2203.02053) shift the embeddings
of each modality along the gap vector and re-normalise, to ask whether the gap itself
decides retrieval; :func:`fusion.pretrained.gap_shift_table` computes the rows drawn here.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from fusion.plots.style import LABEL_COLORS, MISSING_COLOR, Translate, _check_columns, _finish, _tr


def gap_shift(table: pd.DataFrame, current: float | None = None, t: Translate = None) -> go.Figure:
    """Recall@1 (mean of both directions, with chance) and the modality gap against shift λ.

    ``table`` has the columns of :func:`fusion.pretrained.gap_shift_table`; ``current``
    marks the slider's λ with a vertical line. The gap is on a second y axis.
    """
    tr = _tr(t)
    _check_columns(
        table, ["shift", "modality_gap", "recall_at_1_mean", "recall_at_1_chance"], "gap_shift"
    )
    d = table.sort_values("shift")
    fig = go.Figure()
    lines = (  # (column, name, mode, line, axis)
        ("recall_at_1_mean", "recall", "lines+markers", dict(color=LABEL_COLORS[0], width=2), "y"),
        ("recall_at_1_chance", "chance", "lines", dict(color=MISSING_COLOR, dash="dot"), "y"),
        ("modality_gap", "gap", "lines+markers",
         dict(color=LABEL_COLORS[1], width=2, dash="dash"), "y2"),
    )  # fmt: skip
    for column, name, mode, line, axis in lines:
        fig.add_trace(
            go.Scatter(
                x=d["shift"],
                y=d[column],
                mode=mode,
                name=tr(f"plots.gap_shift.{name}"),
                line=line,
                yaxis=axis,
            )
        )
    if current is not None:
        fig.add_vline(x=float(current), line=dict(color=MISSING_COLOR, width=1))
    fig.update_layout(
        yaxis=dict(rangemode="tozero"),
        yaxis2=dict(
            overlaying="y",
            side="right",
            rangemode="tozero",
            showgrid=False,
        ),
        legend=dict(orientation="h", y=-0.25),
        height=380,
    )
    fig = _finish(
        fig, tr("plots.gap_shift.title"), tr("plots.gap_shift.shift"), tr("plots.gap_shift.recall")
    )
    # _finish titles every y axis; the second one is the gap's.
    fig.update_layout(
        margin=dict(l=60, r=60, t=60, b=50),
        yaxis2=dict(title=dict(text=tr("plots.gap_shift.gap"))),
    )
    return fig
