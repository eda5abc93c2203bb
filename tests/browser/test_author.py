"""What an author sees of a lab in Studio (its author view), in a real
browser: the lab's summary and a check of its template at the cloud, and no
lab started."""

import os

import pytest
from selenium.webdriver.common.by import By

from hastexo_lab.models import Stack

from ..helpers import wait_until
from ..test_block import CHECKED
from .conftest import ARTIFACTS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def author_page(request, browser, live_server, workbench, fast_browser_settings):
    def open_view(scenario):
        browser.get(f"{live_server.url}/scenario/{scenario}/author_view/?student=author")
        return browser
    yield open_view
    os.makedirs(ARTIFACTS, exist_ok=True)
    browser.save_screenshot(os.path.join(ARTIFACTS, f"{request.node.name}.png"))
    errors = [entry for entry in browser.get_log("browser")
              if entry["level"] == "SEVERE" and entry.get("source") != "network"]
    browser.get("about:blank")
    assert not errors, f"JavaScript errors: {errors}"


def test_studio_shows_the_labs_summary_checks_its_template_and_starts_nothing(author_page, cloud):
    driver = author_page(CHECKED)
    view = driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-author")
    text = view.text
    assert "Nothing is started here" in text
    for expected in ("SSH", "training", "lab.yaml", "default", "Progress checks"):
        assert expected in text, expected
    assert not driver.find_elements(By.CSS_SELECTOR, "iframe.hastexo-lab-terminal"), "no terminal in Studio"
    driver.find_element(By.CSS_SELECTOR, ".hastexo-lab-author-check").click()

    def checked():
        return driver.find_elements(By.CSS_SELECTOR, ".hastexo-lab-template-check li")
    wait_until(checked, timeout=20, what="the template check's result")
    result = checked()[0]
    assert result.get_attribute("data-ok") == "true", result.text
    assert result.text.startswith("default: Accepted")
    # Seconds later, still nothing started: no stack here or at the cloud (the
    # check's create preview, which the cloud counts with creates, makes none).
    driver.implicitly_wait(0)
    assert not Stack.objects.exists()
    assert cloud.heat.stack_count() == 0
    assert cloud.request_counts().get("create", 0) <= 1
