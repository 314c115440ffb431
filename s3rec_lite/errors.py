"""Errors that the command line turns into one readable message (no traceback)."""
from __future__ import annotations


class S3RecError(Exception):
    """Base class: anything the user can fix (bad file, bad option, missing data)."""


class DataFormatError(S3RecError):
    """A data file is malformed. The message names the file, the line and the problem."""

    def __init__(self, path, line: int | None, problem: str):
        self.path, self.line, self.problem = str(path), line, problem
        where = f"{path}, line {line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {problem}")


class ChecksumError(S3RecError):
    """A file's content is not the one the registry expects."""


class DataNotFoundError(S3RecError):
    """A dataset could not be found locally nor downloaded."""


class ConfigError(S3RecError):
    """An option or a combination of options makes no sense."""
