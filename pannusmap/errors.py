"""Errors caused by what the user asked for; the API answers them with 400 and their message."""


class UserError(Exception):
    def __init__(self, message, code="invalid_request"):
        super().__init__(message)
        self.message = message
        self.code = code
