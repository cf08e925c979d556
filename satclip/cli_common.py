"""What every ``satclip`` command shares: input errors become one line and exit status 1."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(func: F) -> F:
    """Turn the library's input errors (ValueError subclasses such as CoordinateError,
    CheckpointError, TableError; missing or unwritable files, a full disk and other OS errors;
    a missing optional package) into one ``error: ...`` line on stderr and exit status 1, with no
    traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ValueError, OSError, ImportError) as err:
            typer.echo(f"error: {_one_line(err)}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _one_line(err: BaseException) -> str:
    """The error's message; OS errors as 'file: reason (errno N)', e.g. for a full disk."""
    if isinstance(err, OSError) and err.strerror:
        return (f"{err.filename}: " if err.filename else "") + f"{err.strerror} (errno {err.errno})"
    return str(err) or type(err).__name__
