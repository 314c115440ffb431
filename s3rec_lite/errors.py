"""Errors that the command line turns into one readable message (no traceback)."""
from __future__ import annotations

import errno
import sys


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


class TrainingFault(S3RecError):
    """A run went wrong (its loss or scores became NaN or infinite, or a runner's worker failed): not bad input,
    so the exit status is 1."""


def os_cause(exc: BaseException) -> OSError | None:
    """The OSError an exception is, or was caused by (torch wraps a full disk in a RuntimeError), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OSError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def guarded(fn) -> int:
    """Run ``fn()`` and turn what can go wrong into one line on stderr and an exit status: 2 for bad input (a
    file, a field or a value, named), 1 for a fault of the run or the machine (a diverged model, a full disk)."""
    try:
        return fn()
    except TrainingFault as exc:  # the run went wrong, not the input
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except S3RecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again (same --out) to resume", file=sys.stderr)
        return 130
    except Exception as exc:
        cause = os_cause(exc)
        if cause is None:
            raise  # a bug: the traceback is what a report needs
        where = f"{cause.filename}: " if getattr(cause, "filename", None) else ""
        hint = " (free some space, then run the same command again: it resumes)" if cause.errno == errno.ENOSPC else ""
        print(f"error: {where}{cause.strerror or cause}{hint}", file=sys.stderr)
        return 1
