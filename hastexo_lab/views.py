"""The LMS side's HTTP views outside the block: the metrics endpoint."""

import hmac

from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import conf, metrics


@never_cache
@require_GET
def metrics_view(request):
    """Prometheus' scrape: what this host's LMS processes counted, and the
    stacks by status and provider from the database. Needs the bearer token
    ``metrics_token``; without one set, there is no endpoint."""
    token = conf.get_settings().metrics_token
    if not token:
        return HttpResponse("metrics are off: set metrics_token\n", status=404, content_type="text/plain")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("a bearer token is needed\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="hastexo_lab metrics"'
        return response
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
