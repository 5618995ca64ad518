"""zcbench: training-free NAS benchmark and zero-cost proxy evaluation suite.

The package is laid out in rooms with one-way imports (docs/architecture.md): the core here
(``errors``, ``types``, ``plugins``, ``paths``), then ``models``, ``spaces``, ``tables``,
``proxies``, ``engine``, then ``training``, ``search`` (with ``searchers``) and
``analysis``, then ``jobs`` and ``cli``.
"""

import importlib
import sys
import warnings
from importlib.machinery import ModuleSpec

from zcbench.errors import ArchError, DataError, UnknownNameError, ZCBenchError
from zcbench.types import Arch, Batch

__version__ = "0.1.0"

__all__ = [
    "Arch",
    "ArchError",
    "Batch",
    "DataError",
    "UnknownNameError",
    "ZCBenchError",
    "score_model",
]

#: modules that moved into a room: old ``zcbench.<name>`` -> ``zcbench.<room>.<name>``
#: (``zcbench.search``, now a package, resolves its old names itself)
MOVED_MODULES = {
    **dict.fromkeys(["executors", "modelscore", "runner", "scoring", "store"], "engine"),
    **dict.fromkeys(["oracle", "proxy_source"], "search"),
    **dict.fromkeys(
        ["anchors", "correlate", "ensembles", "fidelity", "graph_features", "predictors"]
        + ["report", "stability"],
        "analysis",
    ),
    **dict.fromkeys(
        ["benchmarks", "checks", "costs", "data", "datasets", "flops", "official", "selection"],
        "tables",
    ),
    **dict.fromkeys(["truth", "verify"], "training"),
    **dict.fromkeys(["bench", "perf", "study"], "jobs"),
}


class _MovedModules:
    """Import hook for the old paths: ``import zcbench.store`` gives the module object of
    ``zcbench.engine.store`` itself (so monkeypatching either name patches both) with a
    DeprecationWarning naming the new path. Nothing is imported until an old path is."""

    def find_spec(self, fullname: str, path: object = None, target: object = None):
        parent, _, name = fullname.rpartition(".")
        if parent != __name__ or name not in MOVED_MODULES:
            return None
        return ModuleSpec(fullname, self)

    def create_module(self, spec: ModuleSpec):
        name = spec.name.rpartition(".")[2]
        new = f"{__name__}.{MOVED_MODULES[name]}.{name}"
        warnings.warn(
            f"{spec.name} moved to {new}; import it from there", DeprecationWarning, stacklevel=2
        )
        module = importlib.import_module(new)
        spec.loader_state = module.__spec__  # the import system overwrites __spec__; restored below
        return module

    def exec_module(self, module: object) -> None:
        module.__spec__ = module.__spec__.loader_state  # type: ignore[attr-defined]


if not any(type(finder).__name__ == _MovedModules.__name__ for finder in sys.meta_path):
    sys.meta_path.insert(0, _MovedModules())


def __getattr__(name: str) -> object:
    """``zcbench.score_model`` is imported on first use: ``import zcbench`` stays light
    (the proxy registry imports every proxy module)."""
    if name == "score_model":
        from zcbench.engine.modelscore import score_model

        return score_model
    raise AttributeError(f"module 'zcbench' has no attribute {name!r}")
