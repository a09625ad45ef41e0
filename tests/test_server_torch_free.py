"""The web server never imports torch: every page, with a saved run on disk, in a fresh
process with the app's default executor (worker processes). The browser test
(tests/browser/test_workers.py) checks the running server's memory maps after a demo."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.apptest_helpers import make_run
from views.site import PAGES

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import sys
    from streamlit.testing.v1 import AppTest
    from views.site import PAGES

    at = AppTest.from_file(sys.argv[1], default_timeout=120)
    at.run()
    for page in [*PAGES[1:], PAGES[0]]:  # Home, the first page shown, last again
        at.switch_page(page.script)
        at.run()
        assert not at.exception, (page, [e.value for e in at.exception])
        print(page.url_path, "torch" in sys.modules, flush=True)
    """
)


@pytest.mark.slow
def test_no_page_imports_torch(tmp_path):
    runs = tmp_path / "runs"
    make_run(runs, "joint-run")
    make_run(runs, "attention-run", method="attention")
    env = {
        **os.environ,
        "FUSION_EXECUTOR": "local",
        "FUSION_RUNS_DIR": str(runs),
        "FUSION_WORKSPACES": "shared",
        "PYTHONPATH": str(ROOT),
    }
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT / "app.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    lines = [ln.split() for ln in out.stdout.splitlines() if ln.strip()]
    assert [ln[0] for ln in lines] == [p.url_path for p in (*PAGES[1:], PAGES[0])]
    assert all(ln[1] == "False" for ln in lines), out.stdout
