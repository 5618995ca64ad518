"""The registry, the engine's policy, and the contract every registered proxy must meet."""

import math

import pytest
import torch
from torch import nn

from zcbench.engine.scoring import build_context, score_arch, score_context
from zcbench.errors import UnknownNameError
from zcbench.proxies import get_proxy, list_proxies, resolve_proxies
from zcbench.proxies.base import (
    HookProxy,
    OwnProxy,
    ProxyContext,
    ProxyFailure,
    TrainGraph,
    register_proxy,
    unregister_proxy,
)
from zcbench.tables.data import minibatch
from zcbench.types import Arch

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|"
ALL = list_proxies()


@pytest.fixture(scope="module")
def batch():
    # 2 images of each class: enough for per-class and split-batch proxies
    return minibatch("cifar10", 20, seed=0, sampling="balanced")


@pytest.fixture(scope="module")
def arch(nb201):
    return nb201.parse(ARCH)


def _params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _no_hooks(model):
    return all(
        not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks
        for m in model.modules()
    ) and all(not p._backward_hooks for p in model.parameters() if p._backward_hooks is not None)


# -- contract over every registered proxy ---------------------------------------------------
@pytest.mark.data
@pytest.mark.parametrize("name", ALL)
def test_contract(nb201, arch, batch, name):
    spec = get_proxy(name)
    ctx = build_context(nb201, arch, batch, 10, seed=0)
    before = _params(ctx._pristine)
    modes = [m.training for m in ctx._pristine.modules()]
    (first,) = score_context(ctx, [spec])
    assert first.status == "ok", first.error
    assert isinstance(first.value, float) and math.isfinite(first.value)
    after = _params(ctx._pristine)
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before), "the caller's model changed"
    assert _no_hooks(ctx._pristine)
    assert [m.training for m in ctx._pristine.modules()] == modes, "train/eval mode changed"
    assert all(p.grad is None for p in ctx._pristine.parameters()), "gradients left behind"
    (again,) = score_arch(nb201, arch, batch, [spec], num_classes=10, seed=0)
    assert again.value == first.value, "not deterministic"
    (unlabelled,) = score_arch(nb201, arch, batch.without_labels(), [spec], num_classes=10)
    if spec.needs_labels:
        assert unlabelled.status == "skipped"
    else:
        assert unlabelled.status == "ok" and unlabelled.value == first.value


@pytest.mark.data
def test_fused_equals_unfused(nb201, arch, batch):
    specs = resolve_proxies("all")
    fused = score_arch(nb201, arch, batch, specs, num_classes=10, seed=3)
    unfused = score_arch(nb201, arch, batch, specs, num_classes=10, seed=3, fused=False)
    for a, b in zip(fused, unfused, strict=True):
        assert a.proxy == b.proxy and a.status == b.status
        assert a.value == pytest.approx(b.value, rel=1e-9, abs=1e-12), a.proxy


@pytest.mark.data
def test_fused_graph_users_reuse_the_shared_forward(nb201, arch, batch, monkeypatch):
    """Fused, jacob_cov / epe_nas / grasp differentiate the shared pass's forward (no forward
    of their own); alone, they run it themselves, with the same values."""
    specs = resolve_proxies("grad_norm,jacob_cov,epe_nas,grasp")
    alone = [score_arch(nb201, arch, batch, [s], num_classes=10)[0].value for s in specs]
    forwards = []
    original = TrainGraph.forward.__func__
    monkeypatch.setattr(
        TrainGraph, "forward", classmethod(lambda cls, *a: forwards.append(1) or original(cls, *a))
    )
    fused = score_arch(nb201, arch, batch, specs, num_classes=10)
    assert forwards == [], "a graph user ran its own forward despite the shared pass"
    assert [r.value for r in fused] == alone
    score_arch(nb201, arch, batch, specs[1:], num_classes=10)  # no hook proxy: one forward
    assert forwards == [1]


def test_shared_uses_are_validated():
    with pytest.raises(ValueError, match="unknown uses"):
        register_proxy("bad_uses", kind="own", paper="p", formula="f", uses=("activations",))
    with pytest.raises(ValueError, match="only own proxies"):
        register_proxy("bad_uses", kind="forward", paper="p", formula="f", uses=("train_graph",))


def test_rebuilt_copies_equal_the_built_model(nb201, arch, batch):
    ctx = build_context(nb201, arch, batch, 10, seed=5)
    copy, pristine = ctx.fresh_model().state_dict(), ctx._pristine.state_dict()
    assert copy.keys() == pristine.keys()
    assert all(torch.equal(copy[k], pristine[k]) for k in copy)


@pytest.mark.data
def test_seed_changes_the_init_but_not_the_callers_rng(nb201, arch, batch):
    spec = get_proxy("l2_norm")
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = score_arch(nb201, arch, batch, [spec], num_classes=10, seed=0)[0].value
    assert torch.equal(torch.rand(3), expected)
    b = score_arch(nb201, arch, batch, [spec], num_classes=10, seed=1)[0].value
    assert a != b


# -- the registry ---------------------------------------------------------------------------
def test_listing_and_resolution():
    assert list_proxies("*norm") == [n for n in ALL if n.endswith("norm")]
    assert [s.name for s in resolve_proxies("naswot,grad_*,naswot")] == ["naswot", "grad_norm"]
    assert [s.name for s in resolve_proxies("all")] == ALL
    with pytest.raises(UnknownNameError, match="unknown proxy 'nope'"):
        resolve_proxies("nope")
    with pytest.raises(UnknownNameError, match="no proxy matches 'zz\\*'"):
        resolve_proxies("zz*")


def test_every_spec_documents_itself():
    for name in ALL:
        spec = get_proxy(name)
        assert spec.paper and spec.formula and spec.version >= 1
        assert spec.kind in ("forward", "backward", "own")
        module = type(spec.create()).__module__
        doc = __import__(module, fromlist=["_"]).__doc__
        assert doc and len(doc) > 80, f"{module} needs a docstring with paper and formula"


def test_duplicate_names_raise():
    with pytest.raises(ValueError, match="already registered"):
        register_proxy("naswot", kind="own", paper="x", formula="x")(type("X", (OwnProxy,), {}))


# -- third-party proxies and failure capture --------------------------------------------------
class _Const(OwnProxy):
    value = 1.0

    def score(self, ctx: ProxyContext) -> float:
        return self.value


@pytest.fixture()
def plugin():
    """Register throwaway proxies the way a third party would, and remove them afterwards."""
    names = []

    def add(name, cls, kind="own", **kw):
        register_proxy(name, kind=kind, paper="test", formula="test", **kw)(cls)
        names.append(name)
        return get_proxy(name)

    yield add
    for n in names:
        unregister_proxy(n)


@pytest.mark.data
def test_third_party_registration_and_recorded_failures(nb201, arch, batch, plugin):
    class Nan(_Const):
        value = float("nan")

    class Inf(_Const):
        value = float("-inf")

    class Fails(OwnProxy):
        def score(self, ctx):
            raise ProxyFailure("documented failure")

    class Singular(OwnProxy):
        def score(self, ctx):
            return float(torch.linalg.inv(torch.zeros(2, 2)).sum())

    class OOM(OwnProxy):
        def score(self, ctx):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9 GiB")

    class Bug(OwnProxy):
        def score(self, ctx):
            raise KeyError("a real bug must not be swallowed")

    specs = [
        plugin("t_const", _Const),
        plugin("t_nan", Nan),
        plugin("t_inf", Inf),
        plugin("t_fail", Fails),
        plugin("t_singular", Singular),
        plugin("t_oom", OOM),
    ]
    assert "t_const" in list_proxies("t_*")
    results = {r.proxy: r for r in score_arch(nb201, arch, batch, specs, num_classes=10)}
    assert results["t_const"].value == 1.0 and results["t_const"].status == "ok"
    assert results["t_nan"].status == "nan" and results["t_nan"].value is None
    assert results["t_inf"].status == "inf" and "-inf" in results["t_inf"].error
    assert results["t_fail"].status == "error" and "documented failure" in results["t_fail"].error
    assert results["t_singular"].status == "error" and "LinAlgError" in results["t_singular"].error
    assert results["t_oom"].status == "oom"
    with pytest.raises(KeyError):
        score_arch(nb201, arch, batch, [plugin("t_bug", Bug)], num_classes=10)


@pytest.mark.data
def test_hook_proxy_failure_is_isolated_and_hooks_are_removed(nb201, arch, batch, plugin):
    class BadHook(HookProxy):
        module_types = (nn.ReLU,)

        def on_forward(self, name, module, inputs, output):
            raise ProxyFailure("hook failed")

        def score(self, ctx, model, logits):
            return 0.0

    class Seen(HookProxy):
        module_types = (nn.Conv2d,)

        def start(self, ctx, model):
            self.model, self.n = model, 0

        def on_forward(self, name, module, inputs, output):
            assert not output.requires_grad  # forward proxies see detached tensors
            self.n += 1

        def score(self, ctx, model, logits):
            assert _no_hooks(self.model)  # removed before scoring
            return float(self.n)

    bad, seen = plugin("t_badhook", BadHook, kind="forward"), plugin("t_seen", Seen, "forward")
    r = {x.proxy: x for x in score_arch(nb201, arch, batch, [bad, seen, get_proxy("grad_norm")],
                                        num_classes=10)}  # fmt: skip
    assert r["t_badhook"].status == "error" and "hook failed" in r["t_badhook"].error
    assert r["t_seen"].status == "ok" and r["t_seen"].value > 0
    assert r["grad_norm"].status == "ok"


def test_failed_model_copy_is_recorded(plugin):
    """An out-of-memory in the shared pass fails every proxy of that pass, with the reason."""

    class Huge(nn.Module):
        def forward(self, x):
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried 1 TB")

    spec = get_proxy("naswot")
    batch = minibatch("cifar10", 4, seed=0)
    ctx = ProxyContext(Arch("nb201", (0,) * 6), Huge(), batch, 10, 0)
    (r,) = score_context(ctx, [spec])
    assert r.status == "oom" and "allocate memory" in r.error
