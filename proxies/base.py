"""Proxy specs, the registry, and the context a proxy sees.

A proxy is a class registered with :func:`register_proxy`, which records its spec: name, kind,
direction, what it needs, cost class, the paper and formula it follows. Three kinds:

* ``forward``: hooks modules of one shared forward pass (train mode, no gradient) through
  :meth:`HookProxy.on_forward`, then :meth:`HookProxy.score` returns the value. NASWOT, SWAP,
  MeCo... all share one pass.
* ``backward``: the same hooks, on one shared *labelled* pass: forward with gradients, mean
  cross-entropy, one backward. ``on_forward`` gets the live output (so it may register a
  gradient hook) and ``score`` can read every parameter's ``.grad``. grad_norm, snip, fisher
  and plain share it. Forward proxies ride along on that pass when it runs anyway.
* ``own``: :meth:`OwnProxy.score` gets the context and does everything itself (a different
  model state, several passes, second-order terms: synflow, grasp, zen, ...). An own proxy
  that differentiates the same train-mode forward as the shared pass (the input Jacobian of
  jacob_cov / epe_nas, GraSP's Hessian-vector product) reads it from
  :meth:`ProxyContext.train_graph` and declares so with ``uses=("train_graph",)`` (plus
  ``"weight_grads"`` when it needs the loss gradients with their graph): fused, the engine
  then keeps the shared pass's graph for it instead of a second forward.

The engine (:mod:`zcbench.engine.scoring`) owns the policy: seeding, copying, grad mode, dtype,
device, hook cleanup, timing and failure capture. A proxy never looks at other proxies' names
and the engine never branches on a proxy's name.

Third parties register their own proxies with the same decorator from their own module, or
through the ``zcbench.proxies`` entry-point group (loaded on first lookup).
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

import torch
from torch import nn

from zcbench.errors import UnknownNameError, ZCBenchError, shown
from zcbench.plugins import load_entry_points
from zcbench.proxies.layers import WEIGHT_LAYERS
from zcbench.types import Arch, Batch

T = TypeVar("T")
Kind = Literal["forward", "backward", "own"]
KINDS: tuple[str, ...] = ("forward", "backward", "own")
COSTS: tuple[str, ...] = ("free", "forward", "backward", "heavy")
#: what an own proxy may read from the fused pass: ``train_graph`` (the forward of the images
#: with its graph kept, images requiring grad) and ``weight_grads`` (dCE/dW of every Conv2d /
#: Linear weight with its own graph, for second-order terms)
SHARED_USES: tuple[str, ...] = ("train_graph", "weight_grads")


class ProxyFailure(ZCBenchError):
    """A proxy cannot produce a value for this input (recorded as a failure, run goes on)."""


class ProxySkipped(ProxyFailure):
    """The proxy does not apply to this model at all (no ReLU for naswot, a normalisation
    synflow cannot remove, no pre-pooling feature map for zen, ...): recorded with status
    ``skipped`` and the reason, never as a value."""


@dataclass(frozen=True)
class ProxySpec:
    name: str
    kind: Kind
    #: True if a larger value predicts a better architecture
    higher_is_better: bool
    #: needs class labels (a cross-entropy loss)
    needs_labels: bool
    #: needs gradients (any backward pass)
    needs_grad: bool
    #: "float32" or "float64": the precision the proxy computes in
    dtype: str
    #: the proxy works on a copy with BatchNorm removed
    removes_bn: bool
    #: "free" (no pass), "forward", "backward" or "heavy" (several / second-order passes)
    cost: str
    paper: str
    formula: str
    #: bump when the definition changes: stored results are keyed by it
    version: int
    #: where the definition departs from the authors' code, and why ("" = it does not)
    departures: str
    factory: Callable[[], Proxy] = field(repr=False, compare=False)
    #: shared intermediates of the train-mode pass it reads (see :data:`SHARED_USES`)
    uses: tuple[str, ...] = ()

    def create(self) -> Proxy:
        return self.factory()

    def as_row(self) -> dict[str, object]:
        return {
            "proxy": self.name,
            "kind": self.kind,
            "higher_is_better": self.higher_is_better,
            "needs_labels": self.needs_labels,
            "needs_grad": self.needs_grad,
            "dtype": self.dtype,
            "removes_bn": self.removes_bn,
            "cost": self.cost,
            "version": self.version,
            "paper": self.paper,
            "formula": self.formula,
            "departures": self.departures,
        }


class ProxyContext:
    """What a proxy may use: the batch, and fresh private copies of the initialised model.

    The model is built and initialised once per (architecture, seed) with PyTorch's default
    initialisation under a seed derived from both, so reruns give identical values.
    """

    def __init__(
        self,
        arch: Arch,
        model: nn.Module,
        batch: Batch,
        num_classes: int,
        seed: int,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
        rebuild: Callable[[], nn.Module] | None = None,
        exact_second_order: bool = False,
        check_output: bool = False,
    ) -> None:
        self.arch = arch
        self._pristine = model  # never handed out; copies only
        #: builds a model identical to ``model`` (same seeded init), faster than a deep copy
        self._rebuild = rebuild
        self.batch = batch
        self.num_classes = num_classes
        self.seed = seed
        self.device = torch.device(device)
        self.dtype = dtype
        self._inputs: dict[torch.dtype, torch.Tensor] = {}
        self._shared: dict[str, object] = {}
        #: the network's create_graph backward equals its plain backward bit for bit, so the
        #: fused pass may hand its differentiable weight gradients to second-order proxies
        self.exact_second_order = exact_second_order
        #: a model of unknown make (score_model): each private copy checks that its forward
        #: returns one logits tensor, so a tuple or dict output is a recorded failure
        self.check_output = check_output

    def fork(self) -> ProxyContext:
        """The same model and batch with nothing computed yet (one-proxy-at-a-time scoring)."""
        return ProxyContext(
            self.arch,
            self._pristine,
            self.batch,
            self.num_classes,
            self.seed,
            self.device,
            self.dtype,
            self._rebuild,
            self.exact_second_order,
            self.check_output,
        )

    def shared(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per context. Fused scoring gives all proxies of an architecture
        one context, so proxies that need the same intermediate (say the input Jacobian of the
        initialised model) compute it once; unfused scoring gives each proxy its own. The key
        names the intermediate, never a proxy, and the value must not be mutated."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]  # type: ignore[return-value]

    # -- data ----------------------------------------------------------------------------
    def inputs(self, dtype: torch.dtype | None = None) -> torch.Tensor:
        """The batch's images on the device (cached and shared: clone before modifying, e.g.
        before ``requires_grad_()``)."""
        dtype = dtype or self.dtype
        if dtype not in self._inputs:
            self._inputs[dtype] = self.batch.inputs.to(self.device, dtype)
        return self._inputs[dtype]

    @property
    def targets(self) -> torch.Tensor:
        if self.batch.targets is None:
            raise ProxyFailure("this proxy needs labels but the batch has none")
        return self.batch.targets.to(self.device)

    @property
    def has_labels(self) -> bool:
        return self.batch.targets is not None

    def generator(self, salt: str = "") -> torch.Generator:
        """A torch generator seeded from (arch, seed, salt): for proxies that draw noise."""
        g = torch.Generator(device="cpu")
        g.manual_seed(derive_seed(self.arch.key, self.seed, salt))
        return g

    # -- models ----------------------------------------------------------------------------
    def fresh_model(self, dtype: torch.dtype | None = None, remove_bn: bool = False) -> nn.Module:
        """A private copy of the initialised model in train mode; mutate it freely."""
        model = self._rebuild() if self._rebuild else copy.deepcopy(self._pristine)
        if remove_bn:
            model = strip_batchnorm(model)
        model = model.to(device=self.device, dtype=dtype or self.dtype)
        model.train()
        if self.check_output:
            model.register_forward_hook(_require_tensor_output)
        return model

    def initial_model(self) -> nn.Module:
        """The initialised model itself (as built, before any device or dtype cast), for
        proxies that only read it (params, l2_norm; flops, whose one eval-mode ``no_grad``
        forward leaves it unchanged): never modify it or run it in a way that could."""
        return self._pristine

    def train_graph(self, dtype: torch.dtype | None = None) -> TrainGraph:
        """The batch's forward through a fresh train-mode copy, graph kept (shared, see
        :class:`TrainGraph`). Fused scoring hands over the shared pass's own forward."""
        dtype = dtype or self.dtype
        return self.shared(TrainGraph.key(dtype), lambda: TrainGraph.forward(self, dtype))


class TrainGraph:
    """One forward of the batch through a fresh train-mode copy (BatchNorm kept), autograd
    recording and the images requiring grad: what the input Jacobian (jacob_cov, epe_nas) and
    GraSP's Hessian-vector product differentiate, the same model state as the shared pass.

    It is shared: differentiate it with ``retain_graph=True`` and without leaving ``.grad``
    changed (:func:`torch.autograd.grad`, or ``.backward(inputs=[graph.inputs])`` restoring
    ``inputs.grad`` as jacob_cov does), and do not modify its tensors.
    """

    def __init__(self, model: nn.Module, inputs: torch.Tensor, logits: torch.Tensor) -> None:
        self.model = model
        self.inputs = inputs
        self.logits = logits
        #: dCE/dW of :attr:`weights` with their graph; set by the engine or on first use
        self._weight_grads: tuple[torch.Tensor | None, ...] | None = None

    @staticmethod
    def key(dtype: torch.dtype) -> str:
        return f"train_graph/{dtype}"

    @classmethod
    def forward(cls, ctx: ProxyContext, dtype: torch.dtype) -> TrainGraph:
        model = ctx.fresh_model(dtype=dtype)
        x = ctx.inputs(dtype).detach().clone().requires_grad_(True)  # never touch the batch
        with torch.enable_grad():
            return cls(model, x, model(x))

    @property
    def weights(self) -> list[torch.Tensor]:
        """The weights of every Conv2d / Linear, in module order."""
        return [m.weight for m in self.model.modules() if isinstance(m, WEIGHT_LAYERS)]

    def weight_grads(self, targets: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        """d(mean cross-entropy)/dW for :attr:`weights`, each with its graph
        (``create_graph=True``) for second-order terms; None where the loss does not reach."""
        if self._weight_grads is None:
            with torch.enable_grad():
                loss = nn.functional.cross_entropy(self.logits, targets)
                self._weight_grads = torch.autograd.grad(
                    loss, self.weights, create_graph=True, allow_unused=True
                )
        return self._weight_grads


def _require_tensor_output(module: nn.Module, inputs: tuple, output: object) -> None:
    """Forward hook on every private copy's root: proxies read ``model(x)`` as one logits
    tensor, so a model returning a tuple or dict is a recorded failure, not a crash."""
    if not isinstance(output, torch.Tensor):
        raise ProxyFailure(
            f"the model returns a {type(output).__name__}, not a tensor of logits; proxies need "
            "model(x) -> (N, classes) logits (wrap the model so that forward returns them)"
        )


def derive_seed(key: str, seed: int, salt: str = "") -> int:
    """A stable 63-bit seed from an architecture key, a user seed and a salt."""
    digest = hashlib.blake2b(f"{key}|{seed}|{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def strip_batchnorm(model: nn.Module) -> nn.Module:
    """Replace every BatchNorm layer by Identity (in place; returns the model)."""
    for name, child in model.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(model, name, nn.Identity())
        else:
            strip_batchnorm(child)
    return model


class Proxy(ABC):
    """Base of every proxy implementation (one instance per scored architecture)."""

    spec: ClassVar[ProxySpec]


class HookProxy(Proxy):
    """``forward`` / ``backward`` proxies: hooks on the shared pass, then a score."""

    #: module types whose forward this proxy observes
    module_types: ClassVar[tuple[type[nn.Module], ...]] = (nn.ReLU,)

    def start(self, ctx: ProxyContext, model: nn.Module) -> None:  # noqa: B027 - optional
        """Called once before the pass with the shared model (do not modify it)."""

    def on_forward(  # noqa: B027 - optional: gradient-only proxies hook nothing
        self, name: str, module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor
    ) -> None:
        """Observe one hooked module. ``forward`` proxies get detached tensors."""

    def grad_hook(self, tensor: torch.Tensor, fn: Callable[[torch.Tensor], None]) -> None:
        """Call ``fn(grad)`` when the labelled backward reaches ``tensor`` (from
        :meth:`on_forward` of a ``backward`` proxy). The engine removes these hooks right after
        that backward, so later passes over the same graph do not reach them."""
        self.__dict__.setdefault("_grad_handles", []).append(tensor.register_hook(fn))

    def remove_grad_hooks(self) -> None:
        for handle in self.__dict__.pop("_grad_handles", []):
            handle.remove()

    @abstractmethod
    def score(self, ctx: ProxyContext, model: nn.Module, logits: torch.Tensor) -> float:
        """The value, after the pass (and its backward, for ``backward`` proxies)."""


class OwnProxy(Proxy):
    @abstractmethod
    def score(self, ctx: ProxyContext) -> float: ...


# -- registry ------------------------------------------------------------------------------
_REGISTRY: dict[str, ProxySpec] = {}
_ENTRY_POINTS_LOADED = False
ENTRY_POINT_GROUP = "zcbench.proxies"


def register_proxy(
    name: str,
    *,
    kind: Kind,
    higher_is_better: bool = True,
    needs_labels: bool = False,
    needs_grad: bool | None = None,
    dtype: str = "float32",
    removes_bn: bool = False,
    cost: str | None = None,
    paper: str,
    formula: str,
    version: int = 1,
    departures: str = "",
    uses: tuple[str, ...] = (),
) -> Callable[[type[Proxy]], type[Proxy]]:
    """Class decorator registering a proxy; a duplicate name raises ValueError."""
    unknown_uses = sorted(set(uses) - set(SHARED_USES))
    if unknown_uses:
        raise ValueError(f"unknown uses {unknown_uses}; expected some of {', '.join(SHARED_USES)}")
    if uses and kind != "own":
        raise ValueError("only own proxies declare uses: hook proxies are in the pass already")
    if kind not in KINDS:
        raise ValueError(f"unknown proxy kind {kind!r}; expected one of {', '.join(KINDS)}")
    if dtype not in ("float32", "float64"):
        raise ValueError(f"unknown dtype {dtype!r}; expected float32 or float64")
    grad = kind == "backward" if needs_grad is None else needs_grad
    cost = cost or {"forward": "forward", "backward": "backward", "own": "heavy"}[kind]
    if cost not in COSTS:
        raise ValueError(f"unknown cost {cost!r}; expected one of {', '.join(COSTS)}")

    def decorate(cls: type[Proxy]) -> type[Proxy]:
        if name in _REGISTRY:
            raise ValueError(f"a proxy named {name!r} is already registered")
        base = HookProxy if kind in ("forward", "backward") else OwnProxy
        if not issubclass(cls, base):
            raise TypeError(f"proxy {name!r} of kind {kind!r} must subclass {base.__name__}")
        spec = ProxySpec(
            name,
            kind,
            higher_is_better,
            needs_labels,
            grad,
            dtype,
            removes_bn,
            cost,
            paper,
            formula,
            version,
            departures,
            factory=cls,
            uses=tuple(uses),
        )
        cls.spec = spec
        _REGISTRY[name] = spec
        return cls

    return decorate


def unregister_proxy(name: str) -> None:
    """Remove a proxy (for tests and plugins that replace their own)."""
    _REGISTRY.pop(name, None)


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    load_entry_points(ENTRY_POINT_GROUP, "proxy plugin")  # importing a module registers


def get_proxy(name: str) -> ProxySpec:
    _load_entry_points()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNameError(
            f"unknown proxy {shown(name)}; expected one of: {', '.join(sorted(_REGISTRY))}"
        ) from None


def list_proxies(pattern: str = "*") -> list[str]:
    """Registered names matching a shell-style pattern (``syn*``), sorted."""
    _load_entry_points()
    return sorted(n for n in _REGISTRY if fnmatch.fnmatchcase(n, pattern))


@dataclass(frozen=True)
class DerivedMember:
    """A ranking member computed from stored proxies' values, not scored itself: ``needs``
    names the proxies it reads, ``combine`` maps their *signed* values (numpy arrays, higher =
    better, NaN where a proxy failed) to its own signed value."""

    name: str
    needs: tuple[str, ...]
    combine: Callable[..., Any]


#: derived members by name; searchers rank them like stored proxies, and the analysis reads
#: the proxies they need (:func:`member_inputs`)
DERIVED: dict[str, DerivedMember] = {}


def register_derived(name: str, needs: tuple[str, ...], combine: Callable[..., Any]) -> None:
    """Register a derived member (its ``needs`` must be registered proxies)."""
    if name in _REGISTRY:
        raise ValueError(f"{name!r} is a registered proxy; a derived member needs its own name")
    unknown = [q for q in needs if q not in _REGISTRY]
    if unknown:
        raise UnknownNameError(f"derived member {name!r} reads unregistered proxies {unknown}")
    DERIVED[name] = DerivedMember(name, tuple(needs), combine)


def member_inputs(members: Sequence[str]) -> tuple[str, ...]:
    """The stored proxies a list of members reads: a derived member's ``needs``, any other
    member itself; first appearance kept, duplicates dropped."""
    out = [q for m in members for q in (DERIVED[m].needs if m in DERIVED else (m,))]
    return tuple(dict.fromkeys(out))


def resolve_proxies(text: str) -> list[ProxySpec]:
    """``all`` or a comma-separated list of names / patterns, in a stable order."""
    _load_entry_points()
    names: list[str] = []
    for item in (t.strip() for t in str(text).split(",")):
        if not item:
            continue
        if item == "all":
            names.extend(sorted(_REGISTRY))
        elif any(c in item for c in "*?["):
            matched = list_proxies(item)
            if not matched:
                raise UnknownNameError(f"no proxy matches {shown(item)}; see 'zcbench proxies'")
            names.extend(matched)
        else:
            names.append(get_proxy(item).name)
    if not names:
        raise UnknownNameError("no proxies selected; expected 'all' or names like synflow,naswot")
    return [_REGISTRY[n] for n in dict.fromkeys(names)]
