"""The gateway's terminal page in Chromium: it talks only with lab pages
(a page of another origin that opens it, in a window of its own, since its
frame-ancestors policy forbids framing it, hears nothing from it, and what
it sends the page ignores; a page of an origin the gateway names as a lab
page's is heard, so the test can tell), and it sends a paste in parts the
gateway takes."""

import time
from html import escape

import pytest
from selenium.webdriver.common.by import By

from ..helpers import wait_until
from ..test_block import SSH
from ..test_terminal import run_on_lab
from .pages import site
from .test_lab import in_terminal, type_in_terminal, wait_for_terminal, wait_ready

pytestmark = pytest.mark.django_db(transaction=True)

STRANGER_WORDS = "Your session has expired: sign in again at the stranger's site"

# Opens the terminal with a click; keeps every message it gets; tells the
# terminal what a lab page would, five times a second (a ticket too, if asked).
OPENER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Another site</title></head>
<body>
<button id="open" type="button">Open the terminal</button>
<script>
  window.seen = [];
  window.addEventListener("message", function (event) {{
    window.seen.push({{origin: event.origin, data: event.data}});
  }});
  document.getElementById("open").addEventListener("click", function () {{
    window.terminal = window.open("{src}", "terminal");
  }});
  setInterval(function () {{
    if (!window.terminal) {{ return; }}
    window.terminal.postMessage({{type: "hastexo-lab:no-ticket", message: "{words}", final: true}}, "*");
    if ({with_ticket}) {{ window.terminal.postMessage({{type: "hastexo-lab:ticket", ticket: "{ticket}"}}, "*"); }}
  }}, 200);
</script>
</body></html>
"""


def opener_page(query):
    return OPENER.format(src=escape(query["src"][0]), words=STRANGER_WORDS, ticket="t" * 43,
                         with_ticket="true" if query.get("ticket") else "false")


@pytest.fixture
def stranger():
    """A site of its own origin (another host name and port than the gateway's)."""
    with site({"/opener": opener_page}) as origin:
        yield origin


def open_terminal_from(browser, page, terminal_url, ticket=False):
    """The page, then the terminal in a window it opens; returns the handles."""
    from urllib.parse import urlencode
    query = {"src": terminal_url, **({"ticket": "1"} if ticket else {})}
    browser.get(f"{page}/opener?{urlencode(query)}")
    opener = browser.current_window_handle
    browser.find_element(By.ID, "open").click()
    wait_until(lambda: len(browser.window_handles) == 2, timeout=5, what="the terminal's window")
    popup = next(handle for handle in browser.window_handles if handle != opener)
    return opener, popup


def terminal_state(browser):
    return (browser.find_element(By.TAG_NAME, "body").get_attribute("data-state"),
            browser.find_element(By.CSS_SELECTOR, ".hxl-state").text)


def test_a_page_of_another_origin_that_opens_the_terminal_hears_nothing_and_is_not_heard(browser, gateway,
                                                                                        stranger):
    terminal_url = f"{gateway.origin}/hastexo-lab-terminal/"
    opener, popup = open_terminal_from(browser, stranger, terminal_url, ticket=True)
    try:
        browser.switch_to.window(popup)
        wait_until(lambda: terminal_state(browser)[0], timeout=10, what="the terminal page")
        # It asks for a ticket at once and every three seconds.
        time.sleep(4)
        assert terminal_state(browser) == ("connecting", "Connecting...")
        assert not gateway.app.admission.sockets, "a stranger's ticket opened a socket"
        browser.switch_to.window(opener)
        assert browser.execute_script("return window.seen;") == []
    finally:
        browser.switch_to.window(popup)
        browser.close()
        browser.switch_to.window(opener)

    # The same page, as a lab page the gateway names: heard both ways.
    gateway.app.frame_ancestors = (stranger,)
    opener, popup = open_terminal_from(browser, stranger, terminal_url)
    try:
        wait_until(lambda: any(m["data"].get("type") == "hastexo-lab:need-ticket"
                               for m in browser.execute_script("return window.seen;")),
                   timeout=10, what="the terminal to ask the lab page for a ticket")
        assert {m["origin"] for m in browser.execute_script("return window.seen;")} == {gateway.origin}
        browser.switch_to.window(popup)
        wait_until(lambda: terminal_state(browser) == ("error", STRANGER_WORDS), timeout=10,
                   what="the lab page's words to show")
    finally:
        browser.switch_to.window(popup)
        browser.close()
        browser.switch_to.window(opener)
        browser.get("about:blank")


def paste(driver, text):
    """What xterm does with the browser's paste (without the clipboard)."""
    in_terminal(driver, lambda: driver.execute_script("window.hastexoLabTerminal.paste(arguments[0]);", text))


def test_a_paste_of_moderate_size_reaches_the_lab_and_a_huge_one_is_not_sent(page):
    from hastexo_lab.models import Stack
    from hastexo_lab.terminal.limits import MAX_PASTE
    driver = page(SSH)
    wait_ready(driver)
    wait_for_terminal(driver)
    type_in_terminal(driver, "stty -echo; cat > pasted.txt\n")
    time.sleep(0.5)
    # 3 times the largest message the gateway takes, in lines a terminal takes.
    lines = [f"{n:05d} " + "x" * 94 for n in range(2000)]
    paste(driver, "\n".join(lines) + "\n")
    stack = Stack.objects.get()
    wait_until(lambda: run_on_lab(stack, "wc -c < pasted.txt").strip() == str(2000 * 101), timeout=20,
               interval=0.5, what="the whole paste in the lab's file")
    type_in_terminal(driver, "\x04")
    assert run_on_lab(stack, "tail -n 1 pasted.txt").strip() == lines[-1]
    paste(driver, "y" * (MAX_PASTE + 1))

    def told():
        return in_terminal(driver, lambda: driver.find_element(By.CSS_SELECTOR, ".hxl-state").text)
    wait_until(lambda: told() == "That paste is too large (1024 KB at most).", timeout=5, what="the notice")
    assert in_terminal(driver, lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-state")) \
        == "connected"
