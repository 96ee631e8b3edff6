"""User-facing errors.

Every error a user can cause is a :class:`TickforgeError`. The CLI prints
``str(err)`` as one line and exits non-zero; it never shows a traceback for
these. Say *what* went wrong, *where* (file, line, field) and *how to fix it*.
"""

from __future__ import annotations


class TickforgeError(Exception):
    """An error caused by user input or environment, reported as one line."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file) + (f":{self.line}" if self.line is not None else ""))
        if self.field is not None:
            where.append(f"field '{self.field}'")
        text = ": ".join([", ".join(where), self.message]) if where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class DataFormatError(TickforgeError):
    """A file cannot be used at all (wrong format, unreadable, empty)."""


class LakeError(TickforgeError):
    """The lake refuses an operation (overlap, missing dataset, bad URI)."""


class ConfigError(TickforgeError):
    """A configuration value is invalid (bad parameter, unknown strategy)."""
