"""Plotly figure builders for the playground; each returns a ``plotly.graph_objects.Figure``.

Figures are built from plain values (arrays, DataFrames, dicts) so they can be tested
without a browser; only pages call ``st.plotly_chart``.

Conventions shared by every builder:

- One colour per modality everywhere: :func:`modality_color_map` assigns the Okabe-Ito
  palette (Okabe & Ito, 2008, "Color Universal Design"), which stays distinguishable
  under the common colour-vision deficiencies, by position in the modality list. Pass the
  same ``colors`` map (or the same modality order) to every figure.
- Class labels use :data:`LABEL_COLORS`, CARTO's colour-blind-safe qualitative "Safe"
  palette (11 colours, cycled beyond that).
- Continuous values (reliability) use the perceptually uniform, colour-blind-friendly
  Cividis scale (Nuñez, Anderton & Renslow, 2018).
- Backgrounds are transparent and no template is forced, so the host theme (Streamlit's
  light or dark theme) styles text and grid lines.
- Every user-visible string goes through the optional ``t`` translation function (the app
  passes its gettext-like lookup for Chinese); the English text is the key. Data values
  (modality and class names) are shown as given.

The shared-space map (:func:`shared_space`) takes precomputed 2-D coordinates, so
recolouring or scrubbing through epochs only rebuilds the figure (tens of milliseconds at
10,000 points), never the projection (see :mod:`fusion.projection`).
"""

from fusion.plots.attention import (
    attention_by_class,
    attention_heatmap,
    attention_vs_reliability,
    head_attention,
)
from fusion.plots.maps import image_grid, shared_space
from fusion.plots.style import (
    LABEL_COLORS,
    MISSING_COLOR,
    MODALITY_COLORS,
    MODALITY_SYMBOLS,
    PAIR_LINE_COLOR,
    RELIABILITY_SCALE,
    TRANSPARENT,
    ColorBy,
    Translate,
    class_order,
    for_people,
    for_projector,
    label_color_map,
    log_ticks,
    modality_color_map,
    place_title,
    rgba,
)
from fusion.plots.training import embedding_spread, loss_curves, metric_bars

__all__ = [
    "LABEL_COLORS",
    "MISSING_COLOR",
    "MODALITY_COLORS",
    "MODALITY_SYMBOLS",
    "PAIR_LINE_COLOR",
    "RELIABILITY_SCALE",
    "TRANSPARENT",
    "ColorBy",
    "Translate",
    "attention_by_class",
    "attention_heatmap",
    "attention_vs_reliability",
    "class_order",
    "embedding_spread",
    "for_people",
    "for_projector",
    "head_attention",
    "image_grid",
    "label_color_map",
    "log_ticks",
    "loss_curves",
    "metric_bars",
    "modality_color_map",
    "place_title",
    "rgba",
    "shared_space",
]
