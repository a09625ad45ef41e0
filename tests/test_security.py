"""Security checks of the app: server settings, no unpickling, no user-made paths, no
per-user objects in caches shared by every session."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from tests.apptest_helpers import wait_for_jobs
from tests.test_app_train import open_train, start

ROOT = Path(__file__).resolve().parents[1]
UI_FILES = [ROOT / "app.py", *sorted((ROOT / "views").rglob("*.py"))]

# The only resources one server shares between all its sessions: server-wide helpers that
# hold no user's data. Anything else (models, jobs, datasets) must be per session.
SHARED_RESOURCES = {
    "start_warm_up": "the UMAP warm-up thread",
    "_probe": "the device the training workers use (asked once per server)",
    "executor": "the executor: worker processes or a Ray connection, no user's data",
    # Holds users' jobs, on purpose: a job belongs to its workspace, not to a websocket,
    # so it outlives a closed tab. Keyed by the workspace token; a session only reaches
    # its own workspace's slot (views.parts.jobs.job_slot), as with the runs folder.
    "job_board": "the server's job slots, one per workspace token",
    # Likewise an evaluation (Compare's cross-validation) belongs to its workspace: keyed by
    # the token, a session reaches only its own (views.parts.evaluate).
    "evaluation_board": "the server's evaluations, one per workspace token",
}


def test_server_settings_keep_xsrf_on_and_cap_uploads():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    server = cfg["server"]
    assert server.get("enableXsrfProtection") is True
    assert 0 < server.get("maxUploadSize", 0) <= 200  # megabytes
    assert server.get("enableCORS", True) is True  # not switched off either
    assert 0 < server.get("disconnectedSessionTTL", 120) <= 300


def test_the_ui_never_unpickles():
    """The same check as tests/test_library_boundaries.py, over app.py and views/."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in UI_FILES)
    assert not re.search(r"^\s*(import|from)\s+(pickle|dill|joblib|cloudpickle)\b", text, re.M)
    assert "read_pickle(" not in text
    assert "allow_pickle=True" not in text
    for m in re.finditer(r"torch\.load\(", text):
        call = text[m.end() : text.index("\n", m.end())]
        assert "weights_only=True" in call, call


def _cache_resource_functions(path: Path) -> list[tuple[str, bool]]:
    """(function name, session-scoped?) for every ``@st.cache_resource`` in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for dec in node.decorator_list:
            call = dec if isinstance(dec, ast.Call) else None
            target = call.func if call else dec
            if ast.unparse(target) not in ("st.cache_resource", "streamlit.cache_resource"):
                continue
            scope = next(
                (k.value for k in (call.keywords if call else []) if k.arg == "scope"), None
            )
            session = isinstance(scope, ast.Constant) and scope.value == "session"
            found.append((node.name, session))
    return found


def test_per_user_objects_are_never_in_a_cache_shared_across_sessions():
    shared, scoped = [], []
    for path in UI_FILES:
        for name, session in _cache_resource_functions(path):
            (scoped if session else shared).append(f"{path.name}:{name}")
    assert scoped, "the training slot should be a session-scoped resource"
    unexpected = [s for s in shared if s.split(":", 1)[1] not in SHARED_RESOURCES]
    assert not unexpected, (
        f"st.cache_resource without scope='session' holds one object for every user: "
        f"{unexpected}. Make it session-scoped, or add it to SHARED_RESOURCES with why it "
        "holds no user's data."
    )
    # The grep and the parse agree (no decorator written another way slips past).
    text = "\n".join(p.read_text(encoding="utf-8") for p in UI_FILES)
    assert len(re.findall(r"@st\.cache_resource\b", text)) == len(shared) + len(scoped)


def test_a_run_name_cannot_leave_the_runs_folder(runs_dir, small_latent, tmp_path):
    at = open_train(small_latent)
    at.slider(key="tr_epochs_joint_info_nce").set_value(1)
    at.select_slider(key="tr_bs_joint_info_nce").set_value(64)
    at.text_input(key="tr_name_joint_info_nce").input("../../evil")
    start(at)
    assert not at.exception, at.exception
    wait_for_jobs()
    at.run()
    run = Path(at.session_state["active_run"]).resolve()
    assert run.parent == runs_dir.resolve(), run
    assert ".." not in run.name and "/" not in run.name
    assert "evil" in run.name
    assert not (tmp_path / "evil").exists() and not (runs_dir.parent.parent / "evil").exists()
    assert [p.name for p in runs_dir.iterdir()] == [run.name]
