"""The scoring engine: one minibatch, one seeded model per architecture, every proxy.

Policy, for all proxies alike:

* the batch is drawn once per (dataset, seed, batch size); the model is built once per
  architecture and initialised under a seed derived from (architecture, seed) inside a forked
  RNG, so a rerun gives identical values and scoring does not disturb the caller's RNG;
* **fused** (default): every ``forward`` / ``backward`` proxy observes one shared pass (one per
  dtype): a forward in train mode, plus one labelled backward when any ``backward`` proxy is
  asked for; ``own`` proxies run after it on private copies, except that those declaring
  ``uses`` (jacob_cov, epe_nas, grasp) differentiate the pass's kept forward graph instead of
  running a forward of their own. **Unfused**: the same code with one proxy per pass and a
  fresh context per proxy, for comparison;
* failures are data: an error from :data:`RECOVERABLE` (out of memory, linear algebra,
  :class:`~zcbench.proxies.base.ProxyFailure`, ...) is recorded with its reason; NaN / Inf
  values are recorded as such (value None), never turned into 0; anything else propagates;
* hooks are always removed; each result carries its own seconds (a shared pass is split evenly
  over the proxies it served).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from zcbench.errors import ZCBenchError, exception_line, shown
from zcbench.proxies.base import (
    HookProxy,
    OwnProxy,
    ProxyContext,
    ProxyFailure,
    ProxySkipped,
    ProxySpec,
    TrainGraph,
    derive_seed,
)
from zcbench.spaces.base import SearchSpace
from zcbench.types import Arch, Batch

#: errors that become a recorded failure instead of stopping the run
RECOVERABLE: tuple[type[BaseException], ...] = (
    ProxyFailure,
    torch.OutOfMemoryError,
    torch.linalg.LinAlgError,
    np.linalg.LinAlgError,
    FloatingPointError,
    ZeroDivisionError,
)

#: ``timeout`` and ``crash``: the worker scoring the architecture hung or died
#: (zcbench.engine.runner)
STATUSES = ("ok", "nan", "inf", "error", "oom", "skipped", "timeout", "crash")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class ProxyResult:
    proxy: str
    arch: Arch
    value: float | None
    seconds: float
    status: str = "ok"
    error: str = ""


def _classify(exc: BaseException) -> tuple[str, str]:
    text = exception_line(exc)
    if isinstance(exc, torch.OutOfMemoryError) or _is_oom(exc):
        return "oom", text
    if isinstance(exc, ProxySkipped):
        return "skipped", str(exc)
    return "error", text


def _is_oom(exc: BaseException) -> bool:
    msg = str(exc).lower()
    return "out of memory" in msg or "can't allocate memory" in msg


def _result(spec: ProxySpec, arch: Arch, value: object, seconds: float) -> ProxyResult:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"proxy {spec.name!r} returned {type(value).__name__}, not a number"
        ) from exc
    if math.isnan(v):
        return ProxyResult(spec.name, arch, None, seconds, "nan", "value is NaN")
    if math.isinf(v):
        return ProxyResult(spec.name, arch, None, seconds, "inf", f"value is {v}")
    return ProxyResult(spec.name, arch, v, seconds)


def _failure(spec: ProxySpec, arch: Arch, exc: BaseException, seconds: float) -> ProxyResult:
    status, text = _classify(exc)
    return ProxyResult(spec.name, arch, None, seconds, status, text)


def seeded_context(
    arch: Arch,
    build: Callable[[], nn.Module],
    batch: Batch,
    num_classes: int,
    seed: int,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    exact_second_order: bool = False,
) -> ProxyContext:
    """A context whose model ``build()`` makes under a seed derived from (``arch``, ``seed``)
    (:func:`seeded_builder`). Proxies' private copies are rebuilt the same way: bit-identical
    weights, and for NB201 cells a rebuild takes about a third of the time of
    ``copy.deepcopy``."""
    seeded = seeded_builder(arch, seed, build)
    return ProxyContext(
        arch, seeded(), batch, num_classes, seed, device, dtype, seeded, exact_second_order
    )


def seeded_builder(
    arch: Arch, seed: int, build: Callable[[], nn.Module]
) -> Callable[[], nn.Module]:
    """``build`` run under a seed derived from (``arch``, ``seed``) in a forked RNG (the
    caller's RNG is left as it was): every call makes the same initialised model."""

    def seeded() -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(arch.key, seed, "init"))
            return build()

    return seeded


def build_context(
    space: SearchSpace,
    arch: Arch,
    batch: Batch,
    num_classes: int,
    seed: int,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> ProxyContext:
    """The context of ``arch``: its network built and initialised under a seed derived from
    (arch, seed)."""
    return seeded_context(
        arch, lambda: space.build(arch, num_classes), batch, num_classes, seed, device, dtype,
        space.exact_second_order,
    )  # fmt: skip


def checked_device(device: str | torch.device) -> torch.device:
    """``device`` as a torch device, or a one-line error for a malformed name or a CUDA device
    this machine does not have (Ray workers elsewhere may: only local scoring checks)."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ZCBenchError(f"unknown device {shown(device)}; expected cpu or cuda[:N]") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ZCBenchError(f"device {str(device)!r} requested but CUDA is not available")
    return dev


def rng_devices(device: torch.device) -> list[int]:
    """The CUDA devices whose RNG a forked RNG must save and restore (none on the CPU)."""
    if device.type != "cuda":
        return []
    return [device.index if device.index is not None else torch.cuda.current_device()]


@contextlib.contextmanager
def device_policy(device: torch.device) -> Iterator[None]:
    """On CUDA, cuDNN picks deterministic kernels without autotuning and without TF32 (whose
    10-bit mantissa would move every proxy's value by about 1e-3 relative against the CPU's
    float32), restored afterwards: reruns give the same values, and CUDA values stay within
    rounding of the CPU's. Nothing on the CPU."""
    if device.type != "cuda":
        yield
        return
    matmul_tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.backends.cudnn.flags(
            enabled=True, benchmark=False, deterministic=True, allow_tf32=False
        ):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul_tf32


@contextlib.contextmanager
def pass_rng(ctx: ProxyContext) -> Iterator[None]:
    """Every pass (the shared one, each own proxy) starts from the same seeded RNG state,
    derived from (arch, seed), in a forked RNG: models that draw random numbers in forward
    (dropout, stochastic depth) see the same draws fused and unfused and on every rerun, and
    the caller's RNG is left as it was."""
    with torch.random.fork_rng(devices=rng_devices(ctx.device)):
        torch.manual_seed(derive_seed(ctx.arch.key, ctx.seed, "pass"))
        yield


def _hook(
    proxy: HookProxy,
    live: bool,
    errors: dict[int, BaseException],
    name: str,
    module: nn.Module,
    inputs: tuple,
    output: torch.Tensor,
) -> None:
    if id(proxy) in errors:
        return
    if not live:
        inputs = tuple(x.detach() if isinstance(x, torch.Tensor) else x for x in inputs)
        if isinstance(output, torch.Tensor):  # containers may return tuples: passed as they are
            output = output.detach()
    try:
        proxy.on_forward(name, module, inputs, output)
    except RECOVERABLE as exc:
        errors[id(proxy)] = exc


def _shared_pass(
    ctx: ProxyContext, specs: Sequence[ProxySpec], uses: frozenset[str] = frozenset()
) -> list[ProxyResult]:
    """One pass (forward, plus a labelled backward if a backward proxy takes part).

    ``uses``: what own proxies scored after it will read from the same forward (see
    :data:`~zcbench.proxies.base.SHARED_USES`); then the images require grad, the graph is
    kept and published as the context's :class:`~zcbench.proxies.base.TrainGraph`, and with
    ``weight_grads`` the labelled backward keeps the graph of the weight gradients too.
    """
    arch = ctx.arch
    start = time.perf_counter()
    dtype = DTYPES[specs[0].dtype]
    proxies = [(s, s.create()) for s in specs]
    errors: dict[int, BaseException] = {}
    need_backward = any(s.kind == "backward" for s in specs)
    keep_graph = bool(uses)
    handles = []
    logits = graph = None
    try:
        model = ctx.fresh_model(dtype=dtype)
        for _, proxy in proxies:
            try:
                proxy.start(ctx, model)
            except RECOVERABLE as exc:
                errors[id(proxy)] = exc
        for name, module in model.named_modules():
            for spec, proxy in proxies:
                if isinstance(module, proxy.module_types):
                    live = spec.kind == "backward"
                    handles.append(
                        module.register_forward_hook(partial(_hook, proxy, live, errors, name))
                    )
        x = ctx.inputs(dtype)
        if keep_graph:
            x = x.detach().clone().requires_grad_(True)
        with torch.set_grad_enabled(need_backward or keep_graph):
            logits = model(x)
            graph = TrainGraph(model, x, logits)
            if need_backward:
                _labelled_backward(graph, ctx.targets, keep_graph, "weight_grads" in uses)
    except RECOVERABLE as exc:
        pass_error: BaseException | None = exc
    except RuntimeError as exc:
        if not _is_oom(exc):
            raise
        pass_error = exc
    else:
        pass_error = None
    finally:
        for h in handles:
            h.remove()
        for _, proxy in proxies:
            proxy.remove_grad_hooks()
    pass_seconds = (time.perf_counter() - start) / len(specs)
    results = []
    for spec, proxy in proxies:
        if pass_error is not None:
            results.append(_failure(spec, arch, pass_error, pass_seconds))
            continue
        if id(proxy) in errors:
            results.append(_failure(spec, arch, errors[id(proxy)], pass_seconds))
            continue
        t0 = time.perf_counter()
        try:
            value = proxy.score(ctx, model, logits.detach())
        except RECOVERABLE as exc:
            results.append(_failure(spec, arch, exc, pass_seconds + time.perf_counter() - t0))
            continue
        results.append(_result(spec, arch, value, pass_seconds + time.perf_counter() - t0))
    if keep_graph and pass_error is None:
        ctx.shared(TrainGraph.key(dtype), lambda: graph)  # published for the own proxies
    return results


def _labelled_backward(
    graph: TrainGraph, targets: torch.Tensor, keep_graph: bool, weight_grads: bool
) -> None:
    """The shared labelled backward: mean cross-entropy, every parameter's ``.grad`` set.

    With ``weight_grads`` it runs as ``autograd.grad(..., create_graph=True)`` over all
    parameters and hands the graph of the Conv2d / Linear weight gradients to the
    :class:`TrainGraph` for second-order proxies. That is only done for networks whose
    differentiable backward gives ``.backward()``'s values bit for bit (the context's
    ``exact_second_order``: NB201's and NATS's operations, tested); for others (SiLU's, for
    one, differs in the last bits) the second-order proxy differentiates the kept graph
    again, so fused and unfused scoring agree. With ``keep_graph`` the forward graph is kept
    for the own proxies that read it.
    """
    loss = F.cross_entropy(graph.logits, targets)
    if not weight_grads:
        loss.backward(retain_graph=keep_graph)
        return
    params = [p for p in graph.model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
    by_param = {}
    for p, g in zip(params, grads):
        p.grad = None if g is None else g.detach()
        by_param[id(p)] = g
    graph._weight_grads = tuple(by_param[id(w)] for w in graph.weights)


def _own(ctx: ProxyContext, spec: ProxySpec) -> ProxyResult:
    start = time.perf_counter()
    proxy = spec.create()
    assert isinstance(proxy, OwnProxy)
    try:
        value = proxy.score(ctx)
    except RECOVERABLE as exc:
        return _failure(spec, ctx.arch, exc, time.perf_counter() - start)
    except RuntimeError as exc:
        if not _is_oom(exc):
            raise
        return _failure(spec, ctx.arch, exc, time.perf_counter() - start)
    return _result(spec, ctx.arch, value, time.perf_counter() - start)


def score_context(
    ctx: ProxyContext, specs: Sequence[ProxySpec], *, fused: bool = True
) -> list[ProxyResult]:
    """Score one architecture with every spec; results come back in the order of ``specs``.

    Fused: hook proxies share one pass per dtype, which also keeps its forward graph for own
    proxies of that dtype that read it (``uses``), and every proxy shares ``ctx``'s cache of
    intermediates. Unfused: each proxy runs alone on its own fork of the context. On CUDA
    under :func:`device_policy`; after an out-of-memory failure the CUDA cache is emptied so
    the next architecture starts clean.
    """
    with device_policy(ctx.device):
        results = _score_context(ctx, specs, fused)
    if ctx.device.type == "cuda" and any(r.status == "oom" for r in results):
        torch.cuda.empty_cache()
    return results


def _score_context(ctx: ProxyContext, specs: Sequence[ProxySpec], fused: bool) -> list[ProxyResult]:
    out: dict[str, ProxyResult] = {}
    hook_groups: dict[str, list[ProxySpec]] = defaultdict(list)
    own: list[ProxySpec] = []
    for spec in specs:
        if spec.needs_labels and not ctx.has_labels:
            out[spec.name] = ProxyResult(
                spec.name, ctx.arch, None, 0.0, "skipped", "needs labels; the batch has none"
            )
        elif spec.kind == "own":
            own.append(spec)
        elif fused:
            hook_groups[spec.dtype].append(spec)
        else:
            alone = ctx.fork()
            with pass_rng(alone):
                (out[spec.name],) = _shared_pass(alone, [spec])
    for dtype, group in hook_groups.items():
        uses = frozenset(u for s in own if s.dtype == dtype for u in s.uses)
        if not (ctx.has_labels and ctx.exact_second_order):
            uses -= {"weight_grads"}
        with pass_rng(ctx):
            for r in _shared_pass(ctx, group, uses):
                out[r.proxy] = r
    for spec in own:
        own_ctx = ctx if fused else ctx.fork()
        with pass_rng(own_ctx):
            out[spec.name] = _own(own_ctx, spec)
    return [out[s.name] for s in specs]


def score_arch(
    space: SearchSpace,
    arch: Arch,
    batch: Batch,
    specs: Sequence[ProxySpec],
    *,
    num_classes: int,
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    fused: bool = True,
) -> list[ProxyResult]:
    """Score ``arch``. Unfused, each proxy gets its own freshly built model and context, as
    running the proxies one by one with separate tools would."""

    def context() -> ProxyContext:
        return build_context(space, arch, batch, num_classes, seed, device, dtype)

    if fused:
        return score_context(context(), specs)
    return [score_context(context(), [s], fused=False)[0] for s in specs]
