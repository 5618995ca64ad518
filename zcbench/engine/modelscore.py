"""Score any PyTorch model with the proxy panel: :func:`score_model`.

The same fused engine that scores the benchmark spaces (:mod:`zcbench.engine.scoring`) runs on a
model of yours::

    import torch, zcbench
    from zcbench.tables.data import minibatch

    batch = minibatch("cifar10", batch_size=64, seed=0)        # or (inputs, labels) tensors
    scores = zcbench.score_model(lambda: MyNet(num_classes=10), batch, "synflow,naswot,meco")
    scores["synflow"].value, scores.to_frame()

What it guarantees:

* the caller's model comes back untouched: every proxy works on a private copy (weights,
  train/eval mode, ``requires_grad``, hooks, device and dtype of yours are left as they were),
  and the caller's RNG state is restored;
* a model can be given as an instance (scored with its current weights) or as a zero-argument
  factory (built under a seed derived from ``arch`` and ``seed``, exactly as ``zcbench score``
  builds an architecture; proxies that need a fresh copy rebuild it the same way);
* a proxy that does not apply to the model is a recorded ``skipped`` or ``error`` with its
  reason, never a crash of the call and never a silent 0: naswot and swap need ``nn.ReLU``
  modules, synflow and synaptic_diversity a network whose normalisation layers are all
  BatchNorm (they remove it), zen an ``nn.AdaptiveAvgPool2d`` before the classifier, the
  label-based proxies labels, every proxy a model whose forward returns a logits tensor;
* what cannot work at all is one line (a :class:`~zcbench.errors.ZCBenchError`): a model
  that raises in forward, a batch whose shape the model rejects, ``num_classes`` that does
  not match the model's output, labels outside its classes.

Every parameter of the private copies requires grad (a frozen layer still counts), and each
pass starts from the same seeded RNG state, so models with dropout give the same values fused
and unfused and on every rerun.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from zcbench.engine.scoring import (
    DTYPES,
    ProxyResult,
    checked_device,
    device_policy,
    rng_devices,
    score_context,
    seeded_builder,
)
from zcbench.errors import ZCBenchError, exception_line
from zcbench.proxies import ProxySpec, resolve_proxies
from zcbench.proxies.base import ProxyContext
from zcbench.types import Arch, Batch

log = logging.getLogger(__name__)

#: the architecture a model stands for when the caller names none: seeds derive from its key
MODEL_ARCH = Arch("model", (0,))
#: how many characters of a model's own exception an error message repeats
CAUSE = 200
#: what a batch may be: a Batch, (inputs, labels) / (inputs,) / inputs tensors, or a loader
BatchLike = Batch | torch.Tensor | Sequence[torch.Tensor | None] | object
ModelLike = nn.Module | Callable[[], nn.Module]


@dataclass(frozen=True)
class ModelScores(Mapping[str, ProxyResult]):
    """One :class:`~zcbench.engine.scoring.ProxyResult` per proxy (value, status, error = the
    reason, seconds), in the order asked; a read-only dict by proxy name, with
    :meth:`to_frame` and :meth:`to_series` for pandas."""

    results: tuple[ProxyResult, ...]
    #: the model's output width, as read from its forward on the batch
    num_classes: int

    def __getitem__(self, name: str) -> ProxyResult:
        for r in self.results:
            if r.proxy == name:
                return r
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (r.proxy for r in self.results)

    def __len__(self) -> int:
        return len(self.results)

    def values_dict(self) -> dict[str, float | None]:
        """``{proxy: value}``, None where the proxy failed or was skipped."""
        return {r.proxy: r.value for r in self.results}

    def to_frame(self) -> pd.DataFrame:
        """One row per proxy: ``proxy, value, status, reason, seconds, higher_is_better``."""
        from zcbench.proxies import get_proxy

        return pd.DataFrame(
            [
                {
                    "proxy": r.proxy,
                    "value": r.value,
                    "status": r.status,
                    "reason": r.error,
                    "seconds": r.seconds,
                    "higher_is_better": get_proxy(r.proxy).higher_is_better,
                }
                for r in self.results
            ]
        )

    def to_series(self) -> pd.Series:
        """The values by proxy (NaN where a proxy failed or was skipped)."""
        return pd.Series(
            {r.proxy: (float("nan") if r.value is None else r.value) for r in self.results},
            name="value",
            dtype=float,
        )

    def __repr__(self) -> str:
        return f"ModelScores({len(self)} proxies)\n{self.to_frame().to_string(index=False)}"


# -- batches -------------------------------------------------------------------------------
def as_batch(batch: BatchLike) -> Batch:
    """A :class:`Batch` from what users hold: a Batch, an ``(inputs, labels)`` pair (labels
    may be None), ``(inputs,)``, an inputs tensor, or a DataLoader / iterable of those (its
    first batch). Inputs are float (N, ...) tensors; labels integer class indexes (N,)."""
    if isinstance(batch, Batch):
        return batch
    if isinstance(batch, torch.Tensor):
        return _checked(batch, None)
    if isinstance(batch, (tuple, list)):
        if len(batch) == 2:
            return _checked(batch[0], batch[1])
        if len(batch) == 1:
            return _checked(batch[0], None)
        raise ZCBenchError(
            f"a batch of {len(batch)} items; expected (inputs, labels), (inputs,) or a tensor"
        )
    if isinstance(batch, dict):
        raise ZCBenchError(
            "a batch given as a dict; expected (inputs, labels) tensors (pick them out, e.g. "
            "(b['pixel_values'], b['labels']))"
        )
    try:
        first = next(iter(batch))  # a DataLoader or another iterable of batches
    except TypeError:
        raise ZCBenchError(
            f"cannot read a batch from a {type(batch).__name__}; expected (inputs, labels) "
            "tensors, a zcbench Batch or a DataLoader"
        ) from None
    except StopIteration:
        raise ZCBenchError("the data loader gave no batch (it is empty)") from None
    if not isinstance(first, (torch.Tensor, tuple, list, Batch)):
        raise ZCBenchError(
            f"the data loader yields {type(first).__name__}; expected (inputs, labels) tensors"
        )
    return as_batch(first)


def _checked(inputs: object, labels: object) -> Batch:
    if not isinstance(inputs, torch.Tensor):
        raise ZCBenchError(f"batch inputs are a {type(inputs).__name__}; expected a tensor")
    if not inputs.is_floating_point() or inputs.dim() < 2 or len(inputs) == 0:
        raise ZCBenchError(
            f"batch inputs of dtype {inputs.dtype} and shape {tuple(inputs.shape)}; expected a "
            "non-empty float tensor (N, ...), e.g. normalised images (N, 3, 32, 32)"
        )
    if labels is None:
        return Batch(inputs.detach(), None, "custom")
    if not isinstance(labels, torch.Tensor):
        raise ZCBenchError(f"batch labels are a {type(labels).__name__}; expected a tensor")
    if labels.is_floating_point() or labels.dim() != 1 or len(labels) != len(inputs):
        raise ZCBenchError(
            f"batch labels of dtype {labels.dtype} and shape {tuple(labels.shape)}; expected "
            f"{len(inputs)} integer class indexes"
        )
    if len(labels) and int(labels.min()) < 0:
        raise ZCBenchError(f"batch labels include {int(labels.min())}; expected class indexes >= 0")
    return Batch(inputs.detach(), labels.detach().long(), "custom")


# -- models ---------------------------------------------------------------------------------
def _private(model: nn.Module) -> nn.Module:
    """A deep copy of the caller's model on which every parameter requires grad."""
    try:
        clone = copy.deepcopy(model)
    except Exception as exc:
        raise ZCBenchError(
            f"cannot copy the model ({exception_line(exc, CAUSE)}); pass a factory that "
            "builds it instead"
        ) from exc
    for p in clone.parameters():
        p.requires_grad_(True)
    return clone


def _checked_factory(factory: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        try:
            model = factory()
        except ZCBenchError:
            raise
        except Exception as exc:
            raise ZCBenchError(f"the model factory raised {exception_line(exc, CAUSE)}") from exc
        if not isinstance(model, nn.Module):
            raise ZCBenchError(
                f"the model factory returned a {type(model).__name__}; expected a torch.nn.Module"
            )
        for p in model.parameters():
            p.requires_grad_(True)
        return model

    return build


def probe_output(model: nn.Module, batch: Batch, device: torch.device, dtype: torch.dtype):
    """One train-mode forward of a copy (no gradients): the output, or a one-line error
    naming the input shape when the model raises."""
    clone = copy.deepcopy(model).to(device=device, dtype=dtype).train()
    x = batch.inputs.to(device, dtype)
    try:
        with torch.random.fork_rng(devices=rng_devices(device)), device_policy(device):
            with torch.no_grad():
                return clone(x)
    except Exception as exc:
        raise ZCBenchError(
            f"the model failed in forward on inputs of shape {tuple(x.shape)}: "
            + exception_line(exc, CAUSE)
        ) from exc


def output_classes(output: object, batch: Batch, num_classes: int | None) -> int:
    """The model's number of classes, checked against ``num_classes`` and the labels."""
    n = len(batch)
    if not isinstance(output, torch.Tensor):
        log.warning(
            "the model returns a %s, not a logits tensor: proxies will record a failure",
            type(output).__name__,
        )
        classes = num_classes or 0
    elif output.dim() != 2 or output.shape[0] != n:
        raise ZCBenchError(
            f"the model's output has shape {tuple(output.shape)}; expected logits ({n}, classes)"
        )
    else:
        classes = int(output.shape[1])
        if num_classes is not None and num_classes != classes:
            raise ZCBenchError(f"num_classes={num_classes} but the model outputs {classes} classes")
    if batch.targets is not None and classes and int(batch.targets.max()) >= classes:
        raise ZCBenchError(
            f"the batch's labels go up to {int(batch.targets.max())} but the model outputs "
            f"{classes} classes"
        )
    return classes


def model_context(
    model: ModelLike,
    batch: BatchLike,
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    num_classes: int | None = None,
    dtype: str = "float32",
    arch: Arch | None = None,
) -> ProxyContext:
    """The proxy context of a model (what :func:`score_model` scores): checked batch, a
    private seeded model, the classes read from one forward."""
    b = as_batch(batch)
    dev = checked_device(device)
    if dtype not in DTYPES:
        raise ZCBenchError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
    arch = arch or MODEL_ARCH
    if isinstance(model, nn.Module):
        pristine, rebuild = _private(model), None
    elif callable(model):
        rebuild = seeded_builder(arch, seed, _checked_factory(model))
        pristine = rebuild()
    else:
        raise ZCBenchError(
            f"model is a {type(model).__name__}; expected a torch.nn.Module or a function "
            "that builds one"
        )
    classes = output_classes(probe_output(pristine, b, dev, DTYPES[dtype]), b, num_classes)
    return ProxyContext(
        arch, pristine, b, classes, seed, dev, DTYPES[dtype], rebuild=rebuild, check_output=True
    )


def score_model(
    model: ModelLike,
    batch: BatchLike,
    proxies: str | Sequence[str] = "all",
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    num_classes: int | None = None,
    fused: bool = True,
    dtype: str = "float32",
    arch: Arch | None = None,
) -> ModelScores:
    """Score a model with zero-cost proxies on one batch.

    ``model``: an ``nn.Module`` (scored with its current weights; never modified) or a
    zero-argument factory (built under a seed derived from ``arch`` and ``seed``).
    ``batch``: ``(inputs, labels)`` tensors (labels may be None: label-based proxies are then
    ``skipped``), a :class:`~zcbench.types.Batch` such as
    :func:`zcbench.tables.data.minibatch`'s, or a DataLoader (its first batch).
    ``proxies``: ``"all"``, names or patterns (``"syn*"``).
    ``num_classes``: checked against the model's output when given. ``arch``: the
    architecture the model stands for; seeds (the factory's initialisation, proxies' noise)
    derive from its key as in ``zcbench score``, so
    ``score_model(lambda: space.build(a, 10), minibatch("cifar10"), arch=a)`` gives exactly
    the values ``zcbench score`` stores for ``a``.
    """
    specs: list[ProxySpec] = resolve_proxies(
        proxies if isinstance(proxies, str) else ",".join(proxies)
    )
    ctx = model_context(
        model, batch, seed=seed, device=device, num_classes=num_classes, dtype=dtype, arch=arch
    )
    if fused:
        results = score_context(ctx, specs)
    else:
        results = [score_context(ctx.fork(), [s], fused=False)[0] for s in specs]
    return ModelScores(tuple(results), ctx.num_classes)
