"""The installable package: `pip install .` gives the `fusion` and `fusion-playground` commands.

The venv sees the machine's site-packages (so the pinned dependencies, torch included, are
already satisfied and nothing large is downloaded), but the project itself is built and
installed into it from a copy of the source, and both commands are run from another folder,
so they cannot lean on the checkout.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _requirements() -> dict[str, str]:
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            name = re.split(r"[=<>!~]", line)[0]
            out[name.lower()] = line
    return out


def test_pyproject_dependencies_are_requirements_txt():
    """Two lists of pins must not drift apart: the README's install uses requirements.txt."""
    with (ROOT / "pyproject.toml").open("rb") as fh:
        project = tomllib.load(fh)["project"]
    declared = {re.split(r"[=<>!~]", d)[0].lower(): d for d in project["dependencies"]}
    assert declared == _requirements()
    assert project["scripts"] == {
        "fusion": "fusion.cli:main",
        "fusion-playground": "fusion.dashboard:main",
    }


def test_every_package_of_the_library_is_installed():
    """A subpackage missing from pyproject's explicit list would vanish from `pip install .`."""
    with (ROOT / "pyproject.toml").open("rb") as fh:
        listed = set(tomllib.load(fh)["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "fusion").rglob("__init__.py")
    }
    assert found <= listed, sorted(found - listed)
    # The dashboard's folders of modules (app.py's views/), installed under fusion_playground.
    views = {p.parent for p in (ROOT / "views").rglob("*.py") if "__pycache__" not in p.parts}
    dashboard = {".".join(("fusion_playground", *d.relative_to(ROOT).parts)) for d in views}
    assert dashboard <= listed, sorted(dashboard - listed)


def test_dashboard_passes_the_project_streamlit_config():
    from fusion.dashboard import app_dir, command
    from views.site import PAGES

    cmd = command(["--server.port", "9999"])
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("app.py")
    cap = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"][
        "maxUploadSize"
    ]
    assert f"--server.maxUploadSize={cap}" in cmd and "--runner.postScriptGC=false" in cmd
    assert cmd[-2:] == ["--server.port", "9999"]  # the user's options come last and win
    assert all((app_dir() / page.script).is_file() for page in PAGES)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_pip_install_gives_both_commands(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".git", "runs", "test-artifacts", "build", "*.egg-info", "__pycache__", ".venv"
        ),
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = venv / "bin" / "python"
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "FUSION_RUNS_DIR": str(tmp_path / "runs")}
    env.pop("PYTHONPATH", None)

    cli = subprocess.run(
        [str(venv / "bin" / "fusion"), "generate", "shared_latent", "--n", "50", "--out", "d.csv"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert (elsewhere / "d.csv").read_text().startswith("id,")

    # The reproduce script's template ships with the library, as do its subpackages.
    script = "from fusion.export import reproduce_template; import fusion.live; "
    script += "print(reproduce_template().splitlines()[0])"
    shipped = subprocess.run(
        [str(py), "-c", script], cwd=elsewhere, capture_output=True, text=True, env=env, timeout=120
    )
    assert shipped.stdout.strip() == "#!/usr/bin/env python", shipped.stderr[-2000:]

    shown = subprocess.run(
        [str(venv / "bin" / "fusion-playground"), "--print-command"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert "site-packages/fusion_playground/app.py" in shown  # the installed app, not src
    installed = Path(shown.split()[shown.split().index("run") + 1]).parent
    sources = [p.relative_to(ROOT) for p in (ROOT / "views").rglob("*.py")]
    assert [p for p in sources if not (installed / p).is_file()] == []  # every page and part

    port = _free_port()
    server = subprocess.Popen(
        [str(venv / "bin" / "fusion-playground"), "--server.port", str(port)],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline, health = time.time() + 60, ""
        while time.time() < deadline and health != "ok":
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health") as r:
                    health = r.read().decode()
            except OSError:
                time.sleep(0.5)
        assert health == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as r:
            assert "<title>" in r.read().decode()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
