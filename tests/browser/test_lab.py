"""What a learner sees and does, in a real browser."""

import time

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from hastexo_lab import api
from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack

from ..helpers import wait_until
from ..test_block import RDP, SSH
from ..test_tasks import wait_status

pytestmark = pytest.mark.django_db(transaction=True)


def lab(driver):
    return driver.find_element(By.CSS_SELECTOR, ".hastexo-lab")


def phase(driver):
    return lab(driver).get_attribute("data-phase")


def keepalives(driver):
    return int(lab(driver).get_attribute("data-keepalives") or 0)


def wiggle(driver):
    """Real input: the mouse moves over the page."""
    body = driver.find_element(By.TAG_NAME, "h1")
    ActionChains(driver).move_to_element_with_offset(body, 5, 5).move_by_offset(3, 2).perform()


def test_phases_in_order_then_the_terminal(page, cloud):
    cloud.config.durations["create"] = 2.0
    driver = page(SSH)
    seen = []

    def ready():
        current = phase(driver)
        if current and (not seen or seen[-1] != current):
            seen.append(current)
        return current == "ready"
    wait_until(ready, timeout=20, interval=0.05, what="the lab to be ready")
    seen_at = time.time()
    assert seen[0] in ("queued", "creating") and seen[-1] == "ready"
    assert "creating" in seen
    stack = Stack.objects.get()
    assert stack.status == lc.CREATE_COMPLETE
    # Polling is quick while a change is expected: ready shows within about a second.
    assert seen_at - stack.status_changed_at.timestamp() < 2.5
    frame = driver.find_element(By.CSS_SELECTOR, "iframe.hastexo-lab-terminal")
    assert frame.is_displayed()
    assert frame.get_attribute("src").endswith("/hastexo-lab-terminal/") and stack.name not in driver.page_source
    status = driver.find_element(By.CSS_SELECTOR, "[role=status]")
    assert "ready" in status.text


def wait_ready(driver):
    wait_until(lambda: phase(driver) == "ready", timeout=20, interval=0.05, what="the lab to be ready")


def test_keepalives_follow_input_and_stop_when_idle(page):
    driver = page(SSH)
    wait_ready(driver)
    start, began = keepalives(driver), time.monotonic()
    for _ in range(6):
        wiggle(driver)
        time.sleep(0.5)
    sent, elapsed = keepalives(driver) - start, time.monotonic() - began
    # One per interval (1 s, jittered by 10%), give or take the one in flight.
    assert elapsed / 1.1 - 1 <= sent <= elapsed / 0.9 + 1, f"{sent} keepalives in {elapsed:.1f} s of input"
    stack = Stack.objects.get()
    assert stack.last_activity is not None and stack.log.filter(to_status=lc.SUSPEND_PENDING).count() == 0
    # No input for longer than the idle window: keepalives stop.
    time.sleep(4.5)
    quiet = keepalives(driver)
    time.sleep(2.5)
    assert keepalives(driver) == quiet


def test_no_keepalives_while_the_tab_is_hidden(page, browser):
    driver = page(SSH)
    wait_ready(driver)
    wiggle(driver)
    lab_tab = driver.current_window_handle
    driver.switch_to.new_window("tab")
    try:
        stack = Stack.objects.get()
        time.sleep(1.5)
        stack.refresh_from_db()
        before = stack.last_activity
        time.sleep(3)
        stack.refresh_from_db()
        assert stack.last_activity == before, "keepalives went on while the lab's tab was hidden"
    finally:
        driver.close()
        driver.switch_to.window(lab_tab)


def test_idle_warning_and_still_here(page):
    driver = page(SSH)
    wait_ready(driver)
    warning = driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-idle")
    wait_until(warning.is_displayed, timeout=8, interval=0.1, what="the idle warning")
    assert "away" in warning.text
    before = keepalives(driver)
    driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-still-here").click()
    wait_until(lambda: not warning.is_displayed(), timeout=3, what="the warning to go")
    assert keepalives(driver) > before


def test_a_suspended_lab_resumes_when_the_learner_returns(page):
    driver = page(SSH)
    wait_ready(driver)
    stack = Stack.objects.get()
    first_src = driver.find_element(By.CSS_SELECTOR, "iframe.hastexo-lab-terminal").get_attribute("src")
    time.sleep(4.5)  # the learner is away
    api.suspend(stack, reason="idle (as the suspender would)")
    wait_status(stack, lc.SUSPEND_COMPLETE)
    driver.execute_script("""
        window.seenMessages = [];
        var node = document.querySelector('.hastexo-lab-message');
        new MutationObserver(function () { window.seenMessages.push(node.textContent); })
            .observe(node, {childList: true, characterData: true, subtree: true});
    """)

    def back():
        wiggle(driver)
        return phase(driver) == "ready" and Stack.objects.get().status == lc.RESUME_COMPLETE
    wait_until(back, timeout=20, interval=0.2, what="the lab to resume")
    seen = driver.execute_script("return window.seenMessages;")
    assert any("suspended to save resources; resuming" in text for text in seen), seen
    frame = driver.find_element(By.CSS_SELECTOR, "iframe.hastexo-lab-terminal")
    assert frame.is_displayed() and frame.get_attribute("src") == first_src


def test_reset_with_confirmation_gives_a_fresh_lab(page):
    driver = page(SSH)
    wait_ready(driver)
    old_id = Stack.objects.get().provider_stack_id
    driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-reset").click()
    confirm = driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-confirm")
    assert confirm.is_displayed()
    driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-confirm-yes").click()
    wait_until(lambda: Stack.objects.get().provider_stack_id not in ("", old_id)
               and phase(driver) == "ready", timeout=30, interval=0.1, what="a fresh lab")
    assert Stack.objects.get().log.filter(reason="reset by the learner").exists()


def test_server_errors_show_a_message_and_a_retry_button(page, monkeypatch):
    from xblock.exceptions import JsonHandlerError

    def refuse(stack):
        raise JsonHandlerError(400, "refused")
    monkeypatch.setattr(api, "status_for", refuse)
    driver = page(SSH)
    error = driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-error")
    wait_until(error.is_displayed, timeout=10, what="the error message")
    assert "not answering" in error.text
    monkeypatch.undo()
    driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-retry").click()
    wait_ready(driver)
    assert not error.is_displayed()


def test_a_desktop_lab_without_guacamole_says_so(page):
    driver = page(RDP)
    wait_ready(driver)
    wait_until(lambda: lab(driver).get_attribute("data-terminal") == "error", timeout=10,
               what="the terminal to say it cannot open a desktop")
    driver.switch_to.frame(driver.find_element(By.CSS_SELECTOR, "iframe.hastexo-lab-terminal"))
    try:
        assert "Guacamole" in driver.find_element(By.CSS_SELECTOR, ".hxl-state").text
    finally:
        driver.switch_to.default_content()
    from selenium.webdriver.support.ui import Select
    Select(driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-port")).select_by_visible_text("console")


def test_an_idle_tab_shows_a_suspend_within_one_status_interval(page, cloud):
    """The learner is away with the tab open; the server suspends the lab.
    The page says so within one status interval (2 s here), and a learner
    who comes back sees it resuming, not a dead terminal."""
    cloud.config.durations["resume"] = 1.5  # long enough to be seen
    driver = page(SSH)
    wait_ready(driver)
    stack = Stack.objects.get()
    time.sleep(4.5)  # away: no input, no keepalives
    assert api.suspend(stack, reason="idle (as the suspender would)")
    wait_status(stack, lc.SUSPEND_COMPLETE)
    suspended_at = time.time()
    wait_until(lambda: phase(driver) == "suspended", timeout=3.5, interval=0.05, what="the page to show the suspend")
    assert time.time() - suspended_at <= 2.0 + 1.0  # one status interval, plus a request
    assert "suspended" in driver.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert not driver.find_element(By.CSS_SELECTOR, "iframe.hastexo-lab-terminal").is_displayed()
    wiggle(driver)
    wait_until(lambda: phase(driver) == "resuming", timeout=3, interval=0.02, what="the page to say resuming")
    assert not driver.find_element(By.CSS_SELECTOR, "iframe.hastexo-lab-terminal").is_displayed()
    wait_ready(driver)


def test_a_vanished_lab_offers_a_fresh_one(page, cloud):
    from hastexo_lab import sweeps

    from ..helpers import heat_for, wait_for_gone

    driver = page(SSH)
    wait_ready(driver)
    stack = Stack.objects.get()
    heat = heat_for(cloud)
    heat.stacks.delete(stack.provider_ref)  # an operator, behind our back
    wait_for_gone(heat, stack.provider_ref)
    sweeps.reconcile(send=lambda follow: None)
    fresh = driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-fresh")
    wait_until(fresh.is_displayed, timeout=5, interval=0.05, what="the offer of a fresh lab")
    assert phase(driver) == "lost"
    assert "no longer exists" in driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-error").text
    assert not driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-retry").is_displayed()
    fresh.click()
    driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-confirm-yes").click()
    wait_until(lambda: phase(driver) == "ready" and Stack.objects.get().status == lc.CREATE_COMPLETE,
               timeout=30, interval=0.1, what="a fresh lab")
    assert not fresh.is_displayed()


def test_leaving_the_page_brings_the_suspend_forward(page):
    driver = page(SSH)
    wait_ready(driver)
    before = Stack.objects.get().suspend_by
    driver.get("about:blank")
    wait_until(lambda: Stack.objects.get().suspend_by < before, timeout=5, what="the leave request")
    stack = Stack.objects.get()
    assert stack.status == lc.CREATE_COMPLETE
    assert (stack.suspend_by - stack.last_activity).total_seconds() < stack.suspend_timeout


def test_studio_editing_in_the_workbench(page, live_server, browser):
    """Edit in the demo's workbench: a bad value is named next to its field, a
    list that is not JSON is named before anything is sent, and a good save
    changes what learners see."""
    driver = browser
    driver.get(f"{live_server.url}/scenario/{SSH}/studio_view/?student=author")

    def field(name):
        return driver.find_element(By.CSS_SELECTOR, f"li.field[data-field-name='{name}']")

    def set_value(name, text):
        control = driver.find_element(By.ID, f"xb-field-edit-{name}")
        control.clear()
        control.send_keys(text)

    def save():
        driver.find_element(By.CSS_SELECTOR, ".save-button").click()

    def status():
        found = driver.find_elements(By.CSS_SELECTOR, ".hastexo-lab-studio-status")
        return found[0].text if found else ""

    set_value("weight", "-1")
    save()
    wait_until(lambda: field("weight").find_elements(By.CSS_SELECTOR, ".hastexo-lab-field-error"), timeout=5,
               what="the weight's error next to it")
    assert "Weight must be a number of points" in field("weight").text
    assert "Not saved" in status()
    set_value("weight", "2")
    set_value("ports", "[{name: shell}")
    save()
    wait_until(lambda: "not valid JSON" in field("ports").text, timeout=5, what="the ports' JSON error")
    set_value("ports", "[]")
    set_value("display_name", "Renamed lab")
    save()
    wait_until(lambda: status() == "Saved.", timeout=5, what="the save")
    assert not driver.find_elements(By.CSS_SELECTOR, ".hastexo-lab-field-error")
    driver.get(f"{live_server.url}/scenario/{SSH}/?student=alice")
    wait_until(lambda: "Renamed lab" in driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-title").text, timeout=5,
               what="the learner view to show the new name")


# -- the terminal -------------------------------------------------------------

def terminal_text(driver):
    """Everything in the terminal's buffer (driver inside the terminal's frame)."""
    return driver.execute_script(
        "var b = window.hastexoLabTerminal.buffer.active, lines = [];"
        "for (var i = 0; i < b.length; i++) { lines.push(b.getLine(i).translateToString(true)); }"
        "return lines.join('\\n');")


def in_terminal(driver, action):
    driver.switch_to.frame(driver.find_element(By.CSS_SELECTOR, "iframe.hastexo-lab-terminal"))
    try:
        return action()
    finally:
        driver.switch_to.default_content()


def type_in_terminal(driver, text):
    in_terminal(driver, lambda: driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys(text))


def wait_for_terminal(driver, state="connected", timeout=15):
    wait_until(lambda: lab(driver).get_attribute("data-terminal") == state, timeout=timeout, interval=0.05,
               what=f"the terminal to be {state} (is {lab(driver).get_attribute('data-terminal')})")


def test_the_terminal_is_a_real_shell_that_survives_suspend_and_resume(page, cloud):
    import re
    driver = page(SSH)
    wait_ready(driver)
    wait_for_terminal(driver)
    stack = Stack.objects.get()
    type_in_terminal(driver, "echo hello-$RANDOM > f; cat f\n")
    wait_until(lambda: len(re.findall(r"^hello-\d+", in_terminal(driver, lambda: terminal_text(driver)), re.M)),
               timeout=10, what="the shell's answer")
    word = re.search(r"^hello-\d+", in_terminal(driver, lambda: terminal_text(driver)), re.M).group(0)
    type_in_terminal(driver, "(i=0; while true; do i=$((i+1)); echo $i > count; sleep 0.2; done) &\n")
    # Typing is activity: keepalives go out and no idle warning shows while the learner types.
    start = keepalives(driver)
    for n in range(10):
        type_in_terminal(driver, f"# typing {n}\n")
        time.sleep(0.5)
        assert lab(driver).get_attribute("data-idle") != "true"
    assert keepalives(driver) - start >= 3
    # The learner goes away (no more keepalives, which would cancel a suspend
    # not yet started); the lab is suspended: the session ends; the learner
    # comes back and finds the same shell.
    wait_until(lambda: lab(driver).get_attribute("data-idle") == "true", timeout=10, what="the page to see idle")
    assert api.suspend(stack, reason="idle (as the suspender would)")
    wait_for_terminal(driver, "reconnecting", timeout=40)  # a busy worker may take a while
    # The suspend is done (a keepalive that came during it may have asked
    # for the resume already: then the lab is on its way back).
    wait_until(lambda: stack.log.filter(to_status=lc.SUSPEND_COMPLETE).exists(), timeout=30,
               what="the suspend to be done")
    wiggle(driver)
    wait_ready(driver)
    wait_for_terminal(driver, timeout=20)
    def counts():
        text = in_terminal(driver, lambda: terminal_text(driver))
        return word in text and len(re.findall(r"^\d+$", text, re.M)) >= 2 and text
    type_in_terminal(driver, "clear; cat f; cat count; sleep 1; cat count\n")
    text = wait_until(counts, timeout=8, what="the same shell, counting on")
    first, second = [int(n) for n in re.findall(r"^(\d+)$", text, re.M)[:2]]
    assert second > first > 0
    # Nothing the browser got holds the lab's secrets.
    secrets = stack.secrets()
    for source in (driver.page_source, in_terminal(driver, lambda: driver.page_source)):
        assert secrets["private_key"] not in source and secrets["password"] not in source
    for entry in driver.get_log("browser"):
        assert secrets["password"] not in entry["message"]


# Which code posted each keepalive, for a failure's message: the page's fetch
# is wrapped, and each keepalive request keeps the JavaScript stack that made it.
RECORD_KEEPALIVES = """
    window.keepaliveStacks = [];
    var fetch = window.fetch;
    window.fetch = function (url) {
        if (String(url).indexOf("keepalive") >= 0) { window.keepaliveStacks.push(new Error().stack); }
        return fetch.apply(this, arguments);
    };
"""


def wait_away(driver):
    """Until the page takes the learner for away: the idle warning is up and
    the idle window (4 s, warned 0.8 s before its end) is over, so keepalives
    have stopped. Then keepalives are recorded with what sent them."""
    wait_until(lambda: lab(driver).get_attribute("data-idle") == "true", timeout=10, what="the page to see idle")
    time.sleep(1.5)
    driver.execute_script(RECORD_KEEPALIVES)
    return keepalives(driver)


def keepalives_sent(driver):
    return driver.execute_script("return window.keepaliveStacks;")


def test_an_idle_tab_does_not_resume_a_suspended_lab_by_itself(page):
    """The learner typed in the terminal, scrolled the page down to it and
    went away, the tab left open. What the page does by itself is not the
    learner: the idle warning showing (the browser scrolls to keep in view
    what was), the terminal hiding on the suspend (a shorter page scrolls
    back). No keepalive goes out, and the suspended lab stays suspended: a
    resume nobody asked for costs money."""
    driver = page(SSH)
    wait_ready(driver)
    wait_for_terminal(driver)
    type_in_terminal(driver, "echo away\n")  # the terminal has the focus
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight);")
    assert driver.execute_script("return window.scrollY;") > 0
    before = wait_away(driver)
    stack = Stack.objects.get()
    assert api.suspend(stack, reason="idle (as the suspender would)")
    wait_for_terminal(driver, "reconnecting", timeout=40)  # a busy worker may take a while
    wait_until(lambda: stack.log.filter(to_status=lc.SUSPEND_COMPLETE).exists(), timeout=30,
               what="the suspend to be done")
    time.sleep(3)  # the page shows the suspend; the terminal asks for tickets
    assert keepalives(driver) == before, f"keepalives from an idle tab: {keepalives_sent(driver)}"
    stack.refresh_from_db()
    assert not stack.resume_requested
    assert stack.status == lc.SUSPEND_COMPLETE
    assert phase(driver) == "suspended"


def test_the_terminal_taking_the_focus_is_not_the_learner(page):
    """The terminal takes the focus itself each time it (re)connects. The
    learner who last clicked on the page, not in the terminal, and went away
    is still away; a click into the terminal is the learner back."""
    driver = page(SSH)
    wait_ready(driver)
    wait_for_terminal(driver)
    driver.find_element(By.TAG_NAME, "h1").click()  # the page has the focus, not the terminal
    before = wait_away(driver)
    frame = driver.find_element(By.CSS_SELECTOR, "iframe.hastexo-lab-terminal")
    in_terminal(driver, lambda: driver.execute_script("window.hastexoLabTerminal.focus();"))  # as on "ready"
    wait_until(lambda: driver.switch_to.active_element == frame, timeout=3, what="the terminal to take the focus")
    time.sleep(2)
    assert keepalives(driver) == before, f"keepalives from an idle tab: {keepalives_sent(driver)}"
    assert lab(driver).get_attribute("data-idle") == "true"
    in_terminal(driver, lambda: driver.find_element(By.CSS_SELECTOR, ".xterm-screen").click())
    wait_until(lambda: keepalives(driver) > before, timeout=3, what="a click in the terminal to send a keepalive")
    wait_until(lambda: lab(driver).get_attribute("data-idle") == "false", timeout=3, what="the warning to go")


def test_bob_cannot_open_alices_terminal(page, browser, gateway):
    """Bob knows Alice's stack name and her terminal's address; he opens the
    terminal page himself: it asks its opener for a ticket, and none comes."""
    driver = page(SSH, student="alice")
    wait_ready(driver)
    wait_for_terminal(driver)
    driver.get(f"{gateway.origin}/hastexo-lab-terminal/?stack={Stack.objects.get().name}")
    time.sleep(2)
    assert driver.execute_script("return document.body.getAttribute('data-state')") == "error"
    assert "opens from its lab's unit" in driver.find_element(By.CSS_SELECTOR, ".hxl-state").text


def test_in_the_demo_a_learner_gets_a_working_terminal(browser, tmp_path):
    """`make demo`: the workbench and the gateway on one port, as behind an
    LMS's proxy; the learner types in the terminal and the lab answers."""
    import os
    import re
    import signal

    from ..helpers import start_command
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    proc, banner = start_command("demo", "--port", "0", "--data-dir", str(tmp_path), "--create-time", "0.5",
                                 timeout=60, env=env)
    try:
        lab_url = next(line.split()[1] for line in banner if line.strip().startswith("labs:"))
        browser.get(lab_url.replace("student=alice", "student=demo-learner"))
        wait_until(lambda: lab(browser).get_attribute("data-terminal") == "connected", timeout=30, interval=0.1,
                   what="the demo's terminal to connect")
        type_in_terminal(browser, "echo demo-$((20+22))\n")
        wait_until(lambda: re.search(r"^demo-42", in_terminal(browser, lambda: terminal_text(browser)), re.M),
                   timeout=10, what="the demo's shell to answer")
        # The lab with progress checks: one of two passes, with the other's hint.
        browser.get(lab_url.replace("hastexo_lab.0", "hastexo_lab.4").replace("student=alice", "student=checker"))
        wait_until(lambda: lab(browser).get_attribute("data-phase") == "ready", timeout=30, interval=0.1,
                   what="the demo's checked lab")
        browser.find_element(By.CSS_SELECTOR, ".hastexo-lab-check").click()
        wait_until(lambda: lab(browser).get_attribute("data-check") == "done", timeout=30, interval=0.1,
                   what="the demo's check")
        result = browser.find_element(By.CSS_SELECTOR, ".hastexo-lab-check-result").text
        assert "1 of 2 checks passed." in result and "no file called done" in result
    finally:
        browser.get("about:blank")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_full_screen_and_a_new_window_with_the_same_ticket_rules(page, browser):
    import re
    driver = page(SSH)
    wait_ready(driver)
    wait_for_terminal(driver)
    assert driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-fullscreen").is_displayed()
    lab_window = driver.current_window_handle
    driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-new-window").click()
    wait_until(lambda: len(driver.window_handles) == 2, timeout=5, what="the new window")
    other = next(handle for handle in driver.window_handles if handle != lab_window)
    driver.switch_to.window(other)
    try:
        # The new window's page asks the lab page (its opener) for a ticket.
        wait_until(lambda: driver.execute_script("return document.body.getAttribute('data-state')") == "connected",
                   timeout=10, what="the new window's terminal to connect")
        driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys("echo window-$((2*21))\n")
        wait_until(lambda: re.search(r"^window-42", terminal_text(driver), re.M), timeout=10,
                   what="the shell to answer in the new window")
        assert "?" not in driver.current_url and "#" not in driver.current_url
    finally:
        driver.close()
        driver.switch_to.window(lab_window)


def test_with_guacamole_the_iframe_opens_the_learners_connection(page, fast_browser_settings):
    """A page standing in for Guacamole checks the blob as its JSON
    authentication does and shows what it would connect to."""
    from hastexo_lab.terminal.server import Background

    from ..guacamole_fake import FakeGuacamole
    key = "4c0b569e4c96df157eee1b65dd0e4d41"
    fake = FakeGuacamole(key)
    server = Background(fake, host="127.0.0.1").start()
    try:
        lab_settings = dict(fast_browser_settings.XBLOCK_SETTINGS["hastexo_lab"], terminal="guacamole",
                            guacamole_secret_key=key, guacamole_url=f"http://localhost:{server.port}/guacamole/")
        fast_browser_settings.XBLOCK_SETTINGS = {"hastexo_lab": lab_settings}
        driver = page(SSH)
        wait_ready(driver)
        frame = driver.find_element(By.CSS_SELECTOR, "iframe.hastexo-lab-terminal")
        wait_until(lambda: "data=" in (frame.get_attribute("src") or ""), timeout=10, what="the blob in the iframe")
        stack = Stack.objects.get()

        def shown():
            return in_terminal(driver, lambda: driver.find_element(By.CSS_SELECTOR, ".connection").text)
        wait_until(lambda: shown() == f"ssh://training@{stack.ip}:22", timeout=10, what="Guacamole's connection")
        assert fake.seen[0]["username"] == "alice"
        secrets = stack.secrets()
        assert secrets["password"] not in driver.page_source and "PRIVATE" not in driver.page_source
        # A reset: the next connection opens the new lab, with a new blob.
        driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-reset").click()
        driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-confirm-yes").click()
        wait_until(lambda: Stack.objects.get().status == lc.CREATE_COMPLETE and len(fake.seen) >= 2
                   and phase(driver) == "ready", timeout=30, interval=0.1, what="a fresh lab in Guacamole")
        fresh = Stack.objects.get()
        wait_until(lambda: shown() == f"ssh://training@{fresh.ip}:22", timeout=10, what="the new lab's connection")
        assert fresh.ip != stack.ip
    finally:
        server.stop()


def test_check_progress_in_the_page(page, fast_browser_settings):
    from ..test_block import CHECKED
    lab_settings = dict(fast_browser_settings.XBLOCK_SETTINGS["hastexo_lab"], remote_exec_timeout=5)
    fast_browser_settings.XBLOCK_SETTINGS = {"hastexo_lab": lab_settings}
    driver = page(CHECKED)
    wait_ready(driver)
    button = driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-check")
    assert button.text == "Check my work"
    button.click()
    wait_until(lambda: lab(driver).get_attribute("data-check") == "done", timeout=20, interval=0.1,
               what="the check's result")
    result = driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-check-result")
    assert "1 of 2 checks passed." in result.text
    assert "There is no file called done in your home folder yet." in result.text
    assert driver.switch_to.active_element == result, "focus moves to the result"
    assert result.get_attribute("role") == "status"


def test_the_usage_limit_in_the_page_warn_then_block(page, fast_browser_settings):
    from ..test_limits import limit, ran
    limit(fast_browser_settings, "warn")
    ran("alice", hours=3, ago_hours=2)
    driver = page(SSH)
    notice = driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-notice")
    wait_until(notice.is_displayed, timeout=10, what="the usage notice")
    assert "You have used your lab time" in notice.text
    wait_ready(driver)  # warn: the lab still runs

    limit(fast_browser_settings, "block")
    ran("dave", hours=3, ago_hours=2, name="hxl-old-dave")
    driver = page(SSH, student="dave")
    error = driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-error")
    wait_until(error.is_displayed, timeout=10, what="the limit's message")
    assert "You can start a lab again after" in error.text
    assert phase(driver) == "limited"
    assert not Stack.objects.filter(anonymous_student_id="dave").exclude(name="hxl-old-dave").exists()


def test_studio_checks_the_template_at_the_cloud(page, live_server, browser):
    driver = browser
    driver.get(f"{live_server.url}/scenario/{SSH}/studio_view/?student=author")
    button = wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, ".hastexo-lab-check-template"), timeout=10,
                        what="the check button")[0]
    button.click()
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, ".hastexo-lab-template-check li"), timeout=10,
               what="the cloud's answer")
    item = driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-template-check li")
    assert item.get_attribute("data-ok") == "true" and item.text.startswith("default: Accepted.")

