"""The errors `bridge serve` answers with, in AWS's shape."""

from __future__ import annotations


class ApiError(Exception):
    """An error the client gets as `{"__type": code, "message": ...}` with `status`."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)
