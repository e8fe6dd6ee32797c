"""Exceptions and warnings shared by every layer (a leaf module: imports nothing of ours)."""

from __future__ import annotations


class IpafstudyError(Exception):
    """Base class: every error this package raises on purpose derives from it."""


class InvalidOptionError(IpafstudyError, ValueError):
    """An option (keyword argument, plan entry, CLI flag) has a value outside its allowed set."""


class InsufficientDataError(IpafstudyError, ValueError):
    """A statistic cannot be computed from the data given (too few observations, constant input)."""


class DataValidationError(IpafstudyError):
    """Input records broke one or more rules; ``.report`` lists every problem found."""

    def __init__(self, report: object, message: str | None = None) -> None:
        self.report = report
        super().__init__(message or "the input data did not pass validation")


class OutputExistsError(IpafstudyError):
    """The output location exists and is not empty; pass ``force`` to replace it."""


class OutputNotWritableError(IpafstudyError):
    """The output location cannot be created or written (permissions, read-only disk, a file in the way)."""


class StatisticalWarning(UserWarning):
    """A result was computed but needs care (fallback method used, assumption violated)."""


def check_option(caller: str, name: str, value: object, allowed: object) -> None:
    """Raise one uniformly worded error when ``value`` is not in ``allowed``."""
    options = list(allowed)  # type: ignore[call-overload]
    if value not in options:
        shown = sorted(map(repr, options))
        raise InvalidOptionError(
            f"{caller}(): {name}={value!r} is not valid; expected one of {', '.join(shown)}"
        )
