"""A real headless Chromium (Debian's chromium and chromium-driver) driving the
workbench, with a real Celery worker and the fake clouds behind it."""

import os
import shutil

import pytest

from ..helpers import ROOT

CHROMIUM = os.environ.get("HASTEXO_LAB_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("HASTEXO_LAB_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = os.path.join(ROOT, "test-artifacts")


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        message = f"browser tests need {CHROMIUM} and {CHROMEDRIVER} (Debian: chromium, chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,1024"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def fast_browser_settings(workbench_settings, gateway, live_server):
    """Browser timings short enough for tests (keepalive 1 s, idle 4 s), and
    the terminal gateway on a port of its own (another origin than the
    workbench's, on the same host, as where it is not behind the LMS's proxy)."""
    lab = dict(workbench_settings.XBLOCK_SETTINGS["hastexo_lab"])
    lab["js_timeouts"] = {"status": 2000, "keepalive": 1000, "idle": 4000, "check": 1000}
    lab["terminal_url"] = f"{gateway.origin}/hastexo-lab-terminal/"
    lab["terminal_frame_ancestors"] = [live_server.url]
    gateway.app.frame_ancestors = (live_server.url,)
    workbench_settings.XBLOCK_SETTINGS = {"hastexo_lab": lab}
    return workbench_settings


@pytest.fixture
def page(request, browser, live_server, worker, workbench, fast_browser_settings):
    """Open a scenario as a learner; saves a screenshot when the test ends."""
    opened = {}

    def open_scenario(scenario, student="alice"):
        browser.get(f"{live_server.url}/scenario/{scenario}/?student={student}")
        opened["name"] = scenario
        return browser

    yield open_scenario
    os.makedirs(ARTIFACTS, exist_ok=True)
    browser.save_screenshot(os.path.join(ARTIFACTS, f"{request.node.name}.png"))
    # JavaScript errors fail the test; failed requests are the tests' business.
    errors = [entry for entry in browser.get_log("browser")
              if entry["level"] == "SEVERE" and entry.get("source") != "network"]
    browser.get("about:blank")
    assert not errors, f"JavaScript errors: {errors}"
