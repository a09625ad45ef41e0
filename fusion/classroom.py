"""A class on one server: a teacher, a room of students, and one board of their runs.

A teacher starts a class (:meth:`ClassStore.start`) and gets a short *class code*, which
students type or scan to join, and a *teacher secret*, which only the teacher's link
carries. The class lives in a folder of the runs root (``classes/<code>/``):

- ``class.json``: the class itself (expiry, the setup the teacher sent, the class limits,
  whether the board is revealed) and the SHA-256 of the teacher secret, never the secret;
- ``students/<key>.json``: one file per student (nickname, when joined, what the student's
  training is doing now), written only by that student's session;
- ``board/<entry>.json``: one file per run a student sent to the board: the run's setup
  as share-link parameters, its headline metrics with their chance levels, its verdict
  and a small 2-D map of its shared space. Nothing else of the student's data.

A student is known by a *student key*: a hash of the student's private workspace token,
so the class folder never holds a token that would open a student's runs. Each file is
written whole (a temporary file, then an atomic rename), so a page reading the board
while thirty students post never sees half a file. Closing a class deletes its folder;
the students' runs stay in their own workspaces.

No streamlit, no torch: the web server and the command line share it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fusion.errors import ConfigError

CLASSES_DIR = "classes"
# Class codes: no 0/O, 1/I/L, so a code read off a projector is typed right.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
CODE_RE = re.compile(rf"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{20,64}")
KEY_RE = re.compile(r"[0-9a-f]{16}")
ENTRY_RE = re.compile(r"[0-9a-f]{12}")
DEFAULT_HOURS = 3.0
MAX_HOURS = 24.0
NICKNAME_MAX = 24
MAP_POINTS = 300  # points of a run's map kept on the board (a small multiple)
ACTIVITY_STALE_S = 6 * 3600  # a "training" mark older than this is from a lost session
# Generated nicknames: an animal and a number, readable in any language.
ANIMALS = "🦊🐼🦉🐬🦁🐢🐙🦋🐝🦜🐧🦔🐳🦒🐨🐸"


def student_key(workspace: str) -> str:
    """The key a student is known by in a class: a hash of their workspace token."""
    return hashlib.sha256(f"fusion-class:{workspace}".encode()).hexdigest()[:16]


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` to ``path`` whole: a temporary file in the same folder, renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, default=_json_default)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass
class Limits:
    """Class limits: the most epochs and samples a student's training may use (None: any)."""

    max_epochs: int | None = None
    max_samples: int | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Limits:
        d = d or {}
        return cls(_positive(d.get("max_epochs")), _positive(d.get("max_samples")))


def _positive(x: Any) -> int | None:
    try:
        x = int(x)
    except (TypeError, ValueError):
        return None
    return x if x > 0 else None


@dataclass
class Sent:
    """What the teacher sent the class: a setup (share-link parameters) or a lesson step."""

    kind: str  # "setup" | "lesson"
    query: dict[str, str] = field(default_factory=dict)  # kind "setup": fusion.share.setup_query
    lesson: str = ""  # kind "lesson": the lesson's id
    step: int = 0  # and the step (0-based)
    id: str = ""  # new for every send, so a student sees a new send as new
    at: float = 0.0

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Sent | None:
        if not isinstance(d, Mapping) or d.get("kind") not in ("setup", "lesson"):
            return None
        query = d.get("query") if isinstance(d.get("query"), Mapping) else {}
        return cls(
            kind=str(d["kind"]),
            query={str(k): str(v) for k, v in query.items()},
            lesson=str(d.get("lesson", "")),
            step=int(d.get("step", 0) or 0),
            id=str(d.get("id", "")),
            at=float(d.get("at", 0.0) or 0.0),
        )


@dataclass
class ClassInfo:
    """A class as everyone may see it (the teacher secret's hash is not part of it)."""

    code: str
    created: float
    expires: float
    limits: Limits = field(default_factory=Limits)
    sent: Sent | None = None
    revealed: bool = False

    def seconds_left(self, now: float | None = None) -> float:
        return max(0.0, self.expires - (time.time() if now is None else now))


@dataclass
class Student:
    key: str
    nickname: str
    joined: float
    training: str = ""  # "" | "waiting" | "running": what the student's training does now
    training_since: float = 0.0


@dataclass
class BoardEntry:
    """A run on the class board: its setup, headline numbers, verdict and a small map."""

    id: str
    student: str  # the student key
    nickname: str
    posted: float
    run_name: str
    method: str
    loss: str
    query: dict[str, str]  # the run's setup as share-link parameters (fusion.share)
    metrics: dict[str, float]  # headline metrics and their ``_chance`` companions
    test_rows: int | None = None
    verdict: dict[str, Any] | None = None
    map: dict[str, list] | None = None  # x, y, label, modality (at most MAP_POINTS)
    sent_id: str = ""  # the send that was current when the run was posted

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BoardEntry | None:
        try:
            return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})
        except TypeError:
            return None


class ClassStore:
    """The classes of one runs root (``<root>/classes``); every method is safe to call
    from many sessions at once, each writing only its own files."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root) / CLASSES_DIR

    # -- the class ------------------------------------------------------------------

    def _folder(self, code: str) -> Path | None:
        """The folder of class ``code``, or None for a code that is not well formed."""
        code = (code or "").strip().upper()
        return self.root / code if CODE_RE.fullmatch(code) else None

    def start(
        self, hours: float = DEFAULT_HOURS, now: float | None = None
    ) -> tuple[ClassInfo, str]:
        """Start a class lasting ``hours``; returns it and the teacher secret (shown once,
        in the teacher's link: only its hash is kept)."""
        if not 0 < float(hours) <= MAX_HOURS:
            raise ConfigError("errors.classroom.bad_hours", max_hours=int(MAX_HOURS))
        now = time.time() if now is None else now
        self.sweep(now)
        self.root.mkdir(parents=True, exist_ok=True)
        for _ in range(100):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            try:
                (self.root / code).mkdir()
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - 887 million codes
            raise ConfigError("errors.classroom.no_code")
        secret = secrets.token_urlsafe(24)
        info = ClassInfo(code=code, created=now, expires=now + float(hours) * 3600)
        self._save(info, _secret_hash(secret))
        return info, secret

    def _save(self, info: ClassInfo, secret_hash: str) -> None:
        d = asdict(info)
        d["teacher"] = secret_hash
        _write_json(self.root / info.code / "class.json", d)

    def _load(self, code: str, now: float | None = None) -> tuple[ClassInfo, str] | None:
        folder = self._folder(code)
        if folder is None:
            return None
        d = _read_json(folder / "class.json")
        if not isinstance(d, dict) or "teacher" not in d:
            return None
        try:
            info = ClassInfo(
                code=folder.name,
                created=float(d["created"]),
                expires=float(d["expires"]),
                limits=Limits.from_dict(d.get("limits")),
                sent=Sent.from_dict(d.get("sent")),
                revealed=bool(d.get("revealed", False)),
            )
        except (KeyError, TypeError, ValueError):
            return None
        if info.expires <= (time.time() if now is None else now):
            return None
        return info, str(d["teacher"])

    def get(self, code: str, now: float | None = None) -> ClassInfo | None:
        """The class ``code`` if it exists and has not expired or been closed, else None."""
        loaded = self._load(code, now)
        return loaded[0] if loaded else None

    def is_teacher(self, code: str, secret: str, now: float | None = None) -> bool:
        """Whether ``secret`` is the teacher secret of the open class ``code``."""
        if not secret or not SECRET_RE.fullmatch(secret):
            return False
        loaded = self._load(code, now)
        return bool(loaded) and hmac.compare_digest(loaded[1], _secret_hash(secret))

    def _teacher(self, code: str, secret: str) -> tuple[ClassInfo, str]:
        loaded = self._load(code)
        if not loaded or not secret or not hmac.compare_digest(loaded[1], _secret_hash(secret)):
            raise ConfigError("errors.classroom.not_teacher")
        return loaded

    def send(self, code: str, secret: str, sent: Sent) -> ClassInfo:
        """Send the class a setup or a lesson step (replaces what was sent before)."""
        info, h = self._teacher(code, secret)
        if sent.kind == "setup" and not sent.query:
            raise ConfigError("errors.classroom.nothing_to_send")
        sent.id, sent.at = uuid.uuid4().hex[:12], time.time()
        info.sent = sent
        self._save(info, h)
        return info

    def set_limits(self, code: str, secret: str, limits: Limits) -> ClassInfo:
        info, h = self._teacher(code, secret)
        info.limits = Limits.from_dict(asdict(limits))
        self._save(info, h)
        return info

    def reveal(self, code: str, secret: str, revealed: bool = True) -> ClassInfo:
        """Show the board to the students (or hide it again)."""
        info, h = self._teacher(code, secret)
        info.revealed = bool(revealed)
        self._save(info, h)
        return info

    def close(self, code: str, secret: str) -> None:
        """End the class now: its board and links are gone; students' runs stay theirs."""
        self._teacher(code, secret)
        shutil.rmtree(self.root / code.strip().upper(), ignore_errors=True)

    def sweep(self, now: float | None = None) -> list[str]:
        """Delete the folders of expired classes; the codes deleted."""
        now = time.time() if now is None else now
        gone = []
        if not self.root.is_dir():
            return gone
        for folder in self.root.iterdir():
            d = _read_json(folder / "class.json") if CODE_RE.fullmatch(folder.name) else None
            expired = isinstance(d, dict) and float(d.get("expires", 0) or 0) <= now
            if expired:
                shutil.rmtree(folder, ignore_errors=True)
                gone.append(folder.name)
        return gone

    # -- students -------------------------------------------------------------------

    def _student_file(self, code: str, key: str) -> Path | None:
        folder = self._folder(code)
        if folder is None or not KEY_RE.fullmatch(key or ""):
            return None
        return folder / "students" / f"{key}.json"

    def join(self, code: str, key: str, nickname: str = "") -> Student:
        """Join class ``code`` as the student ``key`` (see :func:`student_key`) under
        ``nickname`` (blank: a generated one); joining again renames."""
        if self.get(code) is None:
            raise ConfigError("errors.classroom.no_class")
        path = self._student_file(code, key)
        if path is None:
            raise ConfigError("errors.classroom.no_class")
        nickname = clean_nickname(nickname) or self._generated_nickname(code, key)
        old = self.student(code, key)
        taken = {s.nickname for s in self.students(code) if s.key != key}
        base, n = nickname, 2
        while nickname in taken:
            nickname, n = f"{base} {n}", n + 1
        student = Student(key=key, nickname=nickname, joined=old.joined if old else time.time())
        _write_json(path, asdict(student))
        return student

    def _generated_nickname(self, code: str, key: str) -> str:
        rng = np.random.default_rng(int(key, 16) % (2**32))
        return f"{ANIMALS[int(rng.integers(len(ANIMALS)))]} {int(rng.integers(10, 100))}"

    def student(self, code: str, key: str) -> Student | None:
        path = self._student_file(code, key)
        d = _read_json(path) if path is not None else None
        try:
            return Student(**d) if isinstance(d, dict) else None
        except TypeError:
            return None

    def students(self, code: str) -> list[Student]:
        folder = self._folder(code)
        if folder is None or not (folder / "students").is_dir():
            return []
        out = []
        for p in sorted((folder / "students").glob("*.json")):
            s = self.student(code, p.stem)
            if s is not None:
                out.append(s)
        return sorted(out, key=lambda s: s.joined)

    def set_training(self, code: str, key: str, state: str) -> None:
        """Record what the student's training is doing: "waiting", "running" or ""."""
        s = self.student(code, key)
        path = self._student_file(code, key)
        if s is None or path is None or self.get(code) is None:
            return
        s.training, s.training_since = state, time.time()
        _write_json(path, asdict(s))

    def activity(self, code: str, now: float | None = None) -> dict[str, int]:
        """How many students have joined and how many trainings run or wait now."""
        now = time.time() if now is None else now
        counts = {"joined": 0, "running": 0, "waiting": 0}
        for s in self.students(code):
            counts["joined"] += 1
            if s.training in ("running", "waiting") and now - s.training_since < ACTIVITY_STALE_S:
                counts[s.training] += 1
        return counts

    # -- the board ------------------------------------------------------------------

    def post(self, code: str, key: str, run_path: str | os.PathLike) -> BoardEntry | None:
        """Put the saved run at ``run_path`` on the class board (None: no open class, the
        student has not joined, or the run cannot be read)."""
        info, student = self.get(code), self.student(code, key)
        if info is None or student is None:
            return None
        entry = board_entry(run_path, student, info.sent.id if info.sent else "")
        if entry is None:
            return None
        _write_json(self.root / info.code / "board" / f"{entry.id}.json", asdict(entry))
        return entry

    def withdraw(self, code: str, key: str, entry_id: str) -> bool:
        """Take the student's own entry off the board; whether one was removed."""
        folder = self._folder(code)
        if folder is None or not ENTRY_RE.fullmatch(entry_id or ""):
            return False
        path = folder / "board" / f"{entry_id}.json"
        d = _read_json(path)
        if not isinstance(d, dict) or d.get("student") != key:
            return False
        path.unlink(missing_ok=True)
        return True

    def board(self, code: str) -> list[BoardEntry]:
        """The class's board, oldest first (an unreadable file is left out)."""
        folder = self._folder(code)
        if folder is None or self.get(code) is None or not (folder / "board").is_dir():
            return []
        entries = []
        for p in (folder / "board").glob("*.json"):
            d = _read_json(p)
            e = BoardEntry.from_dict(d) if isinstance(d, dict) else None
            if e is not None:
                entries.append(e)
        return sorted(entries, key=lambda e: (e.posted, e.id))


def clean_nickname(text: str) -> str:
    """A nickname as shown: printable, single-spaced, at most :data:`NICKNAME_MAX` characters."""
    text = "".join(ch for ch in str(text or "") if ch.isprintable())
    return " ".join(text.split())[:NICKNAME_MAX]


# ---------------------------------------------------------------------------
# A run as the board shows it


def board_entry(
    run_path: str | os.PathLike, student: Student, sent_id: str = ""
) -> BoardEntry | None:
    """The board's summary of a saved run: its setup, headline metrics (with chance
    levels), verdict, test-row count and a :data:`MAP_POINTS`-point map of its last
    snapshot (PCA of the shared space: linear, so a collapsed space reads as one dot)."""
    from fusion.config import RunConfig
    from fusion.metric_names import headline_keys
    from fusion.runs import run_info
    from fusion.share import setup_query

    path = Path(run_path)
    info = run_info(path)
    if info.damaged:
        return None
    cfg = _read_json(path / "config.json")
    if not isinstance(cfg, dict):
        return None
    try:
        config = RunConfig.from_dict(cfg)
    except Exception:  # a run saved by another version: the board shows it without its setup
        config = None
    query = setup_query(cfg.get("data") if isinstance(cfg.get("data"), dict) else None, config)
    metrics = info.metrics
    keys = headline_keys(metrics, "card")
    shown = {k: float(metrics[k]) for k in keys}
    shown.update(
        {f"{k}_chance": float(metrics[f"{k}_chance"]) for k in keys if f"{k}_chance" in metrics}
    )
    verdicts = info.verdicts
    return BoardEntry(
        id=uuid.uuid4().hex[:12],
        student=student.key,
        nickname=student.nickname,
        posted=time.time(),
        run_name=path.name,
        method=str(cfg.get("method", "")),
        loss=str(cfg.get("loss", "")),
        query=query,
        metrics=shown,
        test_rows=int(metrics["test_rows"]) if "test_rows" in metrics else None,
        verdict=verdicts.get("verdict") if isinstance(verdicts.get("verdict"), dict) else None,
        map=_small_map(path),
        sent_id=sent_id,
    )


def _small_map(path: Path) -> dict[str, list] | None:
    """A seeded sample of the run's last snapshot, projected on its first two principal
    components (so the board never runs UMAP)."""
    import pandas as pd

    from fusion.rundata import snapshot

    try:
        emb = pd.read_parquet(path / "embeddings.parquet")
    except Exception:
        return None
    snap = snapshot(emb)
    snap = snap.finite() if snap is not None else None
    if snap is None or len(snap.meta) < 3 or snap.Z.shape[1] == 0:
        return None
    z = snap.Z
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(len(z), size=min(MAP_POINTS, len(z)), replace=False))
    z = z[rows] - z[rows].mean(axis=0)
    _, _, vt = np.linalg.svd(z, full_matrices=False)
    xy = z @ vt[:2].T if vt.shape[0] >= 2 else np.column_stack([z @ vt[:1].T, np.zeros(len(z))])
    meta = snap.meta.iloc[rows]
    labels = meta["label_name"] if "label_name" in meta else meta.get("label")
    return {
        "x": np.round(xy[:, 0], 4).tolist(),
        "y": np.round(xy[:, 1], 4).tolist(),
        "label": [str(v) for v in (labels if labels is not None else [""] * len(rows))],
        "modality": [str(v) for v in meta["modality"]],
    }


# ---------------------------------------------------------------------------
# What the board compares


def effective_setup(query: Mapping[str, str]) -> dict[str, str]:
    """Every value a share-link setup stands for, defaults included, in the link's own
    vocabulary (``data``, ``d.<param>``, ``method``, ``loss``, ``c.<path>``): two setups
    that train the same way read the same, however their links were written."""
    from fusion.share import parse_setup, setup_query

    try:
        setup = parse_setup(dict(query))
    except Exception:  # a setup of another version: compared as written
        return dict(query)
    if setup is None:
        return dict(query)
    source = {"generator": setup.generator, "params": setup.params} if setup.generator else None
    config = setup.config
    if config is not None and getattr(config.model, "normalize", False) is None:
        from dataclasses import replace

        from fusion import registry

        # None means "the loss's geometry" (fusion.experiment): compare what it resolves to.
        loss = registry.LOSSES.get(config.loss)
        if loss is not None:
            config = replace(config, model=replace(config.model, normalize=loss.normalize))
    return setup_query(source, config, complete=True)


def setup_changes(
    entry_query: Mapping[str, str], sent_query: Mapping[str, str]
) -> dict[str, tuple]:
    """How a run's setup differs from the sent one: {parameter: (sent, run)} for every
    setting whose effective value differs (:func:`effective_setup`; a setting only one side
    has: None on the other)."""
    run, sent = effective_setup(entry_query), effective_setup(sent_query)
    keys = sorted(set(run) | set(sent))
    return {k: (sent.get(k), run.get(k)) for k in keys if sent.get(k) != run.get(k)}


def numeric_settings(entries: list[BoardEntry]) -> list[str]:
    """The share-link parameters with a number in at least one entry, for the scatter's x."""
    out = set()
    for e in entries:
        for k, v in e.query.items():
            if setting_value(v) is not None:
                out.add(k)
    return sorted(out)


def setting_value(text: str | None) -> float | None:
    """A share-link parameter's value as a number (booleans and text: None)."""
    try:
        v = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def board_metrics(entries: list[BoardEntry]) -> list[str]:
    """The metric keys the board's entries carry (no chance companions), first-seen order."""
    out: list[str] = []
    for e in entries:
        for k in e.metrics:
            if not k.endswith("_chance") and k not in out:
                out.append(k)
    return out


def apply_limits(config: Any, n_samples: int, limits: Limits) -> tuple[Any, int | None, list[str]]:
    """Hold a training to the class limits: ``config`` with its epochs capped, the number
    of samples to keep (None: all), and the catalogue keys of what was changed."""
    from dataclasses import replace

    notes = []
    if limits.max_epochs and config.train.epochs > limits.max_epochs:
        config = replace(config, train=replace(config.train, epochs=limits.max_epochs))
        notes.append("classroom.limited_epochs")
    keep = None
    if limits.max_samples and n_samples > limits.max_samples:
        keep = limits.max_samples
        notes.append("classroom.limited_samples")
    return config, keep, notes


def limit_samples(data: Any, keep: int, seed: int = 0) -> Any:
    """A seeded, stratified subset of about ``keep`` samples of ``data`` (a PairedData),
    groups kept whole (:func:`fusion.data.split_indices`), in the original order."""
    from fusion.data import split_indices

    if keep >= data.n:
        return data
    rows, _ = split_indices(data.n, 1.0 - keep / data.n, seed, data.labels, data.groups)
    return data.subset(np.sort(rows))
