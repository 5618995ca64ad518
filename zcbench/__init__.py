"""zcbench: training-free NAS benchmark and zero-cost proxy evaluation suite."""

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


def __getattr__(name: str) -> object:
    """``zcbench.score_model`` is imported on first use: ``import zcbench`` stays light
    (the proxy registry imports every proxy module)."""
    if name == "score_model":
        from zcbench.engine.modelscore import score_model

        return score_model
    raise AttributeError(f"module 'zcbench' has no attribute {name!r}")
