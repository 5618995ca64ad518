"""score_model: any PyTorch model, scored by the same engine, left untouched."""

from __future__ import annotations

import math

import model_zoo as zoo
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import zcbench
from zcbench.engine.modelscore import ModelScores, as_batch, score_model
from zcbench.errors import ZCBenchError
from zcbench.proxies import list_proxies
from zcbench.types import Batch

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def batch():
    from zcbench.tables.data import minibatch

    return minibatch("cifar10", batch_size=16, seed=0)


def _snapshot(model: nn.Module) -> dict:
    return {
        "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "training": [m.training for m in model.modules()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grads": [p.grad for p in model.parameters()],
        "hooks": [
            (dict(m._forward_hooks), dict(m._forward_pre_hooks), dict(m._backward_hooks))
            for m in model.modules()
        ],
        "dtype": {p.dtype for p in model.parameters()},
        "device": {p.device for p in model.parameters()},
    }


def _same(a: dict, b: dict) -> bool:
    return (
        a["state"].keys() == b["state"].keys()
        and all(torch.equal(a["state"][k], b["state"][k]) for k in a["state"])
        and a["training"] == b["training"]
        and a["requires_grad"] == b["requires_grad"]
        and all(x is y for x, y in zip(a["grads"], b["grads"]))
        and a["hooks"] == b["hooks"]
        and a["dtype"] == b["dtype"]
        and a["device"] == b["device"]
    )


def _values(scores: ModelScores) -> list[tuple[str, float | None, str]]:
    return [(r.proxy, r.value, r.status) for r in scores.results]


@pytest.mark.parametrize("family", sorted(zoo.FAMILIES))
def test_every_proxy_gives_a_value_or_a_documented_skip(family, batch):
    scores = score_model(zoo.FAMILIES[family], batch)
    assert list(scores) == list_proxies()
    for r in scores.results:
        if r.proxy in zoo.EXPECTED_SKIPS[family]:
            assert r.status == "skipped" and r.value is None, r
            assert len(r.error) > 30 and "\n" not in r.error
        else:
            assert r.status == "ok" and math.isfinite(r.value), r


@pytest.mark.parametrize("family", sorted(zoo.FAMILIES))
def test_fused_equals_unfused_and_reruns_are_bit_identical(family, batch):
    factory = zoo.FAMILIES[family]
    fused = _values(score_model(factory, batch))
    assert _values(score_model(factory, batch)) == fused
    assert _values(score_model(factory, batch, fused=False)) == fused


@pytest.mark.parametrize("family", sorted(zoo.FAMILIES))
def test_the_callers_model_and_rng_are_untouched(family, batch):
    model = zoo.FAMILIES[family]()
    model.eval()  # the caller's mode, a hook and a frozen layer: all must survive
    seen = []
    model.register_forward_hook(lambda m, i, o: seen.append(1))
    first = next(model.parameters())
    first.requires_grad_(False)
    before = _snapshot(model)
    rng = torch.get_rng_state()
    scores = score_model(model, batch)
    assert torch.equal(torch.get_rng_state(), rng)
    assert _same(before, _snapshot(model))
    # an instance is scored with its own weights, deterministically
    assert _values(score_model(model, batch)) == _values(scores)
    assert _values(score_model(model, batch, fused=False)) == _values(scores)


def test_nb201_networks_score_exactly_as_zcbench_score_stores(tmp_path, nb201, batch):
    from zcbench.engine.runner import run_scoring
    from zcbench.engine.store import ResultStore
    from zcbench.proxies import resolve_proxies

    arch = nb201.from_index(9930)
    with ResultStore(tmp_path / "s.db") as store:
        run_scoring(nb201, "cifar10", [arch], resolve_proxies("all"), store, batch_size=16,
                    progress=False)  # fmt: skip
        stored = store.frame()
    stored = {r.proxy: (r.value, r.status) for r in stored.itertuples()}
    scores = score_model(lambda: nb201.build(arch, 10), batch, arch=arch)
    assert {r.proxy: (r.value, r.status) for r in scores.results} == stored
    assert all(status == "ok" for _, status in stored.values())


def test_results_as_dict_series_and_frame(batch):
    scores = zcbench.score_model(zoo.build_vit, batch, "syn*,naswot,meco")
    assert isinstance(scores["meco"].value, float)
    assert scores.values_dict()["synflow"] is None
    frame = scores.to_frame()
    assert list(frame.columns) == ["proxy", "value", "status", "reason", "seconds",
                                   "higher_is_better"]  # fmt: skip
    assert frame.set_index("proxy").loc["synflow", "status"] == "skipped"
    series = scores.to_series()
    assert math.isnan(series["naswot"]) and series["meco"] == scores["meco"].value
    assert "skipped" in repr(scores)


def test_batch_forms(batch):
    x, y = batch.inputs, batch.targets
    loader = DataLoader(TensorDataset(x, y), batch_size=len(y))
    want = _values(score_model(zoo.build_resnet, batch, "snip,naswot"))
    for form in ((x, y), [x, y], loader):
        assert _values(score_model(zoo.build_resnet, form, "snip,naswot")) == want
    unlabelled = score_model(zoo.build_resnet, x, "snip,naswot")
    assert unlabelled["snip"].status == "skipped" and unlabelled["naswot"].value == want[1][1]
    assert as_batch((x, None)).targets is None
    assert isinstance(as_batch(batch), Batch)


def test_a_model_returning_a_tuple_is_a_recorded_failure_not_a_crash(batch):
    scores = score_model(zoo.TupleOut, batch, "snip,naswot,synflow,zico,params", num_classes=10)
    for name in ("snip", "naswot", "synflow", "zico"):
        r = scores[name]
        assert r.status == "error" and r.value is None
        assert "returns a tuple, not a tensor of logits" in r.error
    assert scores["params"].status == "ok"  # reads the parameters only


@pytest.mark.parametrize(
    "model, batch_fn, kwargs, message",
    [
        (zoo.Broken, None, {}, "the model failed in forward on inputs of shape (16, 3, 32, 32): "
         "RuntimeError: this layer is not implemented yet"),
        (zoo.build_resnet, lambda b: (b.inputs[:, :1], b.targets), {},
         "the model failed in forward on inputs of shape (16, 1, 32, 32): RuntimeError"),
        (zoo.build_resnet, None, {"num_classes": 100}, "num_classes=100 but the model outputs 10"),
        (lambda: zoo.ResNet18(num_classes=5), None, {}, "labels go up to"),
        (lambda: "not a model", None, {}, "factory returned a str"),
        ("resnet", None, {}, "expected a torch.nn.Module or a function"),
        (zoo.build_resnet, lambda b: (b.inputs.to(torch.uint8), b.targets), {},
         "expected a non-empty float tensor"),
        (zoo.build_resnet, lambda b: (b.inputs, b.targets[:3]), {}, "expected 16 integer class"),
        (zoo.build_resnet, lambda b: {"x": b.inputs}, {}, "a batch given as a dict"),
        (zoo.build_resnet, None, {"device": "cuda:0"}, "CUDA is not available"),
    ],
)  # fmt: skip
def test_bad_input_is_one_clear_line(model, batch_fn, kwargs, message, batch):
    if "cuda" in kwargs.get("device", "") and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ZCBenchError) as info:
        score_model(model, batch_fn(batch) if batch_fn else batch, "snip", **kwargs)
    text = str(info.value)
    assert message in text and "\n" not in text and len(text) < 300, text
