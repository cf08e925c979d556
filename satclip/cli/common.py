"""What every ``satclip`` command shares: errors become one line and exit status 1; missing extras are named."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from satclip.errors import SatCLIPError
from satclip.extras import require_extra

P = ParamSpec("P")
R = TypeVar("R")

MODEL_HELP = "Model name (satclip models: bundled, or released and downloaded) or path to a model file."

# Errors a user can fix: the library's own (SatCLIPError) and the builtin ones the library and the
# Python standard library raise for bad input (ValueError) and files (missing, unreadable, a folder).
USER_ERRORS: tuple[type[BaseException], ...] = (
    SatCLIPError,
    ValueError,
    OSError,
    ImportError,
)


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a CLI command: the errors in :data:`USER_ERRORS` become one ``error: ...`` line on stderr
    and exit status 1, with no traceback. Every satclip command goes through this (one error path)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as err:
            typer.echo(f"error: {_one_line(err)}", err=True)
            raise typer.Exit(1) from None

    return wrapper


def needs_extra(extra: str, *modules: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a CLI command that needs ``satclip[extra]``: checked before it runs (see
    :func:`satclip.extras.require_extra`), reported as one line naming the extra to install."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            require_extra(extra, *modules)
            return func(*args, **kwargs)

        return user_errors(wrapper)

    return decorate


def _one_line(err: BaseException) -> str:
    """The error's message; OS errors as 'file: reason (errno N)', e.g. for a full disk."""
    if isinstance(err, OSError) and err.strerror:
        return (f"{err.filename}: " if err.filename else "") + f"{err.strerror} (errno {err.errno})"
    return str(err) or type(err).__name__
