"""Guacamole for production: the block's blob, checked by a verifier as strict
as Guacamole's JSON authentication (tests/guacamole_fake.py), field by field."""

import time
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured

from hastexo_lab import conf
from hastexo_lab.models import Stack
from hastexo_lab.terminal import guacamole

from .guacamole_fake import FakeGuacamole, Refused, open_blob
from .helpers import wait_until
from .test_block import RDP, READ_ONLY, SSH, call
from .test_tasks import wait_ready

KEY = "4c0b569e4c96df157eee1b65dd0e4d41"
OTHER_KEY = "00112233445566778899aabbccddeeff"


def blob_of(url):
    return unquote(parse_qs(urlsplit(url).query)["data"][0]) if "data=" in url else None


def test_the_blob_is_the_extensions_format():
    doc = guacamole.document(username="alice", connection_name="Lab", protocol="ssh",
                             params={"hostname": "127.1.0.1", "port": "22", "username": "training"}, lifetime=60)
    blob = guacamole.seal(doc, guacamole.parse_key(KEY))
    assert "\n" not in blob and set(blob) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
    assert open_blob(blob, KEY) == doc
    assert doc["singleUse"] is True and doc["expires"] > time.time() * 1000
    url = guacamole.url_with_data("/guacamole/", blob)
    assert "+" not in url.split("data=")[1] and "/" not in url.split("data=")[1]
    assert blob_of(url) == blob


@pytest.mark.parametrize("spoil, reason", [
    (lambda b: b[:-8] + ("A" * 8 if not b.endswith("A" * 8) else "B" * 8), ""),  # tampered
    (lambda b: b[:40] + "\n" + b[40:], "one line"),  # wrapped, as openssl -a does
    (lambda b: b.replace("+", "-").replace("/", "_"), ""),  # the URL-safe alphabet
    (lambda b: b[:-16], ""),  # truncated
])
def test_a_spoiled_blob_is_refused(spoil, reason):
    doc = guacamole.document(username="alice", connection_name="Lab", protocol="ssh",
                             params={"hostname": "h", "port": "22"}, lifetime=60)
    blob = guacamole.seal(doc, guacamole.parse_key(KEY))
    spoiled = spoil(blob)
    if spoiled == blob:
        pytest.skip("this blob has nothing to spoil that way")
    with pytest.raises(Refused, match=reason):
        open_blob(spoiled, KEY)


def test_a_wrong_key_an_expired_blob_and_a_second_use_are_refused():
    doc = guacamole.document(username="alice", connection_name="Lab", protocol="vnc",
                             params={"hostname": "h", "port": "5901"}, lifetime=60, now=1000.0)
    blob = guacamole.seal(doc, guacamole.parse_key(KEY))
    with pytest.raises(Refused):
        open_blob(blob, OTHER_KEY, now_ms=1000_000)
    with pytest.raises(Refused, match="expired"):
        open_blob(blob, KEY, now_ms=(1000 + 61) * 1000)
    assert open_blob(blob, KEY, now_ms=(1000 + 60) * 1000)  # accepted at exactly expires, as Guacamole does
    used = set()
    open_blob(blob, KEY, now_ms=1000_000, used=used)
    with pytest.raises(Refused, match="used already"):
        open_blob(blob, KEY, now_ms=1000_000, used=used)


def test_parameters_per_protocol_are_strings_with_exact_booleans():
    ssh = guacamole.parameters(protocol="ssh", hostname="h", port=22, username="u", private_key="KEY\r\nX",
                               password="pw", read_only=True,
                               options={"color-scheme": "green-black", "font-name": "DejaVu Sans Mono",
                                        "font-size": 12})
    assert ssh == {"hostname": "h", "port": "22", "username": "u", "read-only": "true", "private-key": "KEY\nX",
                   "color-scheme": "green-black", "font-name": "DejaVu Sans Mono", "font-size": "12"}
    rdp = guacamole.parameters(protocol="rdp", hostname="h", port=None, username="u", password="pw",
                               options={"security": "nla", "ignore-cert": False, "resize-method": "reconnect",
                                        "recording-path": "/rec"})
    assert rdp["port"] == "3389" and rdp["password"] == "pw" and rdp["security"] == "nla"
    assert rdp["ignore-cert"] == "false" and rdp["resize-method"] == "reconnect"
    assert rdp["recording-path"] == "/rec" and rdp["create-recording-path"] == "true"
    assert "read-only" not in rdp
    vnc = guacamole.parameters(protocol="vnc", hostname="h", port=None, username="u", password="pw")
    assert vnc["port"] == "5901", "VNC has no default port in guacd: always send one"
    assert all(isinstance(v, str) for params in (ssh, rdp, vnc) for v in params.values())


@pytest.mark.parametrize("raw, message", [
    ({"terminal": "guacamole"}, "guacamole_secret_key'\\]: is required"),
    ({"terminal": "guacamole", "guacamole_secret_key": "not-hex"}, "32 hexadecimal digits"),
    ({"guacamole_secret_key": KEY[:-2]}, "32 hexadecimal digits"),
    ({"guacamole_rdp_security": "strong"}, "must be one of any"),
    ({"terminal_color_scheme": "pink"}, "must be one of black-white"),
    ({"terminal_font_size": 100}, "between 6 and 48"),
    ({"guacamole_api_url": "guacamole:8080"}, "http:// or https://"),
    ({"terminal": "putty"}, "must be one of builtin, guacamole"),
])
def test_bad_guacamole_settings_are_named(raw, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        conf.parse(raw)


def test_hastexo_style_font_sizes_are_taken():
    assert conf.parse({"terminal_font_size": "10"}).terminal_font_size == 10


# -- the block, with terminal: guacamole --------------------------------------

@pytest.fixture
def guac(client, workbench, workbench_settings, worker):
    lab = dict(workbench_settings.XBLOCK_SETTINGS["hastexo_lab"], terminal="guacamole",
               guacamole_secret_key=KEY, guacamole_url="https://guac.example/guacamole/",
               terminal_font_size=12)
    workbench_settings.XBLOCK_SETTINGS = {"hastexo_lab": lab}
    return client


def launch(client, scenario=SSH, student="alice"):
    call(client, scenario, "status", {"launch": True}, student=student)
    return wait_ready(Stack.objects.get(anonymous_student_id=student), timeout=15)


def url_for(client, scenario=SSH, student="alice"):
    return call(client, scenario, "terminal_ticket", {}, student=student).json()


def test_the_handler_gives_exactly_this_learners_current_connection(guac):
    stack = launch(guac)
    reply = url_for(guac)
    assert reply["url"].startswith("https://guac.example/guacamole/?data=")
    doc = open_blob(blob_of(reply["url"]), KEY)
    assert doc["username"] == "alice" and doc["singleUse"] is True
    assert 0 < doc["expires"] - time.time() * 1000 <= 60_000
    (name, connection), = doc["connections"].items()
    assert name == "SSH lab" and connection["protocol"] == "ssh"
    params = connection["parameters"]
    secrets = stack.secrets()
    assert params == {"hostname": stack.ip, "port": "22", "username": "training",
                      "private-key": secrets["private_key"], "font-size": "12"}
    # Nothing secret in clear: not in the reply, not in the page.
    assert secrets["private_key"] not in str(reply) and secrets["password"] not in str(reply)
    page = guac.get(f"/scenario/{SSH}/?student=alice").content.decode()
    assert secrets["password"] not in page and "PRIVATE" not in page
    # A fresh blob every time.
    assert url_for(guac)["url"] != reply["url"]


def test_read_only_and_the_desktop_ports_are_the_blocks(guac):
    stack = launch(guac)
    params = open_blob(blob_of(url_for(guac, READ_ONLY)["url"]), KEY)["connections"]["Watch the lab"]["parameters"]
    assert params["read-only"] == "true"
    # The learner cannot lift it: the handler takes no options at all.
    forged = call(guac, READ_ONLY, "terminal_ticket", {"read_only": False, "port": 22}).json()
    assert open_blob(blob_of(forged["url"]), KEY)["connections"]["Watch the lab"]["parameters"]["read-only"] == "true"
    desktop = open_blob(blob_of(url_for(guac, RDP)["url"]), KEY)["connections"]["Desktop lab"]
    assert desktop["protocol"] == "rdp" and desktop["parameters"]["port"] == "3389"
    assert desktop["parameters"]["password"] == stack.secrets()["password"]
    assert desktop["parameters"]["ignore-cert"] == "true" and desktop["parameters"]["security"] == "any"
    call(guac, RDP, "set_port", {"port": 22})
    switched = open_blob(blob_of(url_for(guac, RDP)["url"]), KEY)["connections"]["Desktop lab"]
    assert switched["parameters"]["port"] == "22"


def test_no_blob_for_a_lab_that_is_not_ready_or_not_the_learners(guac):
    stack = launch(guac)
    reply = url_for(guac, student="bob")
    assert reply["url"] is None and reply["phase"] == "absent"
    # A stack under alice's lab name that is not hers (never made so, but refused if it were).
    Stack.objects.filter(pk=stack.pk).update(anonymous_student_id="mallory")
    assert call(guac, SSH, "terminal_ticket", {}).status_code == 403
    Stack.objects.filter(pk=stack.pk).update(anonymous_student_id="alice")
    from hastexo_lab import api
    api.suspend(stack)
    reply = url_for(guac)
    assert reply["url"] is None and reply["phase"] in ("suspending", "suspended")


def test_after_a_reset_the_next_connection_opens_the_new_lab(guac):
    stack = launch(guac)
    before = open_blob(blob_of(url_for(guac)["url"]), KEY)["connections"]["SSH lab"]["parameters"]
    call(guac, SSH, "reset", {"confirm": True})
    # The fresh lab is launched as soon as the delete is done, without the page asking.
    wait_until(lambda: stack.log.filter(reason="relaunched after a reset").exists(), timeout=15,
               what="the relaunch")
    wait_ready(stack, timeout=15)
    after = open_blob(blob_of(url_for(guac)["url"]), KEY)["connections"]["SSH lab"]["parameters"]
    assert after["hostname"] != before["hostname"] and after["private-key"] != before["private-key"]


def test_token_exchange_keeps_the_blob_off_the_browser(guac, workbench_settings):
    """With guacamole_api_url the LMS posts the blob to Guacamole itself; the
    iframe gets a session token (which replaces any older session)."""
    from hastexo_lab.terminal.server import Background
    fake = FakeGuacamole(KEY)
    server = Background(fake, host="127.0.0.1").start()
    try:
        lab = dict(workbench_settings.XBLOCK_SETTINGS["hastexo_lab"], guacamole_api_url=f"{server.url}/guacamole/",
                   guacamole_url=f"{server.url}/guacamole/")
        workbench_settings.XBLOCK_SETTINGS = {"hastexo_lab": lab}
        stack = launch(guac)
        url = url_for(guac)["url"]
        assert "token=" in url and "data=" not in url
        import requests
        page = requests.get(url, timeout=5).text
        assert f"ssh://training@{stack.ip}:22" in page and "PRIVATE" not in page
        assert fake.seen[0]["username"] == "alice"
        # Guacamole down: a message, not a traceback.
        lab["guacamole_api_url"] = "http://127.0.0.1:9/guacamole/"
        workbench_settings.XBLOCK_SETTINGS = {"hastexo_lab": lab}
        reply = url_for(guac)
        assert reply["url"] is None and "not answering" in reply["message"]
    finally:
        server.stop()
