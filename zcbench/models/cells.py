"""NAS-Bench-201 operations and cells, written to match the official definitions.

Reference: Dong & Yang, "NAS-Bench-201", ICLR 2020, and the authors' ``cell_operations.py`` /
``cell_infers/cells.py`` (AutoDL-Projects, xautodl). Module and attribute names follow the
official ones (``op``, ``layers``, ``conv_a`` ...) so that official state dicts load unchanged.

The cell is a DAG on 4 nodes; node ``j`` is the sum over ``i < j`` of ``op_ij(node_i)`` and the
cell output is node 3. Operations see ``C_in -> C_out`` on edges leaving node 0 and
``C_out -> C_out`` elsewhere (these differ only in NATS-Bench's size space).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch._C._functorch import is_functorch_wrapped_tensor

#: operation names in NAS-Bench-201's order (the genotype stores indexes into this tuple)
CELL_OPS: tuple[str, ...] = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
)


class ReLUConvBN(nn.Module):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel_size: int,
        stride: int,
        padding: int,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track_running_stats),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class _ToChannelsLast(torch.autograd.Function):
    """Identity in value: the tensor in channels-last memory. Its gradient goes back in NCHW
    through :class:`_ToContiguous`, and that one's gradient comes back here, so every order
    of differentiation (grasp's Hessian-vector product is second order) pools on
    channels-last memory while the layers around the pooling see NCHW, as with
    ``nn.AvgPool2d`` (a layout can change which kernel a convolution takes)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        return x.contiguous(memory_format=torch.channels_last)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        return _ToContiguous.apply(grad)


class _ToContiguous(torch.autograd.Function):
    """Identity in value: the tensor in NCHW memory; the mirror of :class:`_ToChannelsLast`."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        return x.contiguous()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        return _ToChannelsLast.apply(grad)


class AvgPool2d(nn.AvgPool2d):
    """``nn.AvgPool2d`` computed on channels-last memory: the same values, bit for bit.

    PyTorch's CPU average pooling is vectorised over channels only for channels-last
    tensors; on NCHW batches of NB201's shapes (64 x 16 x 32 x 32) it is five times slower
    than the 3x3 convolution beside it and took about an eighth of all scoring time. The
    channels-last kernel gives the same values bit for bit in forward, backward and double
    backward (``tests/test_models.py`` checks all three, in float32 and float64); input and
    output stay NCHW, so nothing outside sees a different layout."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or is_functorch_wrapped_tensor(x):
            # torch.func transforms (vkdnw's generic path) cannot query memory formats
            return super().forward(x)
        if not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
            return super().forward(x)  # a channels-last network: pool and stay channels-last
        return _ToContiguous.apply(super().forward(_ToChannelsLast.apply(x)))


class Pooling(nn.Module):
    """3x3 average pooling (``count_include_pad=False``), with a 1x1 ReLUConvBN if C changes."""

    def __init__(
        self, c_in: int, c_out: int, stride: int, affine: bool = True, track: bool = True
    ) -> None:
        super().__init__()
        self.preprocess = None if c_in == c_out else ReLUConvBN(c_in, c_out, 1, 1, 0, affine, track)
        self.op = AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preprocess is not None:
            x = self.preprocess(x)
        return self.op(x)


class Zero(nn.Module):
    """The ``none`` operation: an all-zero tensor of the output shape."""

    is_zero = True

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_in, self.c_out, self.stride = c_in, c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.c_in == self.c_out:
            if self.stride == 1:
                return x.mul(0.0)
            return x[:, :, :: self.stride, :: self.stride].mul(0.0)
        shape = list(x.shape)
        shape[1] = self.c_out
        return x.new_zeros(shape)


class FactorizedReduce(nn.Module):
    """``skip_connect`` when the shape changes: 1x1 conv + BN at stride 1; two offset 1x1
    convs concatenated after a ReLU at stride 2."""

    def __init__(
        self, c_in: int, c_out: int, stride: int, affine: bool = True, track: bool = True
    ) -> None:
        super().__init__()
        self.stride = stride
        self.relu = nn.ReLU(inplace=False)
        if stride == 2:
            c_outs = [c_out // 2, c_out - c_out // 2]
            self.convs = nn.ModuleList(
                nn.Conv2d(c_in, c, 1, stride=stride, padding=0, bias=False) for c in c_outs
            )
            self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0)
        elif stride == 1:
            self.conv = nn.Conv2d(c_in, c_out, 1, stride=stride, padding=0, bias=False)
        else:
            raise ValueError(f"invalid stride {stride}; expected 1 or 2")
        self.bn = nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 2:
            x = self.relu(x)
            y = self.pad(x)
            out = torch.cat([self.convs[0](x), self.convs[1](y[:, :, 1:, 1:])], dim=1)
        else:
            out = self.conv(x)
        return self.bn(out)


def make_op(name: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    """Instantiate one cell operation by its NAS-Bench-201 name."""
    if name == "none":
        return Zero(c_in, c_out, stride)
    if name == "skip_connect":
        if stride == 1 and c_in == c_out:
            return nn.Identity()
        return FactorizedReduce(c_in, c_out, stride)
    if name == "nor_conv_1x1":
        return ReLUConvBN(c_in, c_out, 1, stride, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c_in, c_out, 3, stride, 1)
    if name == "avg_pool_3x3":
        return Pooling(c_in, c_out, stride)
    raise ValueError(f"unknown operation {name!r}; expected one of {', '.join(CELL_OPS)}")


class InferCell(nn.Module):
    """A fixed NAS-Bench-201 cell. ``nodes[j-1]`` lists ``(op_name, input_node)`` for node j."""

    def __init__(
        self, nodes: Sequence[Sequence[tuple[str, int]]], c_in: int, c_out: int, stride: int = 1
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        self.node_IX: list[list[int]] = []  # noqa: N815 - official attribute names
        self.node_IN: list[list[int]] = []  # noqa: N815
        for node in nodes:
            ix, inn = [], []
            for op_name, src in node:
                if src == 0:
                    layer = make_op(op_name, c_in, c_out, stride)
                else:
                    layer = make_op(op_name, c_out, c_out, 1)
                ix.append(len(self.layers))
                inn.append(src)
                self.layers.append(layer)
            self.node_IX.append(ix)
            self.node_IN.append(inn)
        self.in_dim, self.out_dim = c_in, c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for ix, inn in zip(self.node_IX, self.node_IN):
            nodes.append(sum(self.layers[i](nodes[j]) for i, j in zip(ix, inn)))
        return nodes[-1]


class ResNetBasicblock(nn.Module):
    """The residual reduction block between stages (stride 2 halves the resolution)."""

    def __init__(self, inplanes: int, planes: int, stride: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"invalid stride {stride}; expected 1 or 2")
        self.conv_a = ReLUConvBN(inplanes, planes, 3, stride, 1)
        self.conv_b = ReLUConvBN(planes, planes, 3, 1, 1)
        self.downsample: nn.Module | None
        if stride == 2:
            self.downsample = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(inplanes, planes, kernel_size=1, stride=1, padding=0, bias=False),
            )
        elif inplanes != planes:
            self.downsample = ReLUConvBN(inplanes, planes, 1, 1, 0)
        else:
            self.downsample = None
        self.in_dim, self.out_dim, self.stride = inplanes, planes, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_b(self.conv_a(x))
        residual = x if self.downsample is None else self.downsample(x)
        return residual + out
