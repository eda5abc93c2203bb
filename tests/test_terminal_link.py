"""The terminal link is the server's word: which stack, port and protocol,
read-only or not. A link the browser changed, or made up, opens nothing."""

import pytest
from django.test import RequestFactory

from hastexo_lab import api
from hastexo_lab import lifecycle as lc
from hastexo_lab.demo.views import terminal

from .factories import make_stack
from .helpers import terminal_of

pytestmark = pytest.mark.django_db


def open_terminal(url):
    return terminal(RequestFactory().get(url))


def test_the_terminal_shows_what_the_block_decided():
    stack = make_stack(lc.CREATE_COMPLETE, ip="127.0.0.7")
    url = api.terminal_link("/terminal/", stack.name, port=3389, protocol="rdp", read_only=True)
    assert terminal_of(url) == {"stack": stack.name, "port": 3389, "protocol": "rdp", "read_only": True}
    page = open_terminal(url).content.decode()
    assert "data-mode='read-only'" in page and "data-port='3389'" in page and "data-protocol='rdp'" in page
    # Query parameters the browser adds are not read.
    page = open_terminal(url + "&read_only=0&port=22&stack=other").content.decode()
    assert "data-mode='read-only'" in page and "data-port='3389'" in page


@pytest.mark.parametrize("tamper", [
    lambda url: url.replace("lab=", "lab=x"),
    lambda url: url[:-3] + "abc",
    lambda url: "/terminal/?stack=hxl-test-1&port=22&protocol=ssh&read_only=0",
    lambda url: "/terminal/",
])
def test_a_changed_or_made_up_link_opens_nothing(tamper):
    stack = make_stack(lc.CREATE_COMPLETE)
    url = api.terminal_link("/terminal/", stack.name, port=22, protocol="ssh", read_only=True)
    response = open_terminal(tamper(url))
    assert response.status_code == 403
    assert stack.name not in response.content.decode()


def test_the_same_lab_gives_the_same_link():
    """The page reconnects the terminal only when the link changes."""
    first = api.terminal_link("/t/", "hxl-a", port=22, protocol="ssh", read_only=False)
    assert api.terminal_link("/t/", "hxl-a", port=22, protocol="ssh", read_only=False) == first
    assert api.terminal_link("/t/", "hxl-a", port=22, protocol="ssh", read_only=True) != first
