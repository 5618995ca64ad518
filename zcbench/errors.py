"""User-facing errors.

Every error a user can cause (bad architecture strings, unknown names, missing or corrupt data
files) is a :class:`ZCBenchError` whose message is one line naming the problem and the expected
form. The CLI prints that line and exits non-zero; library callers catch the subclasses.
"""

from __future__ import annotations


class ZCBenchError(Exception):
    """Base class of errors caused by input; the message is one self-contained line."""


class ArchError(ZCBenchError, ValueError):
    """A malformed architecture string, an unknown operation or an index out of range."""


class UnknownNameError(ZCBenchError, KeyError):
    """An unknown search space, dataset, metric or other registered name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DataError(ZCBenchError, OSError):
    """A benchmark data file is missing, unreadable or does not have the expected content."""


#: how many characters of a user's input an error message repeats
SHOWN = 60


def shown(text: object, limit: int = SHOWN) -> str:
    """``text`` quoted for a one-line error message, cut to ``limit`` characters (a pasted
    3,000-character string must not become a 3,000-character error)."""
    s = text if isinstance(text, str) else repr(text)
    if len(s) <= limit:
        return repr(s) if isinstance(text, str) else s
    return f"{s[:limit]!r}... ({len(s):,} characters)"


def exception_line(exc: BaseException, limit: int | None = None) -> str:
    """``Type: first line of the message`` (cut to ``limit`` characters): how an exception
    from user code or a library reads in a one-line error or a recorded failure."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    text = f"{type(exc).__name__}: {first}".strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def unknown(kind: str, name: object, known: list[str] | tuple[str, ...]) -> UnknownNameError:
    """Build the standard 'unknown X' error listing the accepted names."""
    return UnknownNameError(f"unknown {kind} {shown(name)}; expected one of: {', '.join(known)}")
