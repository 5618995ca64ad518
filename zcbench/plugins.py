"""Objects named by users as ``module:attribute`` (``--model my_pkg.nets:build_resnet``,
``--space my_pkg.spaces:MySpace``): imported with one-line errors for every way it can fail."""

from __future__ import annotations

import importlib
import logging
import re
from importlib import metadata

from zcbench.errors import ZCBenchError, exception_line, shown

log = logging.getLogger(__name__)

_PATH_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def is_object_path(text: str) -> bool:
    return isinstance(text, str) and bool(_PATH_RE.match(text.strip()))


def import_object(path: str, what: str) -> object:
    """Import ``module.sub:attr.sub`` and return the object; a ZCBenchError naming ``what``
    (e.g. "model factory") when the path is malformed, the module does not import (or raises
    while importing) or the attribute is missing."""
    text = str(path).strip()
    if not _PATH_RE.match(text):
        raise ZCBenchError(
            f"malformed {what} path {shown(path)}; expected 'module:attribute', "
            "e.g. 'my_pkg.nets:build_resnet'"
        )
    module_name, attr = text.split(":")
    try:
        obj: object = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ZCBenchError(
            f"cannot import {what} {text!r}: {exc} (is the package installed or on PYTHONPATH?)"
        ) from None
    except Exception as exc:  # the user's module raised while importing
        raise ZCBenchError(
            f"cannot import {what} {text!r}: importing {module_name} raised {exception_line(exc)}"
        ) from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ZCBenchError(f"cannot import {what} {text!r}: {module_name} has no {attr!r}")
        obj = getattr(obj, part)
    return obj


def load_entry_points(group: str, what: str) -> list[object]:
    """Load every entry point of ``group`` (importing a module runs its registrations) and
    return what loaded; a broken plugin is a warning naming it (``what``: "proxy plugin"),
    never a failure of the built-in parts."""
    loaded = []
    for ep in metadata.entry_points(group=group):
        try:
            loaded.append(ep.load())
        except Exception as exc:
            log.warning("could not load %s %s: %s", what, ep.name, exc)
    return loaded
