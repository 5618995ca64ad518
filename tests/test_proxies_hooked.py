"""snip, plain, fisher (shared labelled backward pass) and swap, meco (shared forward pass).

Each proxy is checked three ways: against a second, independent computation on small
hand-built networks (the authors' own recipe: a weight mask for snip / plain, activations
with retained gradients broadcast over each output channel's weights for fisher, ``unique``
over the (neurons x samples) sign matrix for SWAP, ``linalg.eig`` in float32 for MeCo), by
golden values on a real NB201 network and CIFAR-10 minibatch, and fused against unfused.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zcbench.engine.scoring import score_arch, score_context
from zcbench.proxies import get_proxy
from zcbench.proxies.base import ProxyContext
from zcbench.proxies.meco import min_eig_correlation
from zcbench.proxies.naswot import hamming_kernel
from zcbench.proxies.swap import pack_patterns, unique_rows
from zcbench.types import Arch, Batch

NAMES = ("snip", "plain", "fisher", "swap", "meco")
ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|"
#: fused values for ARCH, cifar10 minibatch(16, seed=0), num_classes=10, seed=0
GOLDEN = {
    "snip": 91.45882841547056,
    "plain": 0.04590708506455572,
    "fisher": 1.4798412187008023,
    "swap": 55901.0,
    "meco": 16.34230559123729,
}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: on a small shared CPU, two threads contending with other processes
    made one NB201 pass 20x slower. Restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- small hand-built networks -------------------------------------------------------------
def _toy_conv(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1, bias=False),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.Conv2d(6, 6, 3, padding=1, groups=2),  # grouped, with a bias: fan-in = 3 * 3 * 3
        nn.ReLU(),
        nn.Conv2d(6, 8, 1, stride=2),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 5),
    )


def _batch(n: int, classes: int = 5, size: int = 6, seed: int = 1) -> Batch:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, size, size, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    return Batch(x, y, "toy")


def _score(name: str, model: nn.Module, batch: Batch, classes: int = 5) -> float:
    ctx = ProxyContext(Arch("toy", (0,)), model, batch, classes, seed=0)
    (result,) = score_context(ctx, [get_proxy(name)])
    assert result.status == "ok", result.error
    return result.value


def _weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _mask_gradients(model: nn.Module, batch: Batch) -> list[torch.Tensor]:
    """SNIP's recipe: W -> W * mask with mask = 1; return dL/dmask per weight layer."""
    model.train()
    params = dict(model.named_parameters())
    masks = {f"{n}.weight": torch.ones_like(m.weight, requires_grad=True) for n, m in
             _weight_layers(model)}  # fmt: skip
    masked = {k: (p.detach() * masks[k] if k in masks else p) for k, p in params.items()}
    logits = torch.func.functional_call(model, masked, (batch.inputs,))
    loss = F.cross_entropy(logits, batch.targets)
    return list(torch.autograd.grad(loss, list(masks.values())))


def test_snip_and_plain_match_the_mask_gradients():
    model, batch = _toy_conv(), _batch(8)
    grads = _mask_gradients(model, batch)
    assert _score("snip", model, batch) == pytest.approx(
        sum(float(g.abs().sum()) for g in grads), rel=1e-6
    )
    plain = sum(float(g.double().sum()) for g in grads)
    assert _score("plain", model, batch) == pytest.approx(plain, rel=1e-5, abs=1e-9)


def test_fisher_matches_the_authors_broadcast_recipe():
    model, batch = _toy_conv(), _batch(8)
    ref = _toy_conv()
    ref.train()
    acts = []
    h = batch.inputs
    for layer in ref:
        h = layer(h)
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            h.retain_grad()
            acts.append((layer, h))
    F.cross_entropy(h, batch.targets).backward()
    total = 0.0
    for layer, a in acts:
        g_nk = a * a.grad
        if g_nk.dim() > 2:
            g_nk = g_nk.sum(dim=(2, 3))
        per_channel = 0.5 * g_nk.pow(2).mean(0)
        # their reshape_elements: each channel's value fills that channel's weights, then summed
        broadcast = torch.stack([torch.full(layer.weight.shape[1:], float(v)) for v in
                                 per_channel.detach()])  # fmt: skip
        total += float(broadcast.double().sum())
    assert _score("fisher", model, batch) == pytest.approx(total, rel=1e-5)


def test_fisher_of_a_linear_classifier_has_a_closed_form():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 2 * 2, 4))
    batch = _batch(10, classes=4, size=2)
    with torch.no_grad():
        z = model(batch.inputs).double()
    n = z.shape[0]
    g = (torch.softmax(z, 1) - F.one_hot(batch.targets, 4).double()) / n  # d mean-CE / dz
    expected = 12 * float((0.5 * (z * g).pow(2).mean(0)).sum())
    assert _score("fisher", model, batch, classes=4) == pytest.approx(expected, rel=1e-5)


def _swap_reference(model: nn.Module, x: torch.Tensor) -> int:
    """The authors' SWAP: sign of every 4-D ReLU output, unique rows of (neurons, samples)."""
    feats = []
    hooks = [m.register_forward_hook(lambda m, i, o: feats.append(o.detach()))
             for m in model.modules() if isinstance(m, nn.ReLU)]  # fmt: skip
    model.train()
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    acts = torch.sign(torch.cat([f.view(x.shape[0], -1) for f in feats], 1))
    return torch.unique(acts.T, dim=0).shape[0]


@pytest.mark.parametrize("n", [5, 16, 70])  # 70 images: two 64-bit words per neuron
def test_swap_matches_unique_sign_rows(n):
    model, batch = _toy_conv(), _batch(n)
    value = _score("swap", model, batch)
    assert value == _swap_reference(_toy_conv(), batch.inputs)
    assert 2 <= value <= 2**n


def test_swap_packing_keeps_patterns_distinct():
    g = torch.Generator().manual_seed(0)
    for n in (1, 63, 64, 65, 130):
        bits = torch.rand(n, 500, generator=g) < 0.5
        bits[:, 250:] = bits[:, :250]  # half are repeats
        bits[:, 0] = True  # the all-ones pattern (the word's sign bit set when n >= 64)
        expected = torch.unique(bits.T.to(torch.int8), dim=0).shape[0]
        assert unique_rows(pack_patterns(bits)).shape[0] == expected


def test_swap_counts_a_known_pattern_set():
    # one ReLU on 4 images x 3 neurons: neuron patterns (1,0,1,0), (1,0,1,0), (0,0,0,0)
    x = torch.tensor([[1.0, 2.0, -1.0], [-1.0, -3.0, 0.0], [0.5, 0.1, -2.0], [-2.0, -1.0, -1.0]])
    model = nn.Sequential(nn.ReLU())
    assert _score("swap", model, Batch(x.view(4, 3, 1, 1), None, "toy")) == 2.0


def _meco_reference(model: nn.Module, x: torch.Tensor) -> float:
    """The authors' hook, verbatim in spirit: float32 corrcoef, NaN/Inf -> 0, linalg.eig."""
    out = []

    def hook(module, inputs, output):
        fea = output[0].detach()
        fea = fea.reshape(fea.shape[0], -1)
        corr = torch.corrcoef(fea)
        corr[torch.isnan(corr)] = 0
        corr[torch.isinf(corr)] = 0
        out.append(float(torch.min(torch.real(torch.linalg.eig(corr)[0]))))

    hooks = [m.register_forward_hook(hook) for m in model.modules()]
    model.train()
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return sum(v for v in out if not math.isnan(v))


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch.corrcoef on one column per row
def test_meco_matches_the_authors_hook_on_every_module():
    model, batch = _toy_conv(), _batch(4, size=8)
    assert _score("meco", model, batch) == pytest.approx(
        _meco_reference(_toy_conv(), batch.inputs), rel=1e-4, abs=1e-5
    )


def test_meco_layer_edge_cases():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 5, 5, generator=g)
    corr = torch.corrcoef(x.reshape(4, -1).double())
    assert min_eig_correlation(x) == pytest.approx(float(torch.linalg.eigvalsh(corr)[0]))
    x[2] = 0.0  # a constant channel (the 'none' op, a dead ReLU): its row is zeroed, so 0
    assert min_eig_correlation(x) == pytest.approx(0.0, abs=1e-12)
    assert min_eig_correlation(torch.randn(10, generator=g)) == 0.0  # logits: (10, 1)
    assert min_eig_correlation(torch.randn(7, 1, 1, generator=g)) == 0.0  # pooled features


def test_specs():
    for name in NAMES:
        spec = get_proxy(name)
        assert spec.higher_is_better
        assert spec.paper and spec.formula
    for name in ("snip", "plain", "fisher"):
        spec = get_proxy(name)
        assert (spec.kind, spec.needs_labels, spec.needs_grad) == ("backward", True, True)
        assert spec.departures == ""
    for name in ("swap", "meco"):
        spec = get_proxy(name)
        assert (spec.kind, spec.needs_labels, spec.needs_grad) == ("forward", False, False)
        assert spec.departures


def test_forward_proxies_run_without_labels():
    model, batch = _toy_conv(), _batch(6, size=8).without_labels()
    ctx = ProxyContext(Arch("toy", (0,)), model, batch, 5, seed=0)
    results = score_context(ctx, [get_proxy(n) for n in NAMES])
    status = {r.proxy: r.status for r in results}
    assert status == {"snip": "skipped", "plain": "skipped", "fisher": "skipped",
                      "swap": "ok", "meco": "ok"}  # fmt: skip


# -- a real NB201 network on real CIFAR-10 images ------------------------------------------
@pytest.fixture(scope="module")
def nb201_results(nb201):
    from zcbench.tables.data import minibatch

    arch = nb201.parse(ARCH)
    batch = minibatch("cifar10", 16, seed=0)
    specs = [get_proxy(n) for n in NAMES]
    fused = score_arch(nb201, arch, batch, specs, num_classes=10, seed=0)
    unfused = score_arch(nb201, arch, batch, specs, num_classes=10, seed=0, fused=False)
    return {r.proxy: r for r in fused}, {r.proxy: r for r in unfused}


@pytest.mark.data
@pytest.mark.parametrize("name", NAMES)
def test_golden_values_on_nb201(nb201_results, name):
    fused, _ = nb201_results
    assert fused[name].status == "ok", fused[name].error
    # float32 reductions differ between CPUs (vector width, oneDNN kernels): fisher, a sum of
    # squared per-channel products, moved by 1.0e-5 relative between two of our hosts
    assert fused[name].value == pytest.approx(GOLDEN[name], rel=1e-4)


@pytest.mark.data
@pytest.mark.parametrize("name", NAMES)
def test_fused_equals_unfused(nb201_results, name):
    fused, unfused = nb201_results
    assert unfused[name].status == "ok", unfused[name].error
    assert unfused[name].value == pytest.approx(fused[name].value, rel=1e-6)


def test_naswot_kernel_is_the_authors_two_products():
    """One float32 product gives exactly the authors' x x^T + (1-x)(1-x)^T: N_A - Hamming."""
    gen = torch.Generator().manual_seed(0)
    for d in (1, 7, 4099):
        codes = torch.rand(9, d, generator=gen) > 0.3
        x = codes.to(torch.float64)
        expected = x @ x.T + (1 - x) @ (1 - x).T
        assert torch.equal(hamming_kernel(codes), expected)
        hamming = (codes[:, None, :] != codes[None, :, :]).sum(-1).to(torch.float64)
        assert torch.equal(hamming_kernel(codes), d - hamming)
