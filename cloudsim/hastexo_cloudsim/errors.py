"""Errors the fake cloud answers with, shaped as Heat and Keystone shape theirs."""

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
