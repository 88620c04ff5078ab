"""Errors caused by the user's request. The API returns them as 400 with their message."""


class UserError(Exception):
    def __init__(self, message, code="invalid_request"):
        super().__init__(message)
        self.message = message
        self.code = code
