"""Small widgets every page uses: a chart, an error, scrolling into view, and metrics named
and drawn for people (headline metrics, live loss and metric figures).

Figures are built by :mod:`fusion.plots` (imported when first drawn: Plotly and
scikit-learn are heavy, and Home's first paint draws no chart).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from fusion.errors import FusionError
from views.parts.text import error_text, language, presenter, t


def chart(fig: Any, **kw: Any) -> Any:
    """Show a Plotly figure made readable (:func:`fusion.plots.for_people`: the title clear
    of the toolbar, bar values level); in presenter mode with text large enough for a
    projector."""
    from fusion.plots import for_people, for_projector

    if presenter():
        for_projector(fig)
    else:
        for_people(fig)  # figures built outside fusion.plots' builders (lessons) too
    kw.setdefault("width", "stretch")
    return st.plotly_chart(fig, **kw)


def choice(
    where: Any,
    label: str,
    options: list[str],
    key: str,
    *,
    labels: str = "",
    format_func: Any = None,
    default: str | None = None,
    help: str | None = None,
) -> str:
    """One of ``options`` as a segmented control that always has a value (``where``: ``st``
    or a column); option ``o`` is shown as ``t(labels + o)`` (``labels``: a catalogue
    prefix ending in ".") or ``format_func(o)``."""
    return where.segmented_control(
        label,
        options,
        default=default or options[0],
        required=True,
        format_func=format_func or (lambda o: t(labels + o)),
        key=key,
        help=help,
    )


def follow_language(key: str) -> None:
    """Call before drawing the select box with ``key`` so that it shows its choice in the
    session's language after a language switch.

    A select box's browser side holds the label of its choice as text; a rerun that only
    changes the labels (``format_func``) leaves that text in the old language. Setting the
    value again through session state makes Streamlit send the choice's new label.
    """
    state = st.session_state
    drawn = state.setdefault("_select_language", {})  # key -> language it was last drawn in
    lang = language()
    if drawn.get(key, lang) != lang and key in state:
        state[key] = state[key]
    drawn[key] = lang


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


def headline_metrics(
    values: dict[str, float], prefix: str = ""
) -> list[tuple[str, float, float | None]]:
    """(key, value, chance) of the few metrics worth showing live, from a metrics dict.

    ``prefix`` is stripped from keys (epoch rows store validation metrics as ``val_<key>``);
    the keys are :func:`fusion.metric_names.headline_keys`' live ones, NaN values left out.
    """
    from fusion.metric_names import headline_keys  # scikit-learn: not for Home's first paint

    flat = {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}
    return [
        (k, float(flat[k]), flat.get(f"{k}_chance"))
        for k in headline_keys(flat, "live")
        if flat[k] == flat[k]
    ]


def metric_title(key: str) -> str:
    """A metric key's name in the session's language (:func:`fusion.metric_names.metric_name`)."""
    from fusion.metric_names import metric_name  # scikit-learn: not for Home's first paint

    return metric_name(key, language())


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
    import pandas as pd  # here, not at import: Home's first paint goes without pandas

    from fusion import plots

    df = pd.DataFrame(thin(steps, max_points))
    parts = [c for c in df.columns if c not in ("step", "epoch")]
    return plots.loss_curves(df, parts=parts, title=t("common.training_loss_per_part"), t=t)
