"""What every ``satclip`` command shares: input errors become one line and exit status 1."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(func: F) -> F:
    """Turn the library's input errors (ValueError subclasses such as CoordinateError,
    CheckpointError, TableError; missing files; a missing optional package) into one
    ``error: ...`` line on stderr and exit status 1, with no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ValueError, FileNotFoundError, PermissionError, IsADirectoryError, ImportError) as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]
