"""Small widgets every page uses: a chart, an error, scrolling into view, and metrics named
and drawn for people (headline metrics, live loss and metric figures).

Figures are built by :mod:`fusion.plots` (imported when first drawn: Plotly and
scikit-learn are heavy, and Home's first paint draws no chart).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

from fusion.errors import FusionError
from views._text import error_text, info_text, presenter, t

# Headline metrics, in order of preference: the first key matching each pattern is shown.
HEADLINE_PATTERNS = (
    r"accuracy",
    r"macro_f1",
    r"attention_on_informative",
    r"recall_at_1_mean",
    r"recall_at_10_.+_to_.+",
    r"class_precision_at_10_.+_to_.+",
    r"linear_probe_accuracy",
)


def chart(fig: Any, **kw: Any) -> Any:
    """Show a Plotly figure; in presenter mode with text large enough for a projector."""
    if presenter():
        from fusion.plots import for_projector

        for_projector(fig)
    kw.setdefault("width", "stretch")
    return st.plotly_chart(fig, **kw)


def show_error(exc: FusionError) -> None:
    st.error(error_text(exc), icon=":material/error:")


def scroll_into_view(key: str) -> None:
    """Scroll the page so the element made with ``key=key`` is in view (once, in the browser).

    Streamlit keeps the scroll position across reruns: a panel that appears above a long
    form after its button is pressed would stay off-screen.
    """
    st.html(  # st.html is not in an iframe: the script sees the page's own document
        f"<script>document.querySelector('.st-key-{key}')"
        "?.scrollIntoView({block: 'start'});</script>",
        unsafe_allow_javascript=True,
        width="content",
    )


# ---------------------------------------------------------------------------
# Metrics for people


def metric_pattern(key: str) -> str | None:
    """The :data:`~fusion.metrics.METRIC_INFO` pattern a concrete metric key belongs to."""
    from fusion.metrics import METRIC_INFO, metric_info

    info = metric_info(key)
    return next((p for p, i in METRIC_INFO.items() if i is info), None)


def metric_title(key: str) -> str:
    """A display name for a metric key: 'Recall@10 (a → b)', 'Accuracy', ..."""
    pattern = metric_pattern(key)
    title = info_text("metric", pattern, "title") if pattern else key.replace("_", " ")
    k = re.search(r"_at_(\d+)", key)
    if k:
        title = re.sub(r"@[Kk]\b", "@" + k.group(1), title)
    pair = re.match(r"(?:recall_at_\d+|class_precision_at_\d+|median_rank)_(.+)_to_(.+)$", key)
    if pair:
        title += f" ({pair.group(1)} → {pair.group(2)})"
    return title


def headline_metrics(
    values: dict[str, float], prefix: str = ""
) -> list[tuple[str, float, float | None]]:
    """(key, value, chance) of the few metrics worth showing live, from a metrics dict.

    ``prefix`` is stripped from keys (epoch rows store validation metrics as ``val_<key>``).
    """
    flat = {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}
    out = []
    for pattern in HEADLINE_PATTERNS:
        key = next(
            (k for k in flat if re.fullmatch(pattern, k) and not k.endswith("_chance")), None
        )
        if key is not None and flat[key] == flat[key]:
            out.append((key, float(flat[key]), flat.get(f"{key}_chance")))
    return out


def metrics_figure(values: dict[str, float], prefix: str = "", title: str | None = None):
    """metric_bars of the headline metrics with chance ticks, or None when there are none."""
    from fusion import plots

    rows = headline_metrics(values, prefix)
    if not rows:
        return None
    fig = plots.metric_bars(
        {k: v for k, v, _ in rows},
        chance={k: c for k, _, c in rows if c is not None},
        titles={k: metric_title(k) for k, _, _ in rows},
        title=title,
        t=t,
    )
    if all(0.0 <= v <= 1.0 for _, v, _ in rows):
        fig.update_xaxes(range=[0, 1.08])  # fixed scale: bars do not jump between epochs
    return fig


def thin(rows: list[dict[str, float]], max_points: int = 300) -> list[dict[str, float]]:
    """At most ``max_points`` evenly spaced rows, always keeping the last (for fast redraws)."""
    if len(rows) <= max_points:
        return rows
    stride = -(-len(rows) // max_points)
    kept = rows[::stride]
    return kept if kept[-1] is rows[-1] else [*kept, rows[-1]]


def loss_figure(steps: list[dict[str, float]], max_points: int = 300):
    """Live loss curves, one line per loss part, from Progress.steps (thinned)."""
    from fusion import plots

    df = pd.DataFrame(thin(steps, max_points))
    parts = [c for c in df.columns if c not in ("step", "epoch")]
    return plots.loss_curves(df, parts=parts, title=t("common.training_loss_per_part"), t=t)
