"""The terminal page between sessions, in Chromium: a reconnect shows the
lab's session once (its login repaints it), keys typed while there is no
session reach the lab once there is one or are refused in words, and a page
nobody hands a ticket (opened on its own, by a lab page that does not answer,
or refused at the handshake) says what is wrong and what to do."""

import logging
import os
import re
import shutil
import time
from html import escape
from urllib.parse import urlencode

import pytest
from selenium.webdriver.common.by import By

from hastexo_lab import conf
from hastexo_lab.terminal import tickets

from ..helpers import wait_until
from ..test_block import SSH
from .conftest import CHROMEDRIVER, CHROMIUM
from .pages import site
from .test_lab import in_terminal, lab, terminal_text, type_in_terminal, wait_for_terminal, wait_ready

pytestmark = pytest.mark.django_db(transaction=True)

# The page's words (terminal.js).
KEPT = "What you type meanwhile is sent once the terminal is connected."
DROPPED = "What you typed meanwhile was not sent."
NOT_CONNECTED = "Not sent: the terminal is not connected."
TOO_MUCH = "Not sent: until it is connected, the terminal keeps 4 KB of typing at most."
ALONE = ("This terminal opens from its lab's unit in the course, and no lab page is here to open it. "
         "Open the unit in the course to connect to your lab.")
NO_ANSWER = ("The lab page does not answer, so the terminal cannot connect. Open the terminal again from "
             "its lab's unit in the course (reload the unit if it is open).")
UNREACHABLE = ("The terminal's server did not take the connection (it may be restarting, or not be set up "
               "for this site). Trying again... If this goes on, please tell the course team.")

# A lab page reduced to what the terminal asks of one: it opens the terminal
# in a window with a click, and answers each request for a ticket with
# window.answer (nothing while that is null); window.say posts at once.
LAB_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A lab page</title></head>
<body>
<button id="open" type="button">Open the terminal</button>
<script>
  window.answer = null;
  window.asked = 0;
  window.say = function (message) { window.terminal.postMessage(message, "*"); };
  window.addEventListener("message", function (event) {
    if (!window.terminal || event.source !== window.terminal) { return; }
    if (event.data && event.data.type === "hastexo-lab:need-ticket") {
      window.asked += 1;
      if (window.answer) { window.say(window.answer); }
    }
  });
  document.getElementById("open").addEventListener("click", function () {
    window.terminal = window.open(document.body.getAttribute("data-src"), "terminal");
  });
</script>
</body></html>
"""


def lab_page(query):
    src = escape(query["src"][0], quote=True)
    return LAB_PAGE.replace("<body>", f'<body data-src="{src}">')


@pytest.fixture
def lab_site(gateway):
    """A lab page's site (another origin than the gateway's), which the
    gateway names as a lab page's origin."""
    with site({"/lab": lab_page}) as origin:
        gateway.app.frame_ancestors = (origin,)
        yield origin


class LabWindows:
    """The lab page and the terminal's window it opened, in one browser."""

    def __init__(self, driver, site, terminal_url):
        self.driver = driver
        driver.get(f"{site}/lab?{urlencode({'src': terminal_url})}")
        self.lab = driver.current_window_handle
        driver.find_element(By.ID, "open").click()
        wait_until(lambda: len(driver.window_handles) == 2, timeout=5, what="the terminal's window")
        self.terminal = next(handle for handle in driver.window_handles if handle != self.lab)
        driver.switch_to.window(self.terminal)

    def in_lab(self, script, *args):
        self.driver.switch_to.window(self.lab)
        try:
            return self.driver.execute_script(script, *args)
        finally:
            self.driver.switch_to.window(self.terminal)

    def state(self):
        return page_state(self.driver)

    def close(self):
        self.driver.switch_to.window(self.terminal)
        self.driver.close()
        self.driver.switch_to.window(self.lab)
        self.driver.get("about:blank")


def page_state(driver):
    """The terminal page's state and the words it shows (driver on that page)."""
    return (driver.find_element(By.TAG_NAME, "body").get_attribute("data-state"),
            driver.find_element(By.CSS_SELECTOR, ".hxl-state").text)


def type_keys(driver, text):
    driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys(text)


def lines(text, word):
    return len(re.findall(rf"^{re.escape(word)}$", text, re.M))


# -- a reconnect ----------------------------------------------------------------

def reconnect(driver):
    """What the lab page tells the terminal when the lab is back from a
    suspend, or on another port."""
    driver.execute_script(
        "var frame = document.querySelector('iframe.hastexo-lab-terminal');"
        "frame.contentWindow.postMessage({type: 'hastexo-lab:reconnect'}, new URL(frame.src).origin);")


def sessions_opened(caplog):
    return caplog.text.count("terminal: session opened on stack")


def test_a_reconnect_shows_the_labs_session_once(page, caplog):
    """The lab's login reattaches to its session and repaints it; the
    terminal starts each session on a reset screen, so what it showed before
    the reconnect is not there twice."""
    caplog.set_level(logging.INFO, logger="hastexo_lab.terminal")
    driver = page(SSH)
    wait_ready(driver)
    wait_for_terminal(driver)
    type_in_terminal(driver, "echo once-$((6*7))\n")
    wait_until(lambda: lines(in_terminal(driver, lambda: terminal_text(driver)), "once-42") == 1, timeout=10,
               what="the shell's answer")
    reconnect(driver)
    wait_until(lambda: sessions_opened(caplog) >= 2, timeout=10, what="a second session")
    wait_for_terminal(driver)
    type_in_terminal(driver, "echo twice-$((6*7))\n")
    wait_until(lambda: lines(in_terminal(driver, lambda: terminal_text(driver)), "twice-42") == 1, timeout=10,
               what="the shell's answer in the new session")
    text = in_terminal(driver, lambda: terminal_text(driver))
    assert lines(text, "once-42") == 1, text


def test_keys_typed_while_the_terminal_reconnects_reach_the_shell_once_it_is_connected(page, gateway, caplog):
    """The lab page has the terminal reconnect (as when the lab is back from
    a suspend); the gateway makes it wait (a learner's ticket rate, here one
    per ten seconds) and the learner types meanwhile: the keys are kept, said
    to be, and reach the same shell once the session is ready."""
    caplog.set_level(logging.INFO, logger="hastexo_lab.terminal")
    gateway.app.limits = conf.TerminalLimits(redeem_rate_per_learner=0.1)
    driver = page(SSH)
    wait_ready(driver)
    wait_for_terminal(driver)
    type_in_terminal(driver, "echo before-$((6*7))\n")
    wait_until(lambda: lines(in_terminal(driver, lambda: terminal_text(driver)), "before-42") == 1, timeout=10,
               what="the shell's answer")
    reconnect(driver)
    wait_until(lambda: "tickets of learner" in caplog.text, timeout=10, what="the gateway to make the page wait")
    assert lab(driver).get_attribute("data-terminal") == "reconnecting"
    type_in_terminal(driver, "echo kept-$((6*7))\n")
    shown = in_terminal(driver, lambda: page_state(driver))
    wait_for_terminal(driver, timeout=20)
    wait_until(lambda: lines(in_terminal(driver, lambda: terminal_text(driver)), "kept-42") == 1, timeout=10,
               what="the keys typed while reconnecting to reach the shell")
    assert shown[0] == "reconnecting" and shown[1].endswith(KEPT), shown
    text = in_terminal(driver, lambda: terminal_text(driver))
    assert lines(text, "before-42") == 1, text
    assert in_terminal(driver, lambda: page_state(driver)) == ("connected", "")


def test_keys_that_cannot_be_kept_or_sent_are_refused_in_words(browser, gateway, lab_site):
    windows = LabWindows(browser, lab_site, f"{gateway.origin}/hastexo-lab-terminal/")
    try:
        windows.in_lab("window.answer = {type: 'hastexo-lab:no-ticket', message: 'Your lab is starting.'};")
        wait_until(lambda: windows.state() == ("reconnecting", "Your lab is starting."), timeout=5,
                   what="the lab page's words")
        type_keys(browser, "echo kept")
        assert windows.state() == ("reconnecting", f"Your lab is starting. {KEPT}")
        # More than the page keeps: refused whole, and said so for a while.
        browser.execute_script("window.hastexoLabTerminal.paste(arguments[0]);", "x" * 5000)
        assert windows.state() == ("reconnecting", TOO_MUCH)
        wait_until(lambda: windows.state() == ("reconnecting", f"Your lab is starting. {KEPT}"), timeout=8,
                   what="the state's own words again")
        # The session never opens (the gateway refuses the ticket): what was kept is dropped, in words.
        windows.in_lab("window.answer = null; window.say({type: 'hastexo-lab:ticket', ticket: arguments[0]});",
                       "t" * 43)
        wait_until(lambda: windows.state() == ("refused", f"{tickets.NOT_VALID} {DROPPED}"), timeout=5,
                   what="the refusal")
        type_keys(browser, "more")
        assert windows.state() == ("refused", NOT_CONNECTED)
    finally:
        windows.close()


# -- a page nobody hands a ticket -----------------------------------------------

def test_the_terminal_page_opened_on_its_own_says_how_to_open_the_terminal(browser, gateway):
    browser.get(f"{gateway.origin}/hastexo-lab-terminal/")
    try:
        wait_until(lambda: page_state(browser) == ("error", ALONE), timeout=3, what="the page to say what to do")
        type_keys(browser, "ls")
        assert page_state(browser) == ("error", NOT_CONNECTED)
        time.sleep(1)
        assert not gateway.app.admission.sockets
    finally:
        browser.get("about:blank")


def test_a_lab_page_that_does_not_answer_is_named_and_may_still_answer(browser, gateway, lab_site):
    windows = LabWindows(browser, lab_site, f"{gateway.origin}/hastexo-lab-terminal/")
    try:
        assert windows.state() == ("connecting", "Connecting...")
        wait_until(lambda: windows.state() == ("error", NO_ANSWER), timeout=16, interval=0.2,
                   what="the page to say that its lab page does not answer")
        assert windows.in_lab("return window.asked;") >= 4, "it asks on"
        windows.in_lab("window.answer = {type: 'hastexo-lab:no-ticket', message: 'Your lab is starting.'};")
        wait_until(lambda: windows.state() == ("reconnecting", "Your lab is starting."), timeout=5,
                   what="the lab page's answer to count")
    finally:
        windows.close()


@pytest.fixture
def renamed_browser():
    """A Chromium of its own (the browser fixture's flags) that finds the
    gateway under a host name nobody configured: a page there is refused
    at the WebSocket's handshake, as a misconfigured site's would be."""
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip(f"browser tests need {CHROMIUM} and {CHROMEDRIVER}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,1024", "--host-resolver-rules=MAP terminal.test 127.0.0.1"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_a_refused_handshake_is_said_and_tried_again(renamed_browser, gateway, lab_site, caplog):
    terminal_url = f"http://terminal.test:{gateway.port}/hastexo-lab-terminal/"
    caplog.set_level(logging.WARNING, logger="hastexo_lab.terminal")
    windows = LabWindows(renamed_browser, lab_site, terminal_url)
    try:
        windows.in_lab("window.answer = {type: 'hastexo-lab:ticket', ticket: arguments[0]};", "t" * 43)
        wait_until(lambda: windows.state() == ("reconnecting", UNREACHABLE), timeout=8,
                   what="the page to say that the server did not take it")
        assert "refused a WebSocket from 127.0.0.1: origin http://terminal.test" in caplog.text
        asked = windows.in_lab("return window.asked;")
        wait_until(lambda: windows.in_lab("return window.asked;") > asked, timeout=8, what="another try")
    finally:
        windows.close()
