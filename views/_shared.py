"""What pages other than Home, Train and Learn still import in one place (a facade).

The shared code lives in modules with one job each; new code imports from them:

- ``_state``: every session key and its accessors, and the job's lifecycle (``JobState``)
- ``_text``: language, ``t``, presenter mode, numbers and names for people
- ``_dataset``: generated data (cached) and the active data set's name
- ``_links``: the workspace, the runs folder, the URL and the share link
- ``_jobs``: the one place a job starts, the session's job slot
- ``_job_panel``: live progress and the outcome of the session's job
- ``_demo``: Home's demos and the empty state's one-click data
- ``_sidebar`` and ``_device``: the shared sidebar, the warm-up and the device
- ``_widgets``: charts, errors, scrolling, metrics named and drawn for people
"""

from __future__ import annotations

from views._dataset import dataset_label, dataset_title, generate
from views._demo import DEMOS, demo_panel, demo_training, require_dataset
from views._jobs import current_job, start_training, training_running
from views._links import get_active_run, runs_dir
from views._state import get_dataset, set_active_run, set_dataset
from views._text import (
    fmt,
    info_text,
    label_for,
    language,
    loss_label,
    method_label,
    presenter,
    status_label,
    t,
)
from views._widgets import chart, metrics_figure, show_error

__all__ = [
    "DEMOS",
    "chart",
    "current_job",
    "dataset_label",
    "dataset_title",
    "demo_panel",
    "demo_training",
    "fmt",
    "generate",
    "get_active_run",
    "get_dataset",
    "info_text",
    "label_for",
    "language",
    "loss_label",
    "method_label",
    "metrics_figure",
    "presenter",
    "require_dataset",
    "runs_dir",
    "set_active_run",
    "set_dataset",
    "show_error",
    "start_training",
    "status_label",
    "t",
    "training_running",
]
