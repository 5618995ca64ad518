"""Model families written for the tests (no torchvision): what users bring to score_model.

Small versions (CIFAR-sized inputs, few channels) of the three families the field scores:
a ResNet-18-style CNN (BasicBlocks, BatchNorm, ReLU), a MobileNetV2-style network (inverted
residuals with depthwise convolutions, SiLU and Hardswish, no ReLU) and a vision transformer
in the style of timm's ViT (patch embedding, LayerNorm, GELU, multi-head self-attention with
qkv / projection Linear layers, dropout). Each ``build_*`` takes ``num_classes`` so that
``zcbench score --model tests.model_zoo:build_resnet`` can build it for a dataset.
"""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.down = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )
        self.relu2 = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(out + self.down(x))


class ResNet18(nn.Module):
    """ResNet-18's layout (4 stages x 2 BasicBlocks), CIFAR stem, narrow widths."""

    def __init__(self, num_classes: int = 10, width: int = 8) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)
        )
        layers, c = [], width
        for i, mult in enumerate((1, 2, 4, 8)):
            out = width * mult
            layers += [BasicBlock(c, out, 1 if i == 0 else 2), BasicBlock(out, out, 1)]
            c = out
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def feature_stages(self):
        """The stem and each block (AZ-NAS's stage feature maps)."""
        return [self.stem, *self.layers]

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, expand: int, act: type) -> None:
        super().__init__()
        hidden = c_in * expand
        self.use_res = stride == 1 and c_in == c_out
        self.block = nn.Sequential(
            nn.Conv2d(c_in, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            act(),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),  # depthwise
            nn.BatchNorm2d(hidden),
            act(),
            nn.Conv2d(hidden, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )

    def forward(self, x):
        y = self.block(x)
        return x + y if self.use_res else y


class MobileNetV2(nn.Module):
    """MobileNetV2's inverted residuals; SiLU in the early blocks, Hardswish later."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.SiLU()
        )
        cfg = [(16, 16, 1, 1, nn.SiLU), (16, 24, 2, 4, nn.SiLU), (24, 24, 1, 4, nn.SiLU),
               (24, 32, 2, 4, nn.Hardswish), (32, 32, 1, 4, nn.Hardswish)]  # fmt: skip
        self.blocks = nn.Sequential(*(InvertedResidual(*c) for c in cfg))
        self.head = nn.Sequential(
            nn.Conv2d(32, 64, 1, bias=False), nn.BatchNorm2d(64), nn.Hardswish()
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, num_classes))

    def forward(self, x):
        return self.classifier(self.pool(self.head(self.blocks(self.stem(x)))).flatten(1))


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1)) * (d // self.heads) ** -0.5
        out = attn.softmax(-1) @ v
        return self.proj(out.transpose(1, 2).reshape(n, t, d))


class TransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp: int, drop: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp), nn.GELU(), nn.Dropout(drop), nn.Linear(mlp, dim)
        )

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """A small ViT: 4x4 patches of a 32x32 image, class token, 2 blocks, dropout 0.1."""

    def __init__(
        self, num_classes: int = 10, dim: int = 32, depth: int = 2, heads: int = 4
    ) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, 4)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, 65, dim) * 0.02)
        self.drop = nn.Dropout(0.1)
        self.blocks = nn.Sequential(
            *(TransformerBlock(dim, heads, 2 * dim, 0.1) for _ in range(depth))
        )
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(len(x), -1, -1), tokens], dim=1)
        tokens = self.blocks(self.drop(tokens + self.pos))
        return self.head(self.norm(tokens)[:, 0])


def build_resnet(num_classes: int = 10) -> nn.Module:
    return ResNet18(num_classes)


def build_mobilenet(num_classes: int = 10) -> nn.Module:
    return MobileNetV2(num_classes)


def build_vit(num_classes: int = 10) -> nn.Module:
    return ViT(num_classes)


FAMILIES = {"resnet18": build_resnet, "mobilenetv2": build_mobilenet, "vit": build_vit}

#: the proxies each family cannot take, with the reason the docs give (all others: a value)
EXPECTED_SKIPS = {
    "resnet18": set(),
    # no nn.ReLU; AZ-NAS: no feature_stages()
    "mobilenetv2": {"naswot", "swap", "az_expressivity", "az_progressivity", "az_trainability"},
    # GELU, LayerNorm, no GAP; AZ-NAS: no feature_stages()
    "vit": {
        "naswot",
        "swap",
        "synflow",
        "synaptic_diversity_tftas",
        "zen",
        "az_expressivity",
        "az_progressivity",
        "az_trainability",
    },
}


class Broken(nn.Module):
    """Raises in forward (for the bad-input tests)."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.fc = nn.Linear(3, num_classes)

    def forward(self, x):
        raise RuntimeError("this layer is not implemented yet")


class TupleOut(nn.Module):
    """Returns (features, logits), as NB201's official forward does."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        f = self.pool(self.relu(self.conv(x))).flatten(1)
        return f, self.fc(f)
