"""The live map and live attention while training: frames made in the training worker,
folded on the server, stored with the run, drawn by the pages.

After every evaluation (epoch 0 and each epoch's end) the worker's callback
(:class:`~fusion.live.callback.LiveMap`) takes the validation embeddings the task already
computed (``emb:<modality>`` on the fixed snapshot rows), keeps a deterministic subsample
of whole samples (at most :data:`LIVE_MAX_POINTS` points), and hands them to its frame
thread (:mod:`fusion.live.scheduler`), which maps them into 2-D and sends each frame to
the server through ``emit`` (:mod:`fusion.live.events`):

- ``points`` (once): who the points are (sample, modality, label, reliability), the
  attention rows' labels and reliability mask, and how many points were left out;
- ``frame`` (per evaluation, and every :data:`PEEK_SECONDS` of a long epoch, where
  ``partial`` is True and ``epoch`` fractional: 2.5 is half of epoch 3 trained; these are
  drawn live but not saved): the epoch and float32 coordinates (P, 2) for PCA and, while
  it keeps up, UMAP (:mod:`fusion.live.umap_frames`), plus the cloud's spread; sent again
  with its UMAP as an ``update``;
- ``attention`` (attention fusion): the per-sample modality weights (float16, (S, M)).

The last evaluation is never dropped: training waits for its frame (with UMAP) before it
ends, and epochs left without a frame get one then (:mod:`fusion.live.catch_up`). The
frames are left on the history (``History.live_frames``) and saved with the run as
:data:`FRAMES_FILE` (:mod:`fusion.live.store`), so Explore replays the same frames.

The modules, one role each:

- worker: :mod:`~fusion.live.callback` (the training callback, pacing),
  :mod:`~fusion.live.scheduler` (the frame thread and its budget),
  :mod:`~fusion.live.umap_frames` (UMAP layouts in the projection process),
  :mod:`~fusion.live.catch_up` (frames made after training);
- both sides: :mod:`~fusion.live.events` (event kinds, the on/off switch);
- server: :mod:`~fusion.live.fold` (the events into what a page keeps);
- storage: :mod:`~fusion.live.store` (the frames a run keeps, its file);
- pages: :mod:`~fusion.live.view` (what the live map and Explore draw).

Torch-free: pages read saved frames without importing torch; the callback is duck-typed
to :class:`fusion.train.Callback`. The public names of the modules are importable from
here.
"""

from fusion.live.callback import (
    LIVE_MAX_POINTS,
    PACE_FIRST_SECONDS,
    PACE_FIRST_WAIT_SECONDS,
    PACE_FRAME_WAIT_SECONDS,
    PACED_SHARES,
    PEEK_SECONDS,
    LiveMap,
    live_callbacks,
    live_rows,
)
from fusion.live.catch_up import CATCH_UP_FRAMES, CATCH_UP_SECONDS, CatchUp
from fusion.live.events import (
    ATTENTION,
    ENV_SWITCH,
    FRAME,
    POINTS,
    Emit,
    Evaluation,
    enabled,
    switched,
)
from fusion.live.fold import add_frame, add_steps, thin_frames
from fusion.live.scheduler import FRAME_SHARES, Budget, FrameThread
from fusion.live.store import FRAMES_FILE, FrameRecord, SavedFrames, load_frames, save_frames
from fusion.live.umap_frames import FALLBACK_AFTER, UMAP_SLOW_SECONDS, UmapRunner
from fusion.live.view import (
    STALE_UMAP_EPOCHS,
    STALE_UMAP_SECONDS,
    attention_summary,
    axis_ranges,
    collapse_factor,
    epoch_label,
    explore_view,
    in_order_index,
    points_frame,
    shown_frame,
)

__all__ = [
    "ATTENTION",
    "CATCH_UP_FRAMES",
    "CATCH_UP_SECONDS",
    "ENV_SWITCH",
    "FALLBACK_AFTER",
    "FRAME",
    "FRAMES_FILE",
    "FRAME_SHARES",
    "LIVE_MAX_POINTS",
    "PACED_SHARES",
    "PACE_FIRST_SECONDS",
    "PACE_FIRST_WAIT_SECONDS",
    "PACE_FRAME_WAIT_SECONDS",
    "PEEK_SECONDS",
    "POINTS",
    "STALE_UMAP_EPOCHS",
    "STALE_UMAP_SECONDS",
    "UMAP_SLOW_SECONDS",
    "Budget",
    "CatchUp",
    "Emit",
    "Evaluation",
    "FrameRecord",
    "FrameThread",
    "LiveMap",
    "SavedFrames",
    "UmapRunner",
    "add_frame",
    "add_steps",
    "attention_summary",
    "axis_ranges",
    "collapse_factor",
    "enabled",
    "epoch_label",
    "explore_view",
    "in_order_index",
    "live_callbacks",
    "live_rows",
    "load_frames",
    "points_frame",
    "save_frames",
    "shown_frame",
    "switched",
    "thin_frames",
]
