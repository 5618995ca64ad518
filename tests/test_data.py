import numpy as np
import pytest
import torch

from zcbench.errors import DataError, UnknownNameError, ZCBenchError
from zcbench.tables.data import load_images, minibatch
from zcbench.tables.datasets import DATASETS, dataset_info

pytestmark = pytest.mark.data


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_shapes_normalisation_and_labels(dataset):
    info = dataset_info(dataset)
    b = minibatch(dataset, 32, seed=3)
    assert b.inputs.shape == (32, 3, info.input_size, info.input_size)
    assert b.inputs.dtype == torch.float32 and b.targets.dtype == torch.int64
    assert int(b.targets.min()) >= 0 and int(b.targets.max()) < info.num_classes
    # undo NB201's normalisation: pixels must come back as k/255
    mean = torch.tensor(info.mean).view(1, 3, 1, 1)
    std = torch.tensor(info.std).view(1, 3, 1, 1)
    pixels = (b.inputs.double() * std + mean) * 255
    assert torch.allclose(pixels, pixels.round(), atol=1e-3)
    images = load_images(dataset, "train")
    raw = images.x[np.searchsorted(images.positions, b.source_indices)]
    assert np.array_equal(pixels.round().to(torch.uint8).permute(0, 2, 3, 1).numpy(), raw)


def test_seeded_and_distinct():
    a, b, c = (minibatch("cifar10", 64, seed=s) for s in (0, 0, 1))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.inputs, c.inputs)
    assert len(set(a.source_indices)) == 64  # no image twice


def test_balanced_sampling():
    b = minibatch("cifar10", 64, seed=0, sampling="balanced")
    counts = np.bincount(b.targets.numpy(), minlength=10)
    assert counts.min() == 6 and counts.max() == 7 and counts.sum() == 64
    b = minibatch("cifar100", 50, seed=0, sampling="balanced")
    assert len(set(b.targets.tolist())) == 50
    b = minibatch("ImageNet16-120", 120, seed=0, sampling="balanced")
    assert sorted(b.targets.tolist()) == list(range(120))


def test_splits_are_disjoint_and_complete():
    train, test, every = (load_images("cifar10", s) for s in ("train", "test", "all"))
    assert len(train) + len(test) == len(every) == 6455
    assert not set(train.positions) & set(test.positions)
    assert len(load_images("ImageNet16-120", "train")) == 120  # stand-in has no split


def test_largest_batch_and_errors():
    assert len(minibatch("cifar100", 1117, seed=0)) == 1117
    with pytest.raises(ZCBenchError, match="batch size 1118 is not available .* expected 1..1117"):
        minibatch("cifar100", 1118)
    with pytest.raises(ZCBenchError, match="batch size 0"):
        minibatch("cifar10", 0)
    # CIFAR-100's train sample holds 5..22 images per class: 600 balanced needs 6 of each
    assert len(minibatch("cifar100", 500, sampling="balanced")) == 500
    with pytest.raises(ZCBenchError, match="needs 6 images of class 16 but the split has 5"):
        minibatch("cifar100", 600, sampling="balanced")
    with pytest.raises(UnknownNameError, match="unknown dataset 'svhn'"):
        minibatch("svhn")
    with pytest.raises(ZCBenchError, match="unknown sampling"):
        minibatch("cifar10", sampling="stratified")
    with pytest.raises(ZCBenchError, match="unknown split"):
        minibatch("cifar10", split="valid")


def test_corrupt_and_missing_image_files(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(DataError, match="missing data file .*cifar10_sample.npz"):
        minibatch("cifar10", data_dir=tmp_path)
    (tmp_path / "images" / "cifar10_sample.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(DataError, match="corrupt image file") as err:
        minibatch("cifar10", data_dir=tmp_path)
    assert "\n" not in str(err.value)
    np.savez(
        tmp_path / "images" / "cifar100_sample.npz",
        x=np.zeros((4, 32, 32), np.uint8),
        y=np.zeros(4, np.int64),
    )
    with pytest.raises(DataError, match="expected uint8 \\(N, H, W, 3\\)"):
        minibatch("cifar100", 2, data_dir=tmp_path)
