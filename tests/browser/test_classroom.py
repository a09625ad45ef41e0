"""A class in a real browser: one teacher and five students, each in their own context.

The teacher opens a setup (a link with data and training settings), starts a class, sets
the class limits and sends the setup; five students join with the student link (two with
a nickname, three with a generated one), load what was sent, train it, and their runs
come to the teacher's board. A student sees no board before the reveal and the board's
summaries after it; a wrong teacher key sees nothing; closing the class ends it for all.
Screenshots in English, in Chinese and in presenter mode.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import App, new_context
from tests.browser.test_journeys import keyed, wait_for_text
from tests.browser.test_workers import own_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STUDENTS = 5
SETUP = (
    "data=shared_latent&d.n=600&d.seed=0&method=joint&loss=info_nce&c.train.epochs=8&c.train.seed=0"
)
TRAIN_S = 240  # five trainings on two cores, through the worker pool's queue


def _open(browser, server, name: str, path: str) -> App:
    context = new_context(browser)
    app = App(context.new_page(), server, name)
    app.page.goto(f"{server.url}/{path}")
    app.page.get_by_test_id("stSidebarNav").wait_for(state="attached", timeout=120_000)
    app.wait(timeout_ms=120_000)  # a fresh server's first page imports the app
    app.assert_no_exception()
    return app


def _code(app: App) -> str:
    text = app.page.locator(".class-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-9]{6}", text), text
    return text


def test_a_class_from_start_to_close(browser, tmp_path):
    with own_server(tmp_path, FUSION_EXECUTOR="local", FUSION_MAX_TRAININGS="2") as (_, server):
        # The teacher opens a setup, then starts a class from the sidebar.
        teacher = _open(browser, server, "class-teacher", f"data?{SETUP}")
        teacher.page.get_by_test_id("stSidebar").get_by_role("button", name="Start a class").click()
        teacher.wait()
        code = _code(teacher)
        # The QR code for the projector: an image captioned for the room.
        qr = teacher.page.get_by_test_id("stImage").filter(has_text="Scan to join")
        expect(qr.locator("img")).to_be_visible(timeout=20_000)
        key = re.search(r"[?&]key=([A-Za-z0-9_-]+)", teacher.page.url).group(1)
        student_link = f"class?class={code}"

        # Limits and the setup.
        form = keyed(teacher, "class_max_epochs").locator("input")
        form.fill("4")
        teacher.page.get_by_role("button", name="Set limits").click()
        teacher.wait()
        teacher.page.get_by_role("button", name="Send to everyone").click()
        teacher.wait()
        wait_for_text(teacher, "Sent now:", 30)
        teacher.shot("teacher-sent")

        # A wrong teacher key gets nothing of the class.
        intruder = _open(browser, server, "class-intruder", f"class?class={code}&key={key[::-1]}")
        wait_for_text(intruder, "This teacher link is not valid", 30)
        assert "Class board" not in intruder.main_text() and code not in intruder.main_text()
        guessed = _open(browser, server, "class-guess", "class?class=ABCDEF")
        wait_for_text(guessed, "This class link leads nowhere", 30)
        intruder.page.context.close()
        guessed.page.context.close()

        students = []
        for i in range(STUDENTS):
            s = _open(browser, server, f"class-student{i}", student_link)
            if i < 2:
                keyed(s, "class_nickname").locator("input").fill(f"Ada {i}")
            s.page.get_by_role("button", name="Join").click()
            s.wait()
            wait_for_text(s, "Welcome,", 30)
            wait_for_text(s, "The board is hidden", 30)
            s.wait()
            assert "Class board" not in s.main_text()
            students.append(s)
        students[0].shot("student-joined")

        for s in students:  # each loads the sent setup (the Train page opens) and trains
            s.page.get_by_role("button", name="Load it").first.click()
            s.wait()
            expect(s.page.get_by_role("button", name="Start training")).to_be_visible()
            sent = s.last_send()
            s.page.get_by_role("button", name="Start training").click()
            s.wait_for_send(
                sent, timeout_ms=60_000
            )  # the training's live panel keeps the page busy: no idle wait
        students[1].shot("student-training")

        # Every run reaches the board; the teacher's counts follow without a click.
        board = keyed(teacher, "class_board")
        expect(board.get_by_text("Runs on the board")).to_be_visible()
        teacher.page.wait_for_function(
            """n => [...document.querySelectorAll('[data-testid="stMetric"]')]
                 .some(m => m.innerText.startsWith('Runs on the board') &&
                            parseInt(m.innerText.split('\\n').pop(), 10) >= n)""",
            arg=STUDENTS,
            timeout=TRAIN_S * 1000,
        )
        teacher.wait()
        text = teacher.main_text()
        assert "Ada 0" in text and "Ada 1" in text
        assert text.count("as sent") >= STUDENTS or "epochs" in text  # the limit changed epochs
        teacher.shot("teacher-board")

        # Still hidden from the students; then the teacher reveals it.
        assert "Class board" not in students[2].main_text()
        teacher.page.get_by_text("Reveal the board to the students").click()
        teacher.wait()
        s = students[2]
        s.nav("Class")
        wait_for_text(s, "Class board", 60)
        assert "Ada 1" in s.main_text()
        s.shot("student-revealed")

        # Chinese and presenter mode, on the teacher's board.
        zh = _open(browser, server, "class-teacher-zh", f"class?class={code}&key={key}&lang=zh")
        wait_for_text(zh, "课堂看板", 30)
        zh.shot("teacher-board-zh")
        zh.page.context.close()
        big = _open(browser, server, "class-presenter", f"class?class={code}&key={key}&present=1")
        wait_for_text(big, "Class board", 30)
        big.shot("teacher-board-presenter")
        big.page.context.close()

        # Closing ends the class for everyone; each student's runs stay theirs.
        teacher.page.get_by_role("button", name="Close the class").click()
        teacher.page.get_by_role("button", name="Close it now").click()
        teacher.wait()
        wait_for_text(teacher, "Join a class", 30)
        s = students[3]
        wait_for_text(s, "has ended", 30)  # its watch notices within seconds
        s.nav("Explore")
        assert "None yet: train one" not in s.sidebar_text()  # the student's run is theirs
        for s in students:
            s.page.context.close()
        teacher.page.context.close()
        assert not (server.runs_dir / "classes" / code).exists()


def test_a_class_trains_on_the_ray_cluster(browser, tmp_path, ray_address):
    """The class's trainings go to a real local Ray head; their runs reach the board."""
    env = {"FUSION_EXECUTOR": "ray", "RAY_ADDRESS": ray_address}
    with own_server(tmp_path, **env) as (_, server):
        teacher = _open(browser, server, "class-ray-teacher", f"data?{SETUP}")
        teacher.page.get_by_test_id("stSidebar").get_by_role("button", name="Start a class").click()
        teacher.wait()
        code = _code(teacher)
        teacher.page.get_by_role("button", name="Send to everyone").click()
        teacher.wait()
        students = []
        for i in range(2):
            s = _open(browser, server, f"class-ray-student{i}", f"class?class={code}")
            s.page.get_by_role("button", name="Join").click()
            s.wait()
            s.page.get_by_role("button", name="Load it").first.click()
            s.wait()
            sent = s.last_send()
            s.page.get_by_role("button", name="Start training").click()
            s.wait_for_send(sent, timeout_ms=60_000)
            students.append(s)
        teacher.page.wait_for_function(
            """n => [...document.querySelectorAll('[data-testid="stMetric"]')]
                 .some(m => m.innerText.startsWith('Runs on the board') &&
                            parseInt(m.innerText.split('\\n').pop(), 10) >= n)""",
            arg=2,
            timeout=TRAIN_S * 1000,
        )
        assert "Ray cluster" in students[0].sidebar_text()
        for s in [*students, teacher]:
            s.page.context.close()
