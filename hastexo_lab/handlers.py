"""How the lab block's handlers take requests.

The LMS's handler view is exempt from Django's CSRF check, and its session
cookie may be ``SameSite=None``: any web page can make a learner's browser
POST to a handler. A cross-site form can only send form, multipart or plain
text bodies; a script of another site that sends ``application/json`` must
first pass a CORS preflight, which the LMS does not grant. So every
state-changing handler takes only an ``application/json`` body, as the
block's own pages send it.

Bodies are small JSON objects: a body over ``MAX_BODY`` bytes, JSON nested
deeper than ``MAX_DEPTH``, or anything but an object is a clear 4xx, never a
traceback.
"""

import functools
import json

from webob import Response
from xblock.core import XBlock
from xblock.exceptions import JsonHandlerError

MAX_BODY = 64 * 1024
MAX_DEPTH = 32


def _error(status, message, **headers):
    response = Response(status=status, content_type="application/json", charset="utf-8",
                        body=json.dumps({"error": message}).encode())
    for name, value in headers.items():
        response.headers[name] = value
    return response


def _too_deep(value, depth=0):
    if depth > MAX_DEPTH:
        return True
    if isinstance(value, dict):
        return any(_too_deep(item, depth + 1) for item in value.values())
    if isinstance(value, list):
        return any(_too_deep(item, depth + 1) for item in value)
    return False


def read_json(request, any_content_type=False):
    """The request's JSON object, or the error response that says what is wrong."""
    if request.method != "POST":
        return None, _error(405, "this handler takes a POST", Allow="POST")
    if not any_content_type and request.content_type != "application/json":
        return None, _error(415, "this handler takes an application/json body")
    body = request.body
    if len(body) > MAX_BODY:
        return None, _error(413, f"the request body is over {MAX_BODY // 1024} KiB")
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, _error(400, "the request body is not valid JSON")
    if _too_deep(data):
        return None, _error(400, f"the request body is nested deeper than {MAX_DEPTH} levels")
    if not isinstance(data, dict):
        return None, _error(400, "the request body must be a JSON object")
    return data, None


def json_handler(func=None, *, any_content_type=False):
    """Like XBlock's json_handler, but JSON bodies only (see above), and
    every refusal a clear 4xx. ``any_content_type`` is for a handler that
    another's script calls without the header (Studio's editor saves so)."""
    if func is None:
        return functools.partial(json_handler, any_content_type=any_content_type)

    @XBlock.handler
    @functools.wraps(func)
    def wrapper(self, request, suffix=""):
        data, error = read_json(request, any_content_type)
        if error is not None:
            return error
        try:
            reply = func(self, data, suffix)
        except JsonHandlerError as err:
            return err.get_response()
        if isinstance(reply, Response):
            return reply
        return Response(json.dumps(reply), content_type="application/json", charset="utf-8")
    return wrapper
