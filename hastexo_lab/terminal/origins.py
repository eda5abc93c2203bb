"""Which pages may open the terminal's WebSocket.

Any web page can open a WebSocket to any host; the browser says whose page
it is in the Origin header, and sends the gateway's cookie with it. So the
gateway takes only the origins the settings name: ``terminal_url``'s where it
is absolute, the ``terminal_frame_ancestors`` (the LMS's), and its own page.

"Its own page" cannot mean any origin that matches the Host header: with
DNS rebinding a stranger's name (evil.example) is made to resolve to the
gateway's address, and the stranger's page then sends Origin
http://evil.example with Host evil.example. The page's own origin counts
only with a host no stranger can point at the gateway: an IP address,
``localhost``, or a host the Django settings allow (ALLOWED_HOSTS, a "*"
there allows nothing here).
"""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host


def origin_of(url):
    """``scheme://host[:port]`` of an absolute http(s) URL, else None."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def refusal(headers, scope, configured):
    """Why a WebSocket with these handshake ``headers`` may not open, or
    None if its page is one of ours. ``configured``: the origins the
    settings name."""
    origin = (headers.get("origin") or "").rstrip("/").lower()
    if not origin:
        return "it has no Origin"
    if origin in {allowed.rstrip("/").lower() for allowed in configured}:
        return None
    host = (headers.get("host") or "").lower()
    if origin not in _own_origins(host, scope, headers):
        return f"origin {origin} is neither the gateway's page nor in terminal_frame_ancestors"
    name = urlsplit(origin).hostname or ""
    if not _trusted_host(name, host):
        return (f"origin {origin} is the page's own, but the settings do not name host {name} (a DNS rebinding "
                "page looks like this): make terminal_url absolute, or name the host in ALLOWED_HOSTS")
    return None


def _own_origins(host, scope, headers):
    if not host:
        return set()
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "ws"), "http")
    forwarded = headers.get("x-forwarded-proto")
    schemes = {scheme, forwarded} if forwarded in ("http", "https") else {scheme}
    return {f"{s}://{host}" for s in schemes}


def _trusted_host(name, host):
    if name == "localhost" or name.endswith(".localhost"):
        return True  # browsers resolve these to loopback themselves
    try:
        ipaddress.ip_address(name)
        return True  # nothing to rebind: the browser was pointed at the address itself
    except ValueError:
        pass
    return _allowed_by_django(host)


def _allowed_by_django(host):
    allowed = [pattern for pattern in getattr(settings, "ALLOWED_HOSTS", ()) if pattern != "*"]
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)
