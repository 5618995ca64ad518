"""vkdnw, AZ-NAS's components and the reworked synaptic_diversity: hand-computed checks on tiny
models, properties the definitions imply, determinism and golden values on NB201."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from zcbench.proxies import ProxyContext, get_proxy
from zcbench.proxies.az_nas import covariance_entropy, stage_trainability
from zcbench.proxies.vkdnw import (
    DECILES,
    cholesky_factor,
    first_element_jacobian,
    spectrum_entropy,
)
from zcbench.types import Arch, Batch

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|"
NEW = ("vkdnw", "vkdnw_dim", "az_expressivity", "az_progressivity", "az_trainability",
       "synaptic_diversity")  # fmt: skip


def _ctx(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None):
    return ProxyContext(Arch("toy", (0,)), model, Batch(inputs, targets, "toy"), 3, seed=0)


# -- vkdnw -----------------------------------------------------------------------------------
def test_cholesky_factor_is_the_smoothed_softmax_covariance():
    logits = torch.randn(5, 7, generator=torch.Generator().manual_seed(0)) * 3
    lower = cholesky_factor(logits)
    p = torch.softmax(logits.double(), 1) * 0.95 + 0.05 / 7
    cov = torch.diag_embed(p) - p.unsqueeze(2) * p.unsqueeze(1)
    assert torch.allclose(lower @ lower.transpose(1, 2), cov, atol=1e-12)
    assert torch.equal(lower, torch.tril(lower))


def test_first_element_jacobian_of_a_linear_model_by_hand():
    """logits = W x + b: d logits / d W[0, 0] = e_0 x[0] and d logits / d b[0] = e_0."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    x = torch.randn(6, 1, 2, 2)
    jac, logits = first_element_jacobian(model, x)
    assert jac.shape == (6, 3, 2)
    expected = torch.zeros(6, 3, 2)
    expected[:, 0, 0] = x.reshape(6, 4)[:, 0]
    expected[:, 0, 1] = 1.0
    assert torch.allclose(jac, expected, atol=1e-6)
    assert torch.allclose(logits, model(x), atol=1e-6)


def test_first_element_jacobian_forwards_each_image_alone():
    """BatchNorm (no running statistics) normalises each image with its own statistics: an
    image's row does not change when the other images do."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, track_running_stats=False),
                          nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))  # fmt: skip
    x = torch.randn(4, 3, 6, 6)
    a, _ = first_element_jacobian(model, x)
    y = x.clone()
    y[1:] = torch.randn(3, 3, 6, 6)
    b, _ = first_element_jacobian(model, y)
    assert torch.allclose(a[0], b[0], atol=1e-6)
    assert not torch.allclose(a[1], b[1])


def test_spectrum_entropy_of_known_deciles():
    lambdas = torch.arange(1.0, 12.0, dtype=torch.float64)  # deciles 2, 3, ..., 10
    q = np.quantile(lambdas.numpy(), DECILES)
    t = q / q.sum()
    assert spectrum_entropy(lambdas) == pytest.approx(float(-(t * np.log(t)).sum()), rel=1e-9)
    assert spectrum_entropy(torch.ones(50, dtype=torch.float64)) == pytest.approx(math.log(9))


def test_vkdnw_dim_counts_parameter_tensors():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.Flatten(),
                          nn.Linear(4, 3))  # fmt: skip
    value = get_proxy("vkdnw_dim").create().score(_ctx(model, torch.randn(2, 3, 3, 3)))
    assert value == 5.0  # conv weight, BN weight and bias, linear weight and bias


# -- AZ-NAS ----------------------------------------------------------------------------------
def test_covariance_entropy_of_orthogonal_channels():
    """Two centred, orthogonal channels of equal norm: eigenvalues equal, entropy log 2."""
    pixels = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])  # (h*w, c)
    feature = pixels.T.reshape(1, 2, 2, 2)
    assert covariance_entropy(feature) == pytest.approx(math.log(2), abs=1e-7)
    one_channel = torch.cat([feature, torch.zeros_like(feature)], dim=1)  # 2 of 4 carry all
    assert covariance_entropy(one_channel) == pytest.approx(math.log(2), abs=1e-6)


def test_stage_trainability_identity_and_scaling():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    assert stage_trainability(x, x * 1.0, g) == -math.inf  # the input gradient is g_out
    # y = a x: M = a g^T g / n; its largest singular value is a * sigma_max(g^T g / n)
    x = torch.randn(64, 2, 8, 8, requires_grad=True)
    value = stage_trainability(x, x * 3.0, torch.Generator().manual_seed(1))
    bits = torch.randint(0, 2, (64, 2, 8, 8), generator=torch.Generator().manual_seed(1),
                         dtype=torch.int8) * 2 - 1  # fmt: skip
    go = bits.movedim(1, -1).reshape(-1, 2).double()
    s = 3.0 * float(torch.linalg.matrix_norm(go.T @ go / go.shape[0], ord=2))
    assert value == pytest.approx(-s - 1 / (s + 1e-6) + 2, rel=1e-9)


def test_stage_trainability_unshuffles_a_downsampling_stage():
    x = torch.randn(4, 2, 8, 8, requires_grad=True)
    y = nn.functional.avg_pool2d(x, 2).repeat(1, 4, 1, 1)  # 2 -> 8 channels, 8x8 -> 4x4
    assert math.isfinite(stage_trainability(x, y, torch.Generator().manual_seed(0)))


def test_az_needs_feature_stages():
    model = nn.Sequential(nn.Conv2d(3, 2, 1), nn.Flatten(), nn.Linear(2 * 4, 3))
    from zcbench.engine.scoring import score_context

    (result,) = score_context(_ctx(model, torch.randn(2, 3, 2, 2)), [get_proxy("az_expressivity")])
    assert result.status == "skipped" and "feature_stages" in result.error


# -- synaptic_diversity (the real-loss adaptation) -------------------------------------------
def test_synaptic_diversity_by_hand():
    """sum over Conv2d / Linear of s(W) s(dCE/dW), s = ||.||_nuc / ||.||_F, on the model as it
    is; s is scale-free and between 1 and sqrt(rank)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Flatten(), nn.Linear(4 * 2 * 2, 3))  # fmt: skip
    x, y = torch.randn(8, 3, 4, 4), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    from zcbench.engine.scoring import score_context

    (result,) = score_context(_ctx(model, x, y), [get_proxy("synaptic_diversity")])
    ref = nn.Sequential(*[m for m in __import__("copy").deepcopy(model)])
    ref.train()
    nn.functional.cross_entropy(ref(x), y).backward()
    expected = 0.0
    for m in (ref[0], ref[4]):
        w, g = m.weight.detach().double(), m.weight.grad.double()
        spread = lambda t: float(  # noqa: E731
            torch.linalg.matrix_norm(t.reshape(t.shape[0], -1), "nuc") / t.norm()
        )
        assert 1.0 <= spread(g) <= math.sqrt(min(g.shape[0], g[0].numel())) + 1e-9
        expected += spread(w) * spread(g)
    assert result.status == "ok"
    assert result.value == pytest.approx(expected, rel=1e-6)


# -- NB201: determinism, dataset independence, golden values ---------------------------------
GOLDEN = {
    "vkdnw": 0.6735060836361808,
    "vkdnw_dim": 156.0,
    "az_expressivity": 54.96359117787581,
    "az_progressivity": -0.04237605173322345,
    "az_trainability": -0.4730486230829391,
    "synaptic_diversity": 865.9587544276625,
}


@pytest.fixture(scope="module")
def nb201_scores():
    from zcbench.engine.scoring import score_arch
    from zcbench.spaces import get_space
    from zcbench.tables.data import minibatch

    torch.set_num_threads(1)
    s = get_space("nb201")
    arch = s.parse(ARCH)
    b10 = minibatch("cifar10", 16, seed=0)
    specs = [get_proxy(n) for n in NEW]
    first = score_arch(s, arch, b10, specs, num_classes=10, seed=0)
    again = score_arch(s, arch, b10, specs, num_classes=10, seed=0)
    b100 = minibatch("cifar100", 16, seed=0)
    az = [get_proxy(n) for n in NEW if n.startswith("az_")]
    c100 = score_arch(s, arch, b100, az, num_classes=100, seed=0)
    return first, again, c100


@pytest.mark.data
def test_new_proxies_on_nb201(nb201_scores):
    first, again, c100 = nb201_scores
    assert all(r.status == "ok" and math.isfinite(r.value) for r in first), first
    assert [r.value for r in first] == [r.value for r in again]
    values = {r.proxy: r.value for r in first}
    # AZ-NAS reads the body on Gaussian noise: the same at the same resolution, any classes
    assert {r.proxy: r.value for r in c100} == {k: values[k] for k in values if k.startswith("az_")}
    for name, golden in GOLDEN.items():
        # float32 reductions differ between CPUs (see test_proxies_own_a); within a host equal
        assert values[name] == pytest.approx(golden, rel=2e-3), name


@pytest.mark.data
@pytest.mark.parametrize("classes", [10, 100])
def test_vkdnw_fast_path_equals_the_torch_func_path(nb201, classes):
    """The per-image delta trick (Conv2d / Linear / BatchNorm2d networks) gives the
    Jacobian the authors' torch.func construction gives: one backward per class for 10
    classes, and through the 64-feature classifier input for 100."""
    import copy

    from torch.func import replace_all_batch_norm_modules_

    from zcbench.proxies.layers import kaiming_fanin_init
    from zcbench.proxies.vkdnw import _per_image_network, per_image_jacobian

    torch.manual_seed(0)
    model = nb201.build(nb201.parse(ARCH), classes)
    kaiming_fanin_init(model, torch.Generator().manual_seed(0))
    noise = torch.randn(6, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    generic = copy.deepcopy(model)
    replace_all_batch_norm_modules_(generic)
    slow, slow_logits = first_element_jacobian(generic, noise)
    fast, fast_logits = per_image_jacobian(_per_image_network(model), noise)
    assert torch.allclose(fast, slow, rtol=1e-4, atol=1e-6)
    assert torch.allclose(fast_logits, slow_logits, rtol=1e-5, atol=1e-6)
