"""The terminal's browser key cookie. The learning MFE shows the LMS's page in
a frame, maybe from another site: over HTTPS the cookie must go there
(SameSite=None) and stay in that top-level site's jar (Partitioned); over
plain HTTP browsers allow neither, so it stays Strict. Either way a ticket
opens nothing without the browser key it was minted for, and only once."""

import json

import pytest
from websockets.sync.client import connect

from hastexo_lab.models import Stack
from hastexo_lab.terminal import tickets

from .test_tasks import wait_ready

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "k" * 43
OTHER_KEY = "o" * 43


def parse_set_cookie(header):
    """(name, value, {attribute: value}) of one Set-Cookie header, attribute
    names lower-cased. By hand: http.cookies knows no Partitioned."""
    first, *rest = [part.strip() for part in header.split(";")]
    name, _, value = first.partition("=")
    attributes = {}
    for part in rest:
        key, _, attribute_value = part.partition("=")
        attributes[key.lower()] = attribute_value
    return name, value, attributes


@pytest.fixture
def ready_lab(client, workbench, workbench_settings, worker):
    from .test_block import SSH, call
    call(client, SSH, "status", {"launch": True})
    return wait_ready(Stack.objects.get(), timeout=15)


def ask_for_ticket(client, *, https, cookie=None, **headers):
    """The lab page's POST to the block's terminal_ticket handler."""
    from .test_block import SSH, usage_id
    url = f"/handler/{usage_id(client, SSH)}/terminal_ticket/?student=alice"
    if cookie:
        client.cookies[tickets.BROWSER_COOKIE] = cookie
    response = client.post(url, "{}", content_type="application/json", secure=https, **headers)
    assert response.status_code == 200, response.content
    return response


def test_over_https_the_cookie_goes_into_the_mfes_frame_and_stays_in_its_jar(ready_lab, client):
    response = ask_for_ticket(client, https=True)
    name, key, attributes = parse_set_cookie(response["Set-Cookie"])
    assert name == tickets.BROWSER_COOKIE and tickets.valid_browser_key(key)
    assert attributes == {"path": "/", "httponly": "", "secure": "", "samesite": "None", "partitioned": ""}
    grant = tickets.redeem(response.json()["ticket"], key)
    assert grant.stack_name == ready_lab.name


def test_behind_a_proxy_that_ends_tls_it_is_https_too(ready_lab, client):
    response = ask_for_ticket(client, https=False, HTTP_X_FORWARDED_PROTO="https")
    _, _, attributes = parse_set_cookie(response["Set-Cookie"])
    assert attributes["samesite"] == "None" and "secure" in attributes and "partitioned" in attributes


def test_over_http_the_cookie_stays_strict(ready_lab, client):
    response = ask_for_ticket(client, https=False)
    name, key, attributes = parse_set_cookie(response["Set-Cookie"])
    assert name == tickets.BROWSER_COOKIE and tickets.valid_browser_key(key)
    # Browsers drop a SameSite=None cookie that is not Secure, and Secure ones over HTTP.
    assert attributes == {"path": "/", "httponly": "", "samesite": "Strict"}


@pytest.mark.parametrize("https", [True, False])
def test_a_browser_that_has_its_key_keeps_it(ready_lab, client, https):
    response = ask_for_ticket(client, https=https, cookie=KEY)
    assert not response.has_header("Set-Cookie")
    assert tickets.redeem(response.json()["ticket"], KEY).stack_name == ready_lab.name


@pytest.mark.parametrize("https", [True, False])
def test_a_ticket_without_its_browser_key_opens_nothing_and_opens_once(ready_lab, client, https):
    ticket = ask_for_ticket(client, https=https, cookie=KEY).json()["ticket"]
    for presented in (OTHER_KEY, "", [], [OTHER_KEY], ["not a key", OTHER_KEY]):
        with pytest.raises(tickets.TicketRefused) as refused:
            tickets.redeem(ticket, presented)
        assert refused.value.message == tickets.NOT_VALID
    assert tickets.redeem(ticket, [OTHER_KEY, KEY]).stack_name == ready_lab.name
    with pytest.raises(tickets.TicketRefused) as refused:
        tickets.redeem(ticket, KEY)
    assert refused.value.message == tickets.USED


def test_the_cookie_holds_nothing_but_a_key():
    with pytest.raises(ValueError):
        tickets.browser_cookie(KEY + "; Domain=example.com", https=True)
    with pytest.raises(ValueError):
        tickets.browser_cookie("", https=False)


def test_every_browser_key_in_a_cookie_header_is_found():
    name = tickets.BROWSER_COOKIE
    header = f'a=b; broken"[; {name}={KEY}; sessionid="x,y"; {name}="{OTHER_KEY}"; {name}={KEY}; {name}=short'
    assert tickets.browser_keys(header) == [KEY, OTHER_KEY]
    assert tickets.browser_keys("") == [] and tickets.browser_keys(None) == []


def open_terminal(gateway, ticket, cookie_headers):
    """The gateway's first answer to a ticket, the browser sending these Cookie headers."""
    headers = [("Cookie", value) for value in cookie_headers]
    with connect(f"ws://localhost:{gateway.port}/hastexo-lab-terminal/ws", origin=gateway.origin,
                 additional_headers=headers, open_timeout=5) as ws:
        ws.send(json.dumps({"ticket": ticket, "cols": 80, "rows": 24}))
        while True:
            message = ws.recv(timeout=10)
            if isinstance(message, str):
                return json.loads(message)


def test_the_gateway_takes_the_key_among_the_browsers_cookies(ready_lab, client, gateway):
    name = tickets.BROWSER_COOKIE
    ticket = ask_for_ticket(client, https=True, cookie=KEY).json()["ticket"]
    assert open_terminal(gateway, ticket, [f"{name}={OTHER_KEY}"])["type"] == "refused"
    assert open_terminal(gateway, ticket, [])["type"] == "refused"
    # Behind another site's cookie that a strict parser stops at (JSON, unquoted), and with a second
    # cookie of the same name (a partitioned and an older one) in a header of its own (HTTP/2).
    headers = [f'csrftoken=x; prefs={{"a":1}}; {name}={KEY}', f"{name}={OTHER_KEY}"]
    assert open_terminal(gateway, ticket, headers)["type"] == "ready"
    assert open_terminal(gateway, ticket, [f"{name}={KEY}"]) == {"type": "refused", "message": tickets.USED}
