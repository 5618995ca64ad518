"""An example user search space: ResNet-style macro architectures for CIFAR-sized images.

It is written exactly as a user would write their own space, against the public contract
(:mod:`zcbench.spaces.base`), and reaches zcbench as a plug-in: through the
``zcbench.spaces`` entry point of this package (``--space resnet-macro``) or by its class path
(``--space zcbench.examples.resnet_space:ResNetMacroSpace``). It has no tabulated benchmark:
its ground truth is measured by training (``zcbench verify`` / ``zcbench study``).

The network: a 3x3 stem (16 channels, BN, ReLU) at the input's 32x32, three stages at 16x16,
8x8 and 4x4 (the first block of every stage has stride 2, which keeps the networks cheap
enough to train a sample of them on a CPU), global average pooling and a linear classifier.
A stage is ``depth`` residual basic blocks (conv k x k, BN, activation, conv k x k, BN, plus
the shortcut, a 1x1 conv + BN where the shape changes, then the activation), and each stage
chooses, independently:

=========== =====================================================
depth       1, 2 or 3 blocks
width       stage 1: 8 / 16 / 24, stage 2: 16 / 32 / 48, stage 3: 32 / 64 / 96 channels
kernel      3 or 5
activation  ReLU or SiLU
=========== =====================================================

36 choices per stage, 36^3 = 46,656 architectures, written stage by stage as
``d2-w16-k3-relu|d1-w32-k5-silu|d3-w64-k3-relu``; the index is the mixed-radix number of the
choices (stage 1 most significant). No two architectures compute the same function, so the
canonical key is the string. The stem's activation is always ReLU, so every network has at
least one ReLU; an all-SiLU choice of stages leaves ReLU-based proxies (naswot, swap) only
the stem to observe, which is part of what a study of this space shows.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from zcbench.errors import ArchError
from zcbench.spaces import SearchSpace, register_space
from zcbench.types import Arch

STAGES = 3
DEPTHS = (1, 2, 3)
WIDTHS = ((8, 16, 24), (16, 32, 48), (32, 64, 96))
KERNELS = (3, 5)
ACTIVATIONS = ("relu", "silu")
STEM_WIDTH = 16
#: options per gene: (depth, width, kernel, activation) for each stage
RADIX = (len(DEPTHS), 3, len(KERNELS), len(ACTIVATIONS)) * STAGES
FORM = (
    "3 stages joined by '|', each 'd<depth>-w<width>-k<kernel>-<act>' with depth 1-3, "
    f"kernel 3 or 5, act relu or silu, widths {WIDTHS[0]} / {WIDTHS[1]} / {WIDTHS[2]}"
)
_ACT = {"relu": nn.ReLU, "silu": nn.SiLU}


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, kernel: int, act: str) -> None:
        super().__init__()
        pad = kernel // 2
        self.conv1 = nn.Conv2d(c_in, c_out, kernel, stride, pad, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.act1 = _ACT[act]()
        self.conv2 = nn.Conv2d(c_out, c_out, kernel, 1, pad, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )
        self.act2 = _ACT[act]()

    def forward(self, x):
        y = self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))
        return self.act2(y + self.shortcut(x))


class MacroResNet(nn.Module):
    def __init__(self, stages: list[tuple[int, int, int, str]], num_classes: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, STEM_WIDTH, 3, 1, 1, bias=False), nn.BatchNorm2d(STEM_WIDTH), nn.ReLU()
        )
        blocks: list[nn.Module] = []
        c_in = STEM_WIDTH
        for depth, width, kernel, act in stages:
            for b in range(depth):
                stride = 2 if b == 0 else 1  # every stage halves the resolution
                blocks.append(BasicBlock(c_in, width, stride, kernel, act))
                c_in = width
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_in, num_classes)

    def forward(self, x):
        return self.classifier(self.pool(self.blocks(self.stem(x))).flatten(1))


@register_space
class ResNetMacroSpace(SearchSpace):
    name = "resnet-macro"
    description = "example plug-in: 3 ResNet stages x depth/width/kernel/activation (46,656)"
    example = "d2-w16-k3-relu|d1-w32-k5-silu|d3-w64-k3-relu"

    _weights = np.cumprod((1,) + RADIX[::-1])[:-1][::-1]  # mixed radix, gene 0 first
    _size = int(np.prod(RADIX))

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return "ResNetMacroSpace()"

    def index(self, arch: Arch) -> int:
        return int(np.dot(self.validate(arch).genotype, self._weights))

    def from_index(self, index: int) -> Arch:
        i = self.check_index(index)
        return Arch(self.name, tuple(int(i // w % r) for w, r in zip(self._weights, RADIX)))

    def stages(self, arch: Arch) -> list[tuple[int, int, int, str]]:
        """(depth, width, kernel, activation) of each stage."""
        g = self.validate(arch).genotype
        return [
            (DEPTHS[g[4 * s]], WIDTHS[s][g[4 * s + 1]], KERNELS[g[4 * s + 2]],
             ACTIVATIONS[g[4 * s + 3]])
            for s in range(STAGES)
        ]  # fmt: skip

    def parse(self, text: str) -> Arch:
        if not isinstance(text, str):
            raise ArchError(f"malformed {self.name} architecture {text!r}; expected {FORM}")
        s = text.strip()
        parts = s.split("|")
        shown = s if len(s) <= 60 else s[:57] + "..."
        if len(parts) != STAGES:
            raise ArchError(f"malformed {self.name} architecture {shown!r}; expected {FORM}")
        genes: list[int] = []
        for stage, part in enumerate(parts):
            tokens = part.strip().split("-")
            try:
                d, w, k, act = tokens
                if d[0] != "d" or w[0] != "w" or k[0] != "k":
                    raise ValueError
                genes += [
                    DEPTHS.index(int(d[1:])),
                    WIDTHS[stage].index(int(w[1:])),
                    KERNELS.index(int(k[1:])),
                    ACTIVATIONS.index(act),
                ]
            except (ValueError, IndexError):
                raise ArchError(
                    f"invalid stage {stage + 1} {part.strip()[:30]!r} in {self.name} "
                    f"architecture {shown!r}; expected {FORM}"
                ) from None
        return Arch(self.name, tuple(genes))

    def to_str(self, arch: Arch) -> str:
        return "|".join(f"d{d}-w{w}-k{k}-{a}" for d, w, k, a in self.stages(arch))

    def validate(self, arch: Arch) -> Arch:
        self._check_space(arch)
        g = arch.genotype
        if len(g) != len(RADIX) or not all(0 <= x < r for x, r in zip(g, RADIX)):
            raise ArchError(f"invalid {self.name} genotype {g}; expected {FORM}")
        return arch

    def sample(self, rng: np.random.Generator) -> Arch:
        return Arch(self.name, tuple(int(rng.integers(r)) for r in RADIX))

    def neighbors(self, arch: Arch) -> list[Arch]:
        g = list(self.validate(arch).genotype)
        out = []
        for pos, r in enumerate(RADIX):
            for v in range(r):
                if v != g[pos]:
                    out.append(Arch(self.name, tuple(g[:pos] + [v] + g[pos + 1 :])))
        return out

    def encode(self, arch: Arch) -> np.ndarray:
        g = self.validate(arch).genotype
        parts = [np.eye(r, dtype=np.float32)[x] for x, r in zip(g, RADIX)]
        return np.concatenate(parts)

    @property
    def encoding_size(self) -> int:
        return int(sum(RADIX))

    def build(self, arch: Arch, num_classes: int) -> nn.Module:
        return MacroResNet(self.stages(arch), num_classes)
