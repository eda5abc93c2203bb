"""Where the terminal will be. The fake cloud's machine is there (ssh to it
with the stack's key), but the terminal in the page is not yet,
so the demo shows what the terminal would connect to (never a secret)."""

from django.http import HttpResponse
from django.utils.html import escape

from .. import api


def terminal(request):
    link = api.read_terminal_link(request.GET.get("lab"))
    if link is None:
        return HttpResponse("This terminal link is not valid.", status=403, content_type="text/plain")
    stack = api.find(link["stack"])
    if stack is None:
        return HttpResponse("No such lab.", status=404, content_type="text/plain")
    mode = "read-only" if link["read_only"] else "read-write"
    body = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Lab terminal</title>"
        "<style>body{background:#000;color:#ddd;font:14px monospace;padding:1em}</style></head><body>"
        f"<p>{escape(stack.name)}: {escape(stack.status)}</p>"
        f"<p class='connection' data-protocol='{escape(link['protocol'])}' data-port='{escape(link['port'])}' "
        f"data-mode='{mode}'>{escape(link['protocol'])} to {escape(stack.ip)}:{escape(link['port'])} "
        f"at provider {escape(stack.provider)}, {mode}</p>"
        "<p>The terminal in the page is not built yet; the lab's machine is up and takes SSH logins "
        "with the stack's key.</p>"
        "</body></html>"
    )
    return HttpResponse(body)
