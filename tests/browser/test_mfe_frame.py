"""The lab in a frame as Open edX's learning MFE shows a unit: an iframe with
the MFE's feature policy, as tall as the heights its page reports in
"plugin.resize" messages. The outer page here is the MFE's unit frame and no
more, served from an origin of its own: another port of the same host, the
same site, because over plain HTTP a browser sends no SameSite=Lax or Strict
cookie (the workbench's CSRF cookie, the terminal's key) into a frame of
another site. The HTTPS cookie for the cross-site case is tested at the
handler (tests/test_ticket_cookie.py)."""

import re
import time
from contextlib import contextmanager
from html import escape
from urllib.parse import urlencode

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from ..helpers import wait_until
from ..test_block import SSH
from .pages import site
from .test_lab import terminal_text

pytestmark = pytest.mark.django_db(transaction=True)

# frontend-app-learning's IFRAME_FEATURE_POLICY (ContentIFrame.jsx) as of
# December 2024, and before autoplay (2024) and clipboard-write (2023) came.
MFE_ALLOW = "microphone *; camera *; midi *; geolocation *; encrypted-media *; clipboard-write *; autoplay *"
OLDER_MFE_ALLOW = "microphone *; camera *; midi *; geolocation *; encrypted-media *"
UNIT_TITLE = "SSH lab"  # the MFE titles the frame with the unit's name

# What the MFE's unit frame does with the page's messages (useIFrameBehavior):
# its height is the last reported one; once the unit has reported, and on
# every scroll and resize, it tells the page where the frame is and how tall
# its own window is. Every message is kept for the tests.
UNIT_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Unit</title>
<style>body {{ margin: 0; }} iframe {{ display: block; width: 100%; border: 0; }}</style></head>
<body>
<div class="unit-iframe-wrapper">
  <iframe id="unit-iframe" title="{title}" src="{src}" allow="{allow}" allowfullscreen scrolling="no"
          referrerpolicy="origin" height="0"></iframe>
</div>
<script>
  var frame = document.getElementById("unit-iframe");
  window.resizes = [];
  function tellVisibility() {{
    frame.contentWindow.postMessage({{type: "unit.visibilityStatus", data: {{
      topPosition: frame.getBoundingClientRect().top, viewportHeight: window.innerHeight}}}}, "*");
  }}
  window.addEventListener("message", function (event) {{
    var data = event.data;
    if (event.source !== frame.contentWindow || !data || data.type !== "plugin.resize") {{ return; }}
    window.resizes.push({{height: data.payload.height, at: Date.now()}});
    frame.setAttribute("height", String(data.payload.height));
    if (window.resizes.length === 1) {{
      tellVisibility();
      window.addEventListener("scroll", tellVisibility);
      window.addEventListener("resize", tellVisibility);
    }}
  }});
</script>
</body>
</html>
"""


def unit_page(query):
    return UNIT_PAGE.format(src=escape(query["src"][0]), allow=escape(query.get("allow", [MFE_ALLOW])[0]),
                            title=escape(UNIT_TITLE))


@pytest.fixture
def mfe(page, browser, live_server, gateway, fast_browser_settings):
    """Opens the learner's lab in the MFE-shaped unit frame; returns the driver
    at the outer page. The terminal gateway lets that page frame it too."""
    with site({"/unit": unit_page}, name="localhost") as origin:
        gateway.app.frame_ancestors = (live_server.url, origin)

        def open_unit(student="alice", allow=MFE_ALLOW):
            src = f"{live_server.url}/scenario/{SSH}/?student={student}"
            browser.get(f"{origin}/unit?{urlencode({'src': src, 'allow': allow})}")
            return browser

        yield open_unit


@pytest.fixture
def steady(fast_browser_settings):
    """No keepalive and no idle warning within a test: a lab left alone."""
    lab = dict(fast_browser_settings.XBLOCK_SETTINGS["hastexo_lab"])
    lab["js_timeouts"] = dict(lab["js_timeouts"], keepalive=60000, idle=120000)
    fast_browser_settings.XBLOCK_SETTINGS = {"hastexo_lab": lab}


@contextmanager
def in_unit(driver):
    driver.switch_to.frame(driver.find_element(By.ID, "unit-iframe"))
    try:
        yield
    finally:
        driver.switch_to.default_content()


@contextmanager
def in_terminal(driver):
    """Inside the terminal's frame, inside the unit's."""
    with in_unit(driver):
        driver.switch_to.frame(driver.find_element(By.CSS_SELECTOR, "iframe.hastexo-lab-terminal"))
        yield


def lab_attribute(driver, name):
    with in_unit(driver):
        return driver.find_element(By.CSS_SELECTOR, ".hastexo-lab").get_attribute(name)


def wait_connected(driver):
    wait_until(lambda: lab_attribute(driver, "data-phase") == "ready", timeout=20, interval=0.1,
               what="the lab to be ready")
    wait_until(lambda: lab_attribute(driver, "data-terminal") == "connected", timeout=15, interval=0.1,
               what="the terminal to connect")


def resizes(driver):
    return driver.execute_script("return window.resizes;")


def frame_height(driver):
    return driver.execute_script("return document.getElementById('unit-iframe').getBoundingClientRect().height;")


def shell_says(driver, pattern):
    def found():
        with in_terminal(driver):
            return re.search(pattern, terminal_text(driver), re.M)
    wait_until(found, timeout=10, interval=0.1, what=f"the shell to answer {pattern!r}")


# Every change to the lab's DOM (a host that frames the page measures it
# again on each); a value written again unchanged is one too.
WATCH_THE_DOM = """
    window.domChanges = [];
    new MutationObserver(function (records) {
        records.forEach(function (r) {
            window.domChanges.push(r.type + " " + (r.attributeName || "") + " on " + r.target.nodeName + "."
                                   + (r.target.className || ""));
        });
    }).observe(document.querySelector(".hastexo-lab"),
               {attributes: true, childList: true, characterData: true, subtree: true});
"""


def test_the_frame_settles_at_a_bounded_height_and_the_page_stays_quiet(mfe, steady):
    driver = mfe()
    wait_connected(driver)
    # Settled: the last report is a second old.
    wait_until(lambda: resizes(driver) and time.time() * 1000 - resizes(driver)[-1]["at"] > 1000, timeout=10,
               interval=0.2, what="the frame's height to settle")
    with in_unit(driver):
        driver.execute_script(WATCH_THE_DOM)
    reported, height = len(resizes(driver)), frame_height(driver)
    time.sleep(5)
    assert len(resizes(driver)) == reported, f"resizes while the lab sat idle: {resizes(driver)[reported:]}"
    assert frame_height(driver) == height
    with in_unit(driver):
        changes = driver.execute_script("return window.domChanges;")
        page_height = driver.execute_script("return document.body.scrollHeight;")
        wrap = driver.execute_script(
            "return document.querySelector('.hastexo-lab-terminal-wrap').getBoundingClientRect().height;")
    assert not changes, f"the idle page rewrote its DOM: {changes}"
    # The frame shows the whole page, the terminal included, and no more.
    assert 600 < height < 1500 and height == page_height
    # The terminal: 70% of the MFE's window, which the MFE told the page.
    top = driver.execute_script("return window.innerHeight;")
    assert abs(wrap - 0.7 * top) <= 1, (wrap, top)

    # Full screen still fills the screen (the MFE's frame allows it).
    with in_unit(driver):
        driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-fullscreen").click()
        wait_until(lambda: driver.execute_script("return !!document.fullscreenElement;"), timeout=5,
                   what="full screen")
        full, screen = driver.execute_script(
            "var box = document.fullscreenElement.getBoundingClientRect();"
            "return [[box.width, box.height], [window.innerWidth, window.innerHeight]];")
        assert driver.execute_script("return document.fullscreenElement.className;") == "hastexo-lab-terminal-wrap"
        assert full == screen
        driver.execute_script("document.exitFullscreen();")
        wait_until(lambda: not driver.execute_script("return document.fullscreenElement;"), timeout=5,
                   what="the end of full screen")


def test_typing_pasting_and_copying_in_the_framed_terminal(mfe, steady):
    driver = mfe()
    wait_connected(driver)
    with in_unit(driver):
        asked = driver.find_element(By.CSS_SELECTOR, "iframe.hastexo-lab-terminal").get_attribute("allow")
    # The terminal's frame asks only for what the MFE's frame can pass on.
    mfe_features = {part.split()[0] for part in MFE_ALLOW.split(";")}
    assert {part.split()[0] for part in asked.split(";") if part.strip()} <= mfe_features, asked
    with in_terminal(driver):
        assert driver.execute_script("return document.featurePolicy.allowsFeature('clipboard-write');")
        assert not driver.execute_script("return document.featurePolicy.allowsFeature('clipboard-read');")
        textarea = driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")
        textarea.send_keys("echo typed-$((6*7))\n")
    shell_says(driver, r"^typed-42$")

    # A paste is the browser's paste event, which xterm reads: no
    # clipboard-read needed. Headless Chromium's clipboard is unreliable, so
    # the event is made here, with the text the clipboard would give.
    with in_terminal(driver):
        driver.execute_script("""
            var data = new DataTransfer();
            data.setData("text/plain", arguments[0]);
            document.querySelector(".xterm-helper-textarea").dispatchEvent(
                new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
        """, "echo pasted-$((7*6))")
        driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys("\n")
    shell_says(driver, r"^pasted-42$")

    # Copy: with clipboard-write passed on, the clipboard API (watched, not
    # run: headless again)...
    with in_terminal(driver):
        driver.execute_script("""
            window.copied = [];
            navigator.clipboard.writeText = function (text) {
                window.copied.push(text);
                return Promise.resolve();
            };
            window.hastexoLabTerminal.selectAll();
        """)
        press_copy(driver)
        wait_until(lambda: driver.execute_script("return window.copied.length;"), timeout=5, what="a copy")
        assert "typed-42" in driver.execute_script("return window.copied[0];")


def press_copy(driver):
    textarea = driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")
    driver.execute_script("arguments[0].focus();", textarea)
    (ActionChains(driver).key_down(Keys.CONTROL).key_down(Keys.SHIFT).send_keys("c")
     .key_up(Keys.SHIFT).key_up(Keys.CONTROL).perform())


def test_copying_in_an_older_mfe_without_clipboard_write(mfe, steady):
    """Before June 2023 the MFE passed no clipboard permission on: copy
    falls back to the copy command, which needs none."""
    driver = mfe(allow=OLDER_MFE_ALLOW)
    wait_connected(driver)
    with in_terminal(driver):
        assert not driver.execute_script("return document.featurePolicy.allowsFeature('clipboard-write');")
        driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys("echo older-$((40+2))\n")
    shell_says(driver, r"^older-42$")
    with in_terminal(driver):
        driver.execute_script("""
            window.copied = [];
            window.commands = [];
            window.addEventListener("copy", function (event) {
                window.copied.push(event.clipboardData.getData("text/plain"));
            });
            var command = document.execCommand;
            document.execCommand = function (name) {
                window.commands.push(name);
                return command.apply(document, arguments);
            };
            window.hastexoLabTerminal.selectAll();
        """)
        press_copy(driver)
        wait_until(lambda: driver.execute_script("return window.copied.length;"), timeout=5, what="a copy")
        assert driver.execute_script("return window.commands;") == ["copy"]
        assert "older-42" in driver.execute_script("return window.copied[0];")


def test_the_reset_confirmation_is_a_dialog_for_the_keyboard(mfe, steady):
    driver = mfe()
    wait_connected(driver)
    with in_unit(driver):
        reset = driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-reset")
        reset.click()
        confirm = driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-confirm")
        assert confirm.is_displayed()
        assert confirm.get_attribute("role") == "alertdialog"
        assert confirm.accessible_name == "Reset lab"
        described = driver.find_element(By.ID, confirm.get_attribute("aria-describedby"))
        assert described.text.startswith("Reset your lab?")
        focused = driver.switch_to.active_element
        assert driver.execute_script("return arguments[0].contains(arguments[1]);", confirm, focused)
        assert focused.text == "Cancel"
        ActionChains(driver).send_keys(Keys.ESCAPE).perform()
        wait_until(lambda: not confirm.is_displayed(), timeout=3, what="Escape to close the confirmation")
        assert driver.switch_to.active_element == reset
    assert lab_attribute(driver, "data-phase") == "ready"


def test_the_idle_warning_takes_the_focus_and_gives_it_back(page):
    driver = page(SSH)
    # Connected: the terminal has taken the focus, as it does; the learner moves it.
    wait_until(lambda: driver.find_element(By.CSS_SELECTOR, ".hastexo-lab").get_attribute("data-terminal")
               == "connected", timeout=20, interval=0.1, what="the terminal to connect")
    reset = driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-reset")
    driver.execute_script("arguments[0].focus();", reset)
    warning = driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-idle")
    wait_until(warning.is_displayed, timeout=8, interval=0.1, what="the idle warning")
    assert warning.get_attribute("role") == "alertdialog"
    assert warning.accessible_name == driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-title").text
    assert "away" in driver.find_element(By.ID, warning.get_attribute("aria-describedby")).text
    assert driver.switch_to.active_element.get_attribute("class") == "hastexo-lab-still-here"
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    wait_until(lambda: not warning.is_displayed(), timeout=3, what="the warning to go")
    assert driver.switch_to.active_element == reset
    # Working in the terminal, then away: a key is the learner back, and the
    # focus goes back into the terminal.
    terminal = driver.find_element(By.CSS_SELECTOR, "iframe.hastexo-lab-terminal")
    driver.switch_to.frame(terminal)
    driver.find_element(By.CSS_SELECTOR, ".xterm-screen").click()
    driver.switch_to.default_content()
    wait_until(warning.is_displayed, timeout=8, interval=0.1, what="the idle warning again")
    assert driver.switch_to.active_element.get_attribute("class") == "hastexo-lab-still-here"
    ActionChains(driver).send_keys("l").perform()
    wait_until(lambda: not warning.is_displayed(), timeout=3, what="a key to end the warning")
    assert driver.switch_to.active_element == terminal


SCREEN_READER = "return [window.hastexoLabTerminal.options.screenReaderMode, " \
    "!!document.querySelector('.xterm-accessibility-tree')];"


def test_screen_reader_mode_is_a_button_away_and_remembered(mfe, steady):
    driver = mfe()
    wait_connected(driver)
    try:
        with in_terminal(driver):
            button = driver.find_element(By.CSS_SELECTOR, ".hxl-screen-reader")
            assert button.accessible_name == "Screen reader mode"
            assert button.get_attribute("aria-pressed") == "false"
            assert driver.execute_script(SCREEN_READER) == [False, False]
            driver.execute_script("arguments[0].focus();", button)
            ActionChains(driver).send_keys(Keys.ENTER).perform()
            wait_until(lambda: driver.execute_script(SCREEN_READER) == [True, True], timeout=3,
                       what="screen reader mode")
            assert button.get_attribute("aria-pressed") == "true"
            driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys("echo spoken-$((2*21))\n")
            wait_until(lambda: "spoken-42" in driver.find_element(By.CSS_SELECTOR, ".xterm-accessibility-tree")
                       .get_attribute("textContent"), timeout=10, what="the shell's answer for the screen reader")
        # The next terminal page in this browser starts with it on.
        driver.get("about:blank")
        driver = mfe()
        wait_connected(driver)
        with in_terminal(driver):
            assert driver.execute_script(SCREEN_READER) == [True, True]
            assert driver.find_element(By.CSS_SELECTOR, ".hxl-screen-reader").get_attribute("aria-pressed") == "true"
    finally:
        with in_terminal(driver):
            driver.execute_script("window.localStorage.clear();")
