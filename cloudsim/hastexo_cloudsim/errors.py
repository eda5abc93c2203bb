"""Errors the fake cloud answers with, shaped as Heat and Keystone shape theirs."""

import math
import re
from http import HTTPStatus


class ApiError(Exception):
    """An error reply: HTTP status, an error type name and a human message."""

    def __init__(self, status, error_type, message):
        super().__init__(message)
        self.status = int(status)
        self.error_type = error_type
        self.message = message

    def heat_body(self):
        """The JSON body Heat sends, which heatclient turns into its exceptions."""
        phrase = HTTPStatus(self.status).phrase
        return {
            "explanation": phrase,
            "code": self.status,
            "title": phrase,
            "error": {"message": self.message, "type": self.error_type, "traceback": None},
        }

    def keystone_body(self):
        """The JSON body Keystone sends."""
        return {
            "error": {
                "code": self.status,
                "title": HTTPStatus(self.status).phrase,
                "message": self.message,
            }
        }


def bad_request(message, error_type="StackValidationFailed"):
    return ApiError(400, error_type, message)


def not_found(message, error_type="EntityNotFound"):
    return ApiError(404, error_type, message)


def conflict(message, error_type="Conflict"):
    return ApiError(409, error_type, message)


def unauthorized(message="The request you have made requires authentication."):
    return ApiError(401, "Unauthorized", message)


# -- query and body values, checked as Heat's param_utils checks them ----------

def extract_bool(name, value):
    if isinstance(value, bool):
        return value
    if str(value).lower() not in ("true", "false"):
        raise bad_request(f'Unrecognized value "{value}" for "{name}", acceptable values are: true, false.',
                          "HTTPBadRequest")
    return str(value).lower() == "true"


def extract_int(name, value, allow_zero=True, allow_negative=False):
    if value is None:
        return None
    if isinstance(value, bool) or not int_like(value):
        raise bad_request(f"Only integer is acceptable by '{name}'.", "HTTPBadRequest")
    result = int(value)
    if result == 0 and not allow_zero:
        raise bad_request(f"Only non-zero integer is acceptable by '{name}'.", "HTTPBadRequest")
    if result < 0 and not allow_negative:
        raise bad_request(f"Value '{value}' is invalid for '{name}' which only accepts non-negative integer.",
                          "HTTPBadRequest")
    return result


def int_like(value):
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value) and value == int(value)
    text = str(value).strip()
    return bool(re.fullmatch(r"[-+]?\d{1,18}", text))
