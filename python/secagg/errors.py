"""The platform's errors, as the engine reports them.

Every failure of a call is a SecaggError carrying the platform's wire fields: ``error``
(the code, e.g. ``"validation_error"``), ``message`` and ``status_code``. Subclasses name
the codes, and also derive from the builtin exception a Python caller would expect
(``ValueError`` for bad values, ``TypeError`` for arrays of the wrong kind).
"""

import json


class SecaggError(Exception):
    """An error of the engine: ``error``, ``message`` and ``status_code`` as on the wire."""

    error = "internal_error"
    status_code = 500

    def __init__(self, message, error=None, status_code=None):
        super().__init__(message)
        self.message = message
        if error is not None:
            self.error = error
        if status_code is not None:
            self.status_code = status_code

    def to_dict(self):
        """The platform's JSON shape of the error."""
        return {"error": self.error, "message": self.message, "status_code": self.status_code}

    def __repr__(self):
        return f"{type(self).__name__}({self.message!r}, error={self.error!r}, status_code={self.status_code})"


class ValidationError(SecaggError, ValueError):
    """A parameter out of range, or a NaN or infinity in an update (422)."""

    error, status_code = "validation_error", 422


class BadRequestError(SecaggError, TypeError):
    """A malformed call: wrong shapes, dtypes or lengths, an output overlapping an input (400)."""

    error, status_code = "bad_request", 400


class InsufficientClientsError(SecaggError, ValueError):
    """Fewer updates than the strategy needs, e.g. Krum with n <= 2f + 2 (400)."""

    error, status_code = "insufficient_clients", 400


class ConflictError(SecaggError):
    """A conflict with the state of a round, such as a privacy budget already spent (409)."""

    error, status_code = "conflict", 409


class PayloadTooLargeError(SecaggError, ValueError):
    """More data than the engine is configured to hold (413)."""

    error, status_code = "payload_too_large", 413


_BY_CODE = {cls.error: cls for cls in (ValidationError, BadRequestError, InsufficientClientsError,
                                       ConflictError, PayloadTooLargeError)}


def from_wire(raw, status):
    """The exception for the JSON error ``raw`` (bytes) that a call returned with ``status``."""
    try:
        wire = json.loads(raw.decode("utf-8", "replace"))
        code, message = wire["error"], wire["message"]
        status = wire.get("status_code", status)
    except (ValueError, KeyError, TypeError):
        code, message = "internal_error", raw.decode("utf-8", "replace") or f"status {status}"
    return _BY_CODE.get(code, SecaggError)(message, error=code, status_code=status)
