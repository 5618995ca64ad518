"""Full-training verification: recipe pieces, bad input, and interrupt / resume."""

import numpy as np
import pandas as pd
import pytest
import torch

from zcbench.cli import main
from zcbench.errors import ZCBenchError
from zcbench.paths import data_file
from zcbench.tables.data import load_images
from zcbench.training.verify import (
    Recipe,
    augment,
    from_search,
    held_out_images,
    spread,
    to_tensor,
    training_images,
    verify,
)

pytestmark = pytest.mark.data
#: cheap cells (pooling / skip heavy) so that training them takes seconds
CHEAP = [
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|skip_connect~1|avg_pool_3x3~2|",
    "|nor_conv_1x1~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|",
]
TINY = Recipe(epochs=2, batch_size=32, train_size=64)


def test_training_sees_the_scoring_minibatch_pixels_exactly():
    """verify and the scoring minibatch normalise one way (float64, then cast)."""
    from zcbench.tables.data import minibatch

    images = load_images("cifar10", "train")
    batch = minibatch("cifar10", 16, seed=3)
    rows = [int(np.flatnonzero(images.positions == pos)[0]) for pos in batch.source_indices]
    assert torch.equal(to_tensor(images.x[rows], images.info), batch.inputs)


def test_augment_is_a_padded_crop_with_flips():
    images = load_images("cifar10", "train")
    x = images.x[:16]
    plain = augment(x, 0, np.random.default_rng(0), images.info)  # no padding: crop = image
    flipped = plain.flip(-1)
    same = [bool(torch.equal(plain[i], to_tensor(x[i : i + 1], images.info)[0])) for i in range(16)]
    mirrored = [
        bool(torch.equal(flipped[i], to_tensor(x[i : i + 1], images.info)[0])) for i in range(16)
    ]
    assert all(a or b for a, b in zip(same, mirrored)) and any(mirrored) and any(same)
    a = augment(x, 4, np.random.default_rng(1), images.info)
    b = augment(x, 4, np.random.default_rng(1), images.info)
    assert a.shape == (16, 3, 32, 32) and torch.equal(a, b)
    # a zero-padded border shows up as the normalised value of black
    black = to_tensor(np.zeros((1, 1, 1, 3), dtype=np.uint8), images.info).flatten()
    corners = a[:, :, 0, 0]
    assert any(torch.allclose(c, black) for c in corners)


def test_training_and_test_images_never_overlap():
    train, test = training_images("cifar10", Recipe()), held_out_images("cifar10")
    assert len(train) == 5438 and len(test) == 1017
    assert not set(train.positions) & set(test.positions)
    assert len(training_images("cifar10", Recipe(train_size=100))) == 100


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    for recipe, match in [
        (Recipe(epochs=0), "epochs must be a positive"),
        (Recipe(train_size=-1), "train size"),
        (Recipe(batch_size=0), "batch size"),
    ]:
        with pytest.raises(ZCBenchError, match=match):
            recipe.check()
    with pytest.raises(ZCBenchError, match="exceeds the 5438 training images"):
        training_images("cifar10", Recipe(train_size=10**6))
    with pytest.raises(ZCBenchError, match="stand-in"):
        training_images("ImageNet16-120", Recipe())
    with pytest.raises(ZCBenchError, match="cifar10 only"):
        held_out_images("cifar100", "full")
    # an image file holding no training images
    data = tmp_path / "data" / "images"
    data.mkdir(parents=True)
    full = np.load(data_file("images/cifar10_sample.npz"))
    test_only = full["split"] == "test"
    np.savez(data / "cifar10_sample.npz", x=full["x"][test_only], y=full["y"][test_only],
             split=full["split"][test_only])  # fmt: skip
    with pytest.raises(ZCBenchError, match="training set of cifar10 is empty"):
        training_images("cifar10", Recipe(), data_dir=tmp_path / "data")
    out = str(tmp_path / "v")
    assert main(["verify", "--archs", "15625", "--out", out]) == 2
    assert "15625" in capsys.readouterr().err
    assert main(["verify", "--archs", "|bogus~0|", "--out", out]) == 2
    capsys.readouterr()
    assert main(["verify", "--archs", "1", "--epochs", "0", "--out", out]) == 2
    assert "--epochs: expected an integer >= 1; got 0" in capsys.readouterr().err
    assert main(["verify", "--dataset", "ImageNet16-120", "--archs", "1", "--out", out]) == 2
    assert "stand-in" in capsys.readouterr().err


def test_interrupted_run_resumes_without_retraining(nb201, table, tmp_path):
    indices = [nb201.index(nb201.parse(a)) for a in CHEAP]
    reference = verify(nb201, table, "cifar10", indices, TINY, tmp_path / "a", progress=False)

    steps = []

    def kill_mid_epoch(epoch, step):  # 2 steps per epoch: arch 1 takes steps 1-4
        steps.append((epoch, step))
        if len(steps) == 7:  # arch 2, first step of its second epoch
            raise KeyboardInterrupt

    out = tmp_path / "b"
    with pytest.raises(KeyboardInterrupt):
        verify(nb201, table, "cifar10", indices, TINY, out, progress=False, on_step=kill_mid_epoch)
    first = torch.load(out / "checkpoints" / f"{indices[0]}.pt", weights_only=False)
    second = torch.load(out / "checkpoints" / f"{indices[1]}.pt", weights_only=False)
    assert first["done"] and first["epoch"] == 2
    assert not second["done"] and second["epoch"] == 1  # the last finished epoch

    steps.clear()
    result = verify(nb201, table, "cifar10", indices, TINY, out, progress=False,
                    on_step=lambda e, s: steps.append((e, s)))  # fmt: skip
    assert steps == [(1, 0), (1, 1)]  # only arch 2's second epoch was trained again
    # resuming is bit-identical to never having stopped
    cols = ["index", "arch", "epochs", "our_acc", "final_train_acc"]
    pd.testing.assert_frame_equal(result[cols], reference[cols])
    curves = pd.read_csv(out / "curves.csv").drop(columns="seconds")
    pd.testing.assert_frame_equal(curves, pd.read_csv(tmp_path / "a" / "curves.csv").drop(
        columns="seconds"))  # fmt: skip
    needed = {"index", "arch", "epochs", "our_acc", "table_test_acc_12ep"}
    assert needed | {"table_test_acc_200ep", "delta", "train_seconds"} <= set(result.columns)
    for name in ("verify.md", "verify.png", "curves.png"):
        assert (out / name).is_file()
    with pytest.raises(ZCBenchError, match="different recipe"):
        verify(nb201, table, "cifar10", indices, Recipe(epochs=3, batch_size=32, train_size=64),
               out, progress=False)  # fmt: skip


def test_choosing_architectures(table, tmp_path):
    chosen = spread(table, "cifar10", 8)
    acc = table.get("cifar10", "test_acc_12ep").loc[chosen]
    assert len(chosen) == 8 and acc.is_monotonic_increasing and acc.min() > 50
    trace = pd.DataFrame(
        {"searcher": "rea", "dataset": "cifar10", "budget": 5, "run": [0, 0, 1, 1],
         "step": [1, 2, 1, 2], "incumbent": [3, 7, 9, 9], "incumbent_signal": [50, 80, 70, 70]}
    )  # fmt: skip
    trace.to_csv(tmp_path / "trace.csv", index=False)
    assert from_search(tmp_path, 5) == [7, 9]
    with pytest.raises(ZCBenchError, match="no search trace"):
        from_search(tmp_path / "nope", 3)
