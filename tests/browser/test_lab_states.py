"""Every state of the learner's page, in a real browser: what it says, what
the learner can do in it, and what is disabled; a learner waiting for a lab
keeps it; the idle warning counts down; the check result shows the score the
platform counts.

With HASTEXO_LAB_SCREENSHOTS set to a folder, each state is also saved there
as a picture (docs/screenshots/make_screenshots.py does that for the docs)."""

import os
import re
import time

import pytest
from selenium.webdriver.common.by import By

from hastexo_lab import api
from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack

from ..helpers import wait_until
from ..test_block import CHECKED, SSH
from ..test_tasks import wait_status
from .test_lab import keepalives, lab, phase, type_in_terminal, wait_for_terminal, wait_ready, wiggle

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = os.environ.get("HASTEXO_LAB_SCREENSHOTS", "")


@pytest.fixture
def states(page, browser):
    """The page, in a window the size of the docs' pictures."""
    browser.set_window_size(1000, 700)
    yield page
    browser.set_window_size(1280, 1024)


def snap(driver, name, showing=None):
    """A picture of the page as it is, for the docs (only when asked for):
    its top, or as far down as ``showing`` (a selector) is."""
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        driver.execute_script("window.scrollTo(0, 0);")
        if showing:
            driver.execute_script("document.querySelector(arguments[0]).scrollIntoView({block: 'end'});", showing)
        driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))


def find(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def text(driver, selector):
    return find(driver, selector).text


def spinning(driver):
    return find(driver, ".hastexo-lab-spinner").is_displayed()


def enabled(driver, selector):
    return find(driver, selector).is_enabled()


def seconds(shown):
    """A countdown's M:SS (or H:MM:SS) in seconds."""
    parts = [int(part) for part in shown.split(":")]
    return sum(value * 60 ** power for power, value in enumerate(reversed(parts)))


# -- 1. a learner waiting for a lab is active ------------------------------------

def test_keepalives_go_out_while_the_lab_is_starting(states, cloud):
    cloud.config.durations["create"] = 4.0
    driver = states(SSH)
    sent_while_starting = 0
    while phase(driver) != "ready":
        wiggle(driver)
        time.sleep(0.4)
        if phase(driver) in ("queued", "creating", "waiting"):
            sent_while_starting = keepalives(driver)
        assert Stack.objects.get().status not in lc.FAILED
    assert sent_while_starting >= 2, "no keepalive while the learner was waiting for the lab, moving the mouse"


def test_a_lab_suspended_before_it_was_ever_ready_comes_back_on_input(states, cloud):
    """The machine takes long to boot; the suspender (as it once did) takes
    the lab before it ever answered, while the learner moves the mouse. The
    learner's input keeps it, or brings it back: it ends up ready."""
    cloud.config.boot_time = 6.0
    driver = states(SSH)
    wait_until(lambda: phase(driver) == "waiting", timeout=20, interval=0.05, what="the lab to boot")
    snap(driver, "starting")
    api.suspend(Stack.objects.get(), reason="idle (as the suspender did before the lab was ready)")
    deadline = time.monotonic() + 40
    while not (phase(driver) == "ready" and Stack.objects.get().status in lc.UP):
        assert time.monotonic() < deadline, f"still {phase(driver)} after 40 s of input"
        wiggle(driver)
        time.sleep(0.4)


# -- 2. every state says what is happening and what the learner can do ---------

def test_a_suspended_lab_says_so_and_resumes_with_its_button(states, cloud):
    cloud.config.durations["resume"] = 3.0
    driver = states(SSH)
    wait_ready(driver)
    wait_for_terminal(driver)
    assert not spinning(driver) and text(driver, ".hastexo-lab-badge").lower() == "ready"
    assert enabled(driver, ".hastexo-lab-fullscreen") and enabled(driver, ".hastexo-lab-reset")
    assert "without activity" in text(driver, ".hastexo-lab-hint")
    assert find(driver, ".hastexo-lab-used").is_displayed() and find(driver, ".hastexo-lab-left").is_displayed()
    snap(driver, "ready")
    time.sleep(4.5)  # away
    stack = Stack.objects.get()
    assert api.suspend(stack, reason="idle (as the suspender would)")
    wait_status(stack, lc.SUSPEND_COMPLETE)
    wait_until(lambda: phase(driver) == "suspended", timeout=5, interval=0.05, what="the page to show the suspend")
    # Not loading: no spinner; it says what the learner can do, and offers it.
    assert not spinning(driver)
    assert text(driver, ".hastexo-lab-badge").lower() == "suspended"
    assert "Resume lab" in text(driver, ".hastexo-lab-hint")
    # Until when it is kept (a lab kept for ever: nothing to say).
    stack.refresh_from_db()
    if stack.delete_by is None:
        assert text(driver, ".hastexo-lab-eta") == ""
    else:
        wait_until(lambda: "kept until" in text(driver, ".hastexo-lab-eta"), timeout=3, interval=0.1,
                   what="until when the lab is kept")
    resume = find(driver, ".hastexo-lab-resume")
    assert resume.is_displayed() and resume.is_enabled()
    assert not enabled(driver, ".hastexo-lab-fullscreen") and not enabled(driver, ".hastexo-lab-new-window")
    assert enabled(driver, ".hastexo-lab-reset")
    time.sleep(1)
    stack.refresh_from_db()
    assert stack.status == lc.SUSPEND_COMPLETE, "the page resumed the lab of a learner who is away"
    snap(driver, "suspended")
    resume.click()
    wait_until(lambda: phase(driver) == "resuming", timeout=5, interval=0.05, what="the page to say resuming")
    assert spinning(driver) and text(driver, ".hastexo-lab-badge").lower() == "resuming"
    assert not resume.is_displayed()
    snap(driver, "resuming")
    wait_ready(driver)
    assert not spinning(driver)


def test_starting_shows_progress_and_how_long(states, cloud):
    from hastexo_lab.models import StackLog
    # The provider's history: its last create took 5 s, so the page can say how long.
    cloud.config.durations["create"] = 5.0
    driver = states(SSH)
    wait_until(lambda: phase(driver) == "creating", timeout=10, interval=0.05, what="the lab to be created")
    assert spinning(driver) and text(driver, ".hastexo-lab-badge").lower() == "starting"
    assert "Keep this page open" in text(driver, ".hastexo-lab-hint")
    assert not enabled(driver, ".hastexo-lab-fullscreen") and not enabled(driver, ".hastexo-lab-new-window")
    wait_ready(driver)
    # Again, with the history: a reset deletes and creates it anew, and the
    # page says when it is likely ready, as a countdown.
    assert StackLog.objects.filter(to_status=lc.CREATE_COMPLETE).exists()
    cloud.config.durations["delete"] = 3.0
    find(driver, ".hastexo-lab-reset").click()
    find(driver, ".hastexo-lab-confirm-yes").click()
    wait_until(lambda: phase(driver) == "deleting", timeout=5, interval=0.05, what="the page to say removing")
    assert spinning(driver) and text(driver, ".hastexo-lab-badge").lower() == "removing"
    assert not enabled(driver, ".hastexo-lab-reset") and not enabled(driver, ".hastexo-lab-fullscreen")
    assert "fresh lab" in text(driver, ".hastexo-lab-hint")
    snap(driver, "deleting")
    wait_until(lambda: phase(driver) == "creating", timeout=15, interval=0.05, what="the fresh lab")
    wait_until(lambda: re.search(r"Likely ready in about \d+:\d\d", text(driver, ".hastexo-lab-eta")), timeout=5,
               interval=0.1, what="how long the start takes")
    first = seconds(re.search(r"(\d+:\d\d)", text(driver, ".hastexo-lab-eta")).group(1))
    time.sleep(2.1)
    shown = re.search(r"(\d+:\d\d)", text(driver, ".hastexo-lab-eta"))
    assert shown is None or seconds(shown.group(1)) < first
    wait_ready(driver)


def test_a_failed_start_says_what_to_do(states, cloud, cloud_b):
    for each in (cloud, cloud_b):
        each.faults.add("create", "fail", reason="No valid host was found")
    driver = states(SSH)
    error = find(driver, ".hastexo-lab-error")
    wait_until(error.is_displayed, timeout=20, interval=0.1, what="the failure")
    assert phase(driver) == "failed" and not spinning(driver)
    assert text(driver, ".hastexo-lab-badge").lower() == "failed"
    assert "Try again" in error.text and "a moment later" in error.text
    assert "Traceback" not in driver.page_source
    assert enabled(driver, ".hastexo-lab-retry") and not enabled(driver, ".hastexo-lab-fullscreen")
    snap(driver, "failed")


def test_the_usage_limit_says_until_when(states, fast_browser_settings):
    from ..test_limits import limit, ran
    limit(fast_browser_settings, "block")
    ran("dave", hours=3, ago_hours=2, name="hxl-old-dave")
    driver = states(SSH, student="dave")
    error = find(driver, ".hastexo-lab-error")
    wait_until(error.is_displayed, timeout=10, what="the limit's message")
    assert text(driver, ".hastexo-lab-badge").lower() == "limit reached" and not spinning(driver)
    assert "You can start a lab again after" in error.text and "Come back after" in error.text
    assert not enabled(driver, ".hastexo-lab-reset")
    snap(driver, "limit-reached")


# -- 3. the idle warning counts down --------------------------------------------

def test_the_idle_warning_counts_down_to_the_suspend(states):
    driver = states(SSH)
    wait_ready(driver)
    warning = find(driver, ".hastexo-lab-idle")
    wait_until(warning.is_displayed, timeout=8, interval=0.1, what="the idle warning")
    first = seconds(text(driver, ".hastexo-lab-idle-left"))
    snap(driver, "idle-warning")
    time.sleep(2.2)
    left = seconds(text(driver, ".hastexo-lab-idle-left"))
    assert 1 <= first - left <= 8, (first, left)
    # What it counts down to is the server's deadline (known to a few seconds).
    stack = Stack.objects.get()
    from django.utils import timezone
    assert abs((stack.suspend_by - timezone.now()).total_seconds() - left) <= 8
    before = keepalives(driver)
    find(driver, ".hastexo-lab-still-here").click()
    wait_until(lambda: not warning.is_displayed(), timeout=3, what="the warning to go")
    assert keepalives(driver) > before


# -- 6. the score the platform counts -------------------------------------------

def test_the_check_result_shows_the_score_that_counts(states, fast_browser_settings):
    lab_settings = dict(fast_browser_settings.XBLOCK_SETTINGS["hastexo_lab"], remote_exec_timeout=5)
    fast_browser_settings.XBLOCK_SETTINGS = {"hastexo_lab": lab_settings}
    driver = states(CHECKED)
    wait_ready(driver)
    wait_for_terminal(driver)

    def check(passed):
        find(driver, ".hastexo-lab-check").click()
        wait_until(lambda: lab(driver).get_attribute("data-check") == "running", timeout=5, interval=0.05,
                   what="the check to start")
        wait_until(lambda: lab(driver).get_attribute("data-check") == "done", timeout=20, interval=0.1,
                   what="the check's result")
        assert f"{passed} of 2 checks passed." in text(driver, ".hastexo-lab-check-result")
        return text(driver, ".hastexo-lab-score")

    # The lab's weight is 2 points: one check of two passed is 1 point.
    assert check(1) == "Counted for your grade: 1 of 2 points. Your best check so far: 1 of 2 passed."
    type_in_terminal(driver, "touch ~/done\n")
    assert check(2) == "Counted for your grade: 2 of 2 points. Your best check so far: 2 of 2 passed."
    type_in_terminal(driver, "rm ~/done\n")
    # Checking again never lowers the score: the best counts.
    assert check(1) == "Counted for your grade: 2 of 2 points. Your best check so far: 2 of 2 passed."
    snap(driver, "check-result", showing=".hastexo-lab-check-result")


# -- 7. the look -----------------------------------------------------------------

def test_the_page_has_the_platforms_look_and_the_terminal_is_the_main_thing(states):
    driver = states(SSH)
    wait_ready(driver)
    wait_for_terminal(driver)

    def style(selector, name):
        return driver.execute_script("return getComputedStyle(document.querySelector(arguments[0]))[arguments[1]];",
                                     selector, name)
    # Paragon's buttons: rounded, in the primary colour (outline or filled).
    assert style(".hastexo-lab-fullscreen", "borderTopLeftRadius") == "6px"
    assert style(".hastexo-lab-fullscreen", "color") == "rgb(10, 48, 85)"
    assert style(".hastexo-lab-badge", "backgroundColor") == "rgb(23, 130, 83)"  # success: ready
    assert style(".hastexo-lab-spinner", "display") == "none"
    lab_width = find(driver, ".hastexo-lab").size["width"]
    terminal = find(driver, "iframe.hastexo-lab-terminal").size
    assert terminal["width"] >= 0.95 * lab_width and terminal["height"] >= 400
