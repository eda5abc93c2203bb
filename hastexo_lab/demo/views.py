"""Where the terminal would be. The fake cloud has no machines to log in to,
so the demo shows what the terminal would connect to (never a secret)."""

from django.http import HttpResponse
from django.utils.html import escape

from .. import api


def terminal(request):
    stack = api.find(request.GET.get("stack", ""))
    if stack is None:
        return HttpResponse("No such lab.", status=404, content_type="text/plain")
    body = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Lab terminal</title>"
        "<style>body{background:#000;color:#ddd;font:14px monospace;padding:1em}</style></head><body>"
        f"<p>{escape(stack.name)}: {escape(stack.status)}</p>"
        f"<p>{escape(request.GET.get('protocol', 'ssh'))} to {escape(stack.ip)}:"
        f"{escape(request.GET.get('port', ''))} at provider {escape(stack.provider)}</p>"
        "<p>In production this is the Guacamole terminal; the demo's fake cloud has no machine to connect to.</p>"
        "</body></html>"
    )
    return HttpResponse(body)
