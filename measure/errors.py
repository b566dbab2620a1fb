"""Errors a user can act on. The CLI prints these without a traceback."""
from __future__ import annotations


class EnsembleFitError(Exception):
    """Base class for every error the CLI reports as a one-line message."""


class InputError(EnsembleFitError):
    """A problem in an input file, located by file, line and field.

    `line` is 1-based; None when the problem concerns the whole file.
    """

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.message = message
        self.file = None if file is None else str(file)
        self.line = line
        self.field = field
        super().__init__(str(self))

    @property
    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        if self.field:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts)

    @property
    def reason(self) -> str:
        """Short category used to count skipped records under --on-error skip."""
        return self.message.split(":")[0]

    def __str__(self) -> str:
        loc = self.location
        return f"{loc}: {self.message}" if loc else self.message


class ConfigError(EnsembleFitError):
    """A bad option, config file or metadata file."""
