"""``fusion-playground``: start the dashboard with the project's own Streamlit settings.

The dashboard is ``app.py`` with its pages in ``views/``. In a source checkout they sit
beside this package; ``pip install .`` installs them as the package ``fusion_playground``
(see ``pyproject.toml``). Either way this command runs ``streamlit run app.py`` and passes
the settings of the project's ``.streamlit/config.toml`` as command-line options, because
Streamlit reads that file only from the working directory, and the command may be started
from anywhere (runs are saved under the working directory's ``./runs``, or
``$FUSION_RUNS_DIR``). Further options go to Streamlit, e.g.
``fusion-playground --server.port 8600``.

This module starts Streamlit as a separate process and never imports it. A Ctrl-C in the
terminal reaches Streamlit too (the terminal signals the whole process group): Streamlit
stops the trainings, saves what they learned and exits, and this command waits for it
rather than killing it; a SIGTERM sent to this command is passed on to Streamlit.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any


def app_dir() -> Path:
    """The folder holding ``app.py``, ``views/`` and ``.streamlit/config.toml``."""
    spec = importlib.util.find_spec("fusion_playground")
    if spec is not None and spec.submodule_search_locations:
        installed = Path(next(iter(spec.submodule_search_locations)))
        if (installed / "app.py").is_file():
            return installed
    return Path(__file__).resolve().parent.parent  # a source checkout


def streamlit_options(config: Path) -> list[str]:
    """``--section.key=value`` options for every setting in a Streamlit config file."""
    if not config.is_file():
        return []
    with config.open("rb") as fh:
        settings: dict[str, Any] = tomllib.load(fh)
    options = []
    for section, values in settings.items():
        for key, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            options.append(f"--{section}.{key}={text}")
    return options


def command(extra: list[str] | None = None) -> list[str]:
    """The full ``streamlit run`` command line (extra options last, so they win)."""
    root = app_dir()
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(root / "app.py"),
        *streamlit_options(root / ".streamlit" / "config.toml"),
        *(extra or []),
    ]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if args and args[0] == "--print-command":
        print(" ".join(command(args[1:])))
        return 0
    try:
        process = subprocess.Popen(command(args), env=dict(os.environ))
    except KeyboardInterrupt:
        return 130
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Streamlit drives the shutdown
    signal.signal(signal.SIGTERM, lambda signum, frame: process.send_signal(signum))
    return process.wait()


if __name__ == "__main__":
    sys.exit(main())
