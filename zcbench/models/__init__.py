"""Network builders that reproduce the benchmarks' official PyTorch models."""

from zcbench.models.cells import CELL_OPS, InferCell, ResNetBasicblock
from zcbench.models.networks import TinyNetwork, nb201_network

__all__ = ["CELL_OPS", "InferCell", "ResNetBasicblock", "TinyNetwork", "nb201_network"]
