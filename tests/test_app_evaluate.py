"""AppTest for Compare's "Evaluate on my data": tick methods, run the folds, read the table
(in English and in Chinese), and the messages without (labelled) data."""

from __future__ import annotations

import re
import threading
import time

import pytest

from fusion.data import PairedData
from tests.apptest_helpers import open_page
from tests.test_i18n_pages import ENGLISH_RUN
from views.site import COMPARE

N = 60


@pytest.fixture(scope="module")
def tiny():
    from fusion.generators import shared_latent

    return shared_latent(n=N, n_classes=3, seed=0)


def _wait_for_evaluations(timeout: float = 300.0) -> None:
    end = time.monotonic() + timeout
    while any(t.name == "fusion-evaluate" for t in threading.enumerate()):
        assert time.monotonic() < end, "the evaluation did not end in time"
        time.sleep(0.1)


def _section_text(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [i.value for i in at.info] + [e.value for e in at.error]
    return "\n".join(parts)


@pytest.mark.slow
def test_evaluate_runs_the_folds_and_shows_the_table(runs_dir, tiny):
    at = open_page(COMPARE, dataset=tiny)
    assert not at.exception, at.exception
    assert any(e.label == "Evaluate on my data" for e in at.expander)
    at.checkbox(key="evaluate_m_attention").uncheck()
    at.checkbox(key="evaluate_m_single").uncheck()
    assert at.checkbox(key="evaluate_m_early").value
    at.number_input(key="evaluate_folds").set_value(3)
    at.number_input(key="evaluate_epochs").set_value(2)
    at.button(key="FormSubmitter:evaluate_form-Evaluate").click().run()
    assert not at.exception, at.exception
    _wait_for_evaluations()
    at.run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.table if "Against the baseline" in d.value.columns)
    rows = table.set_index("Method")
    assert "Early fusion (baseline)" in rows.index
    assert "Logistic regression: all modalities concatenated" in rows.index
    assert (table["Test rows"] == str(N)).all() and (table["Folds"] == "3 of 3").all()
    early = rows.loc["Early fusion (baseline)"]
    assert early["Score"].startswith("accuracy ")
    assert early["Against the baseline"] in (
        "Beat the baseline",
        "No detectable difference with 60 test rows",
        "Below the baseline",
    )
    assert re.fullmatch(r"[+-]\d+\.\d \([+-]\d+\.\d to [+-]\d+\.\d\)", early.iloc[-1]), early
    assert (
        rows["Against the baseline"] == "The baseline set against (best on validation rows)"
    ).sum() == 1
    assert any("3-fold cross-validation on 60 rows" in s.value for s in at.success)
    assert at.get("download_button"), "no CSV download"
    assert not at.checkbox(key="evaluate_m_attention").value  # the choices are kept
    assert at.number_input(key="evaluate_folds").value == 3
    saved = list((runs_dir / "evaluations").iterdir())
    assert len(saved) == 1 and (saved[0] / "table.csv").is_file()

    zh = open_page(COMPARE, dataset=tiny, lang="zh")
    assert not zh.exception, zh.exception
    assert any(e.label == "在我的数据上评估" for e in zh.expander)
    table = next(d.value for d in zh.table if "与基线相比" in d.value.columns)
    assert {"方法", "得分", "95 % 区间", "测试行", "折数"} <= set(table.columns)
    assert table["得分"].str.startswith("准确率").any()
    shown = " ".join(table.astype(str).to_numpy().ravel())
    assert not ENGLISH_RUN.search(shown), ENGLISH_RUN.search(shown)


def test_evaluate_says_what_it_needs(runs_dir, tiny):
    at = open_page(COMPARE)
    assert not at.exception, at.exception
    assert "Load a labelled data set on the Data page first" in _section_text(at)
    bare = PairedData(dict(tiny.modalities))
    at = open_page(COMPARE, dataset=bare)
    assert not at.exception, at.exception
    assert "has no class labels" in _section_text(at)


def test_evaluate_with_no_method_ticked_asks_for_one(runs_dir, tiny):
    at = open_page(COMPARE, dataset=tiny)
    for m in ("attention", "early", "single"):
        at.checkbox(key=f"evaluate_m_{m}").uncheck()
    at.button(key="FormSubmitter:evaluate_form-Evaluate").click().run()
    assert not at.exception, at.exception
    assert any("Tick at least one method" in w.value for w in at.warning)
    assert not any(t.name == "fusion-evaluate" for t in threading.enumerate())


@pytest.mark.slow
def test_stop_keeps_the_finished_folds_and_says_so(runs_dir, tiny):
    at = open_page(COMPARE, dataset=tiny)
    for m in ("attention", "single"):
        at.checkbox(key=f"evaluate_m_{m}").uncheck()
    at.number_input(key="evaluate_epochs").set_value(30)
    at.button(key="FormSubmitter:evaluate_form-Evaluate").click().run()
    assert not at.exception, at.exception
    end = time.monotonic() + 300
    # Two folds train at once and may end together: any finished fold will do.
    some_done = re.compile(r"Early fusion \(baseline\): [1-4]/5 folds")
    while not any(some_done.search(m.value) for m in at.markdown):
        assert time.monotonic() < end, [m.value for m in at.markdown]
        time.sleep(0.3)
        at.run()
    at.button(key="evaluate_stop").click().run()
    _wait_for_evaluations()
    at.run()
    assert not at.exception, at.exception
    assert any("Stopped: each row rests on the folds that finished" in w.value for w in at.warning)
    table = next(d.value for d in at.table if "Folds" in d.value.columns)
    early = table.set_index("Method").loc["Early fusion (baseline)"]
    done = int(early["Folds"].split(" of ")[0])
    assert 1 <= done < 5 and early["Test rows"] == str(done * N // 5), early
