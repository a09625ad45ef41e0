"""The library's errors and status messages exist in both languages.

Every ``DataError``/``ConfigError``/``TrainingError``/``FusionError`` built in ``fusion/``
names a catalogue key (a string literal) and passes exactly the key's placeholders as
keyword arguments (the one exception, the loaders' error at a place, is checked entry by
entry from its table of literal keys); every ``errors.*`` and ``messages.*`` key has the same placeholders
in English and Chinese; and a real bad input gives a Chinese message that still names
the file and the column at fault.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fusion import loaders
from fusion.errors import DataError, FusionError
from fusion.i18n import LANGUAGES, catalogue, placeholders
from fusion.train import localized_message

FUSION = Path(__file__).resolve().parents[1] / "fusion"
ERROR_CLASSES = {"DataError", "ConfigError", "TrainingError", "FusionError"}
# Helpers that record a non-error message from a key: (function name, index of the key).
MESSAGE_CALLS = {"say": 0, "_warn": 1, "translate": 0}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _check_call(node: ast.Call, key_arg: ast.expr | None, where: str) -> list[str]:
    """Problems with one call that names a catalogue key: unknown key, wrong params."""
    en = catalogue("en")
    if not (isinstance(key_arg, ast.Constant) and isinstance(key_arg.value, str)):
        return [f"{where}: the message is not a string literal key"]
    key = key_arg.value
    if key not in en:
        return [f"{where}: {key!r} is not in the English catalogue"]
    if any(k.arg is None for k in node.keywords):
        return [f"{where}: {key!r} takes **params; pass each placeholder by name"]
    given, wanted = {k.arg for k in node.keywords}, placeholders(en[key])
    if given != wanted:
        return [f"{where}: {key!r} wants {sorted(wanted)}, gets {sorted(given)}"]
    return []


# The one error built from a key that is not a literal at the call: (file, function). Its
# keys are the literal strings of loaders.messages.PROBLEMS, checked one by one below.
KEYED_BUILDERS = {("loaders/messages.py", "place_error")}


def _calls():
    for path in sorted(FUSION.rglob("*.py")):
        name = path.relative_to(FUSION).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        builders = {
            id(node)
            for f in ast.walk(tree)
            if isinstance(f, ast.FunctionDef) and (name, f.name) in KEYED_BUILDERS
            for node in ast.walk(f)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                yield f"{name}:{node.lineno}", node, id(node) in builders


def test_every_error_is_built_from_a_catalogue_key_with_its_placeholders():
    problems, n, keyed = [], 0, 0
    for where, node, in_builder in _calls():
        if _name(node.func) in ERROR_CLASSES:
            n += 1
            if in_builder:
                keyed += 1
                continue
            problems += _check_call(node, node.args[0] if node.args else None, where)
    assert keyed == len(KEYED_BUILDERS), "a keyed error builder moved: update KEYED_BUILDERS"
    assert n > 150, f"only {n} error constructions found: is the scan looking in fusion/?"
    assert not problems, "\n".join(problems)


def test_every_keyed_status_message_has_its_placeholders():
    """History.say, Progress.say, loaders._warn and translate(...) with a literal key."""
    problems = []
    for where, node, _ in _calls():
        index = MESSAGE_CALLS.get(_name(node.func))
        if index is None or len(node.args) <= index:
            continue
        key = node.args[index]
        if isinstance(key, ast.Constant) and str(key.value).startswith(("errors.", "messages.")):
            problems += _check_call(node, key, where)
    assert not problems, "\n".join(problems)


def test_every_error_at_a_place_has_its_key_and_placeholders():
    """loaders.messages.place_error: every (problem, kind of place) of its table names a key
    in the catalogue whose placeholders are exactly ``where``, the place's and the problem's."""
    from fusion.loaders.messages import PLACE_FIELDS, PROBLEMS, Place, place_error

    en, problems, n = catalogue("en"), [], 0
    for problem, spec in PROBLEMS.items():
        for kind, key in spec.keys.items():
            n += 1
            err = place_error(problem, "'f.csv'", Place(kind), **dict.fromkeys(spec.details, 1))
            wanted = {"where", *PLACE_FIELDS[kind], *spec.details}
            if key not in en or err.key != key:
                problems.append(f"{problem}/{kind}: {key!r} is not in the English catalogue")
            elif placeholders(en[key]) != wanted or set(err.params) != wanted:
                problems.append(f"{problem}/{kind}: {key!r} wants {sorted(placeholders(en[key]))}")
    assert n >= 25, n
    assert not problems, "\n".join(problems)


def _fields(text: str) -> set[tuple[str, str | None, str | None]]:
    """Each placeholder with its conversion and format spec: ('value', 'r', '.3g')."""
    return {(n, c, s or None) for _, n, s, c in string.Formatter().parse(text) if n}


@pytest.mark.parametrize("table", ["errors.", "messages."])
def test_keys_exist_in_both_languages_with_the_same_placeholders(table):
    en, zh = catalogue("en"), catalogue("zh")
    keys = {k for lang in LANGUAGES for k in catalogue(lang) if k.startswith(table)}
    assert len(keys) > (200 if table == "errors." else 15)
    missing = {lang: sorted(keys - set(catalogue(lang))) for lang in LANGUAGES}
    assert not any(missing.values()), missing
    differ = [k for k in sorted(keys) if _fields(en[k]) != _fields(zh[k])]
    assert not differ, differ
    untranslated = [k for k in sorted(keys) if not CJK.search(zh[k])]
    assert not untranslated, untranslated
    # Without params a message is shown as written (no str.format), so "{{" would show.
    doubled = [k for k in keys if not placeholders(en[k]) and "{{" in en[k] + zh[k]]
    assert not doubled, doubled


def _csv(tmp_path: Path, name: str, df: pd.DataFrame) -> Path:
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def _table(n: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": [f"s{i}" for i in range(n)],
            "img__p0": rng.normal(size=n),
            "img__p1": rng.normal(size=n),
            "txt__f0": rng.normal(size=n),
            "label": ["cat", "dog", "fox"] * (n // 3),
        }
    )


def test_a_missing_column_is_explained_in_chinese_naming_file_and_column(tmp_path):
    path = _csv(tmp_path, "animals.csv", _table())
    with pytest.raises(DataError) as info:
        loaders.load(path, label_column="species")
    err = info.value
    assert err.key == "errors.loaders.no_column.label"
    assert str(err).startswith("Label column 'species' is not in 'animals.csv'")
    zh = err.localized("zh")
    assert CJK.search(zh) and "animals.csv" in zh and "'species'" in zh, zh
    assert zh != str(err)


def test_a_bad_cell_is_explained_in_chinese_naming_file_column_and_row(tmp_path):
    df = _table().astype({"txt__f0": object})
    df.loc[4, "txt__f0"] = "oops"
    with pytest.raises(DataError) as info:
        loaders.load(_csv(tmp_path, "bad.csv", df))
    zh = info.value.localized("zh")
    assert CJK.search(zh), zh
    for part in ("'bad.csv'", "'txt__f0'", "5", "'s4'", "'oops'"):
        assert part in zh, (part, zh)


def test_errors_keep_key_and_params_when_pickled():
    import pickle

    err = DataError("errors.loaders.empty_file", file="x.csv")
    again = pickle.loads(pickle.dumps(err))
    assert (again.key, again.params, str(again)) == (err.key, err.params, str(err))
    assert again.localized("zh") == err.localized("zh") != str(err)


def test_data_warnings_are_keyed_and_translated(tmp_path):
    df = _table()
    df.loc[3, "img__p1"] = np.nan
    df["note"] = "x"  # a column without a modality prefix: ignored with a warning
    d = loaders.load(_csv(tmp_path, "holes.csv", df), nan_policy="drop")
    en = d.source["warnings"]
    assert any("Dropped 1 rows" in w for w in en) and any("'note'" in w for w in en)
    assert loaders.localized_warnings(d.source, "en") == en
    zh = loaders.localized_warnings(d.source, "zh")
    assert len(zh) == len(en) and all(CJK.search(w) for w in zh), zh
    assert any("'note'" in w for w in zh)
    # A warning without a key (older data, another producer) is shown as it is.
    legacy = {"warnings": ["plain English"], "warning_messages": []}
    assert loaders.localized_warnings(legacy, "zh") == ["plain English"]


def test_training_outcome_and_run_info_are_keyed(small_latent, runs_dir):
    from fusion.experiment import default_config, run_experiment
    from fusion.runs import list_runs, save_run

    cfg = default_config("joint", epochs=1, batch_size=64, n_snapshots=1)
    result = run_experiment(small_latent, cfg)
    h = result.history
    assert h.message == "Finished 1 epochs." and h.message_key == "messages.train.finished"
    assert localized_message(h, "en") == h.message
    assert CJK.search(localized_message(h, "zh"))
    save_run(result, root=runs_dir, name="keyed")
    (info,) = list_runs(runs_dir)
    assert info.message_key == h.message_key and info.message_params == {"epochs": 1}
    assert localized_message(info, "zh") == localized_message(h, "zh")
    # A run.json from before keys existed: its English message is shown as it is.
    assert localized_message({"message": "Finished 3 epochs."}, "zh") == "Finished 3 epochs."


def test_a_damaged_run_says_why_in_both_languages(runs_dir):
    from fusion.runs import list_runs, load_run

    (runs_dir / "broken").mkdir(parents=True)
    (info,) = list_runs(runs_dir)
    assert info.damaged and info.problem.startswith("missing config.json")
    assert CJK.search(localized_message(info, "zh", "problem"))
    with pytest.raises(DataError, match="damaged") as err:
        load_run(runs_dir / "broken")
    assert err.value.key == "errors.runs.damaged_missing"
    assert CJK.search(err.value.localized("zh"))


def test_a_failed_job_keeps_the_error_key(small_latent):
    from fusion.experiment import default_config
    from fusion.jobs import TrainingJob

    job = TrainingJob(small_latent, default_config("joint", epochs=1, batch_size=64))
    job.config.train.lr = -1.0  # refused in the job's thread, after start()'s own check
    job.config.validate = lambda data=None: None
    job.start()
    job.join(30)
    assert job.error and job.error_key == "errors.train.bad_lr", job.error
    p = job.progress()
    assert p.state == "failed" and p.message == job.error
    assert localized_message(job, "zh", "error") == localized_message(p, "zh")
    assert CJK.search(localized_message(p, "zh"))
    # The key and its parameters rebuild the very message the job shows.
    assert str(FusionError(job.error_key, **job.error_params)) == job.error
