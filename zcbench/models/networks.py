"""The macro skeletons of NAS-Bench-201 (``TinyNetwork``) and NATS-Bench size
(``DynamicShapeTinyNet``), following the authors' definitions.

Both are: 3x3 conv stem + BN, then three stages of cells separated by residual reduction
blocks, then BN + ReLU, global average pooling and a linear classifier. They are the same
class here: ``channels`` gives one width per layer (cells and reduction blocks alike).

One departure, for usability: the official ``forward`` returns ``(features, logits)``; ours
returns the logits, and :meth:`forward_features` returns both. Module names match the
official ones, so official state dicts load unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from zcbench.models.cells import InferCell, ResNetBasicblock

CellNodes = Sequence[Sequence[tuple[str, int]]]


class TinyNetwork(nn.Module):
    """Cell network with per-layer widths ``channels`` (length 3N+2: N cells per stage)."""

    def __init__(self, channels: Sequence[int], nodes: CellNodes, num_classes: int) -> None:
        super().__init__()
        if len(channels) % 3 != 2:
            raise ValueError(f"invalid number of layers {len(channels)}; expected 3N+2")
        n = len(channels) // 3
        self.channels = tuple(int(c) for c in channels)
        reductions = [False] * n + [True] + [False] * n + [True] + [False] * n
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels[0], kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(channels[0]),
        )
        self.cells = nn.ModuleList()
        c_prev = channels[0]
        for c_curr, reduction in zip(channels, reductions):
            if reduction:
                cell: nn.Module = ResNetBasicblock(c_prev, c_curr, 2)
            else:
                cell = InferCell(nodes, c_prev, c_curr, 1)
            self.cells.append(cell)
            c_prev = c_curr
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def feature_stages(self) -> list[nn.Module]:
        """The stem and every cell, whose outputs are the stage feature maps AZ-NAS reads (the
        authors' ``extract_cell_features``)."""
        return [self.stem, *self.cells]

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(pooled features, logits)`` like the official forward."""
        feature = self.stem(x)
        for cell in self.cells:
            feature = cell(feature)
        out = self.global_pooling(self.lastact(feature)).flatten(1)
        return out, self.classifier(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[1]


def nb201_network(nodes: CellNodes, num_classes: int, c: int = 16, n: int = 5) -> TinyNetwork:
    """NAS-Bench-201 / NATS-tss: C=16, N=5 (3 stages of 5 cells, widths 16/32/64)."""
    channels = [c] * n + [2 * c] + [2 * c] * n + [4 * c] + [4 * c] * n
    return TinyNetwork(channels, nodes, num_classes)
