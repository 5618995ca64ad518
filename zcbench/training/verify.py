"""Full-training verification: train chosen architectures from scratch on real images and see
whether the table's ranking holds (``zcbench verify``).

Training follows the NAS-Bench-201 recipe (Dong & Yang, ICLR 2020; xautodl's config): SGD
with Nesterov momentum 0.9, learning rate 0.1 decayed to 0 by a cosine over the whole run,
updated every iteration (xautodl's ``scheduler.update(epoch, i / len(loader))``), weight decay
5e-4 on every parameter, batch 256, cross-entropy, random crop with 4 pixels of zero padding
and horizontal flips, per-dataset mean/std normalisation. The epoch count and the size of the
training set are options for small machines; with ``--device cuda`` and ``--epochs 200`` it is
the benchmark's protocol (on the images available here: the data directory holds a 5,438-image
sample of CIFAR-10's training set and 1,117 of CIFAR-100's, not the full 50,000).

Held-out evaluation: the model never sees a test image while training. The default test set
is the data directory's exact-pixel test images (1,017 for CIFAR-10, 916 for CIFAR-100);
``test_set="full"`` uses the complete 10,000-image CIFAR-10 test split (JPEG-decoded, lossy).
The ImageNet16-120 stand-in (120 images, one per class, no split) cannot be verified.

Interruption: after every epoch the model, optimiser and learning curve are written to
``OUT/checkpoints/<index>.pt`` (atomically). A rerun resumes each architecture from its last
finished epoch and skips finished architectures. Shuffling and augmentation are drawn from
``default_rng([seed, index, epoch])``, so a resumed run is bit-identical to an uninterrupted
one on the same machine.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import stats
from tqdm.auto import tqdm

from zcbench.errors import ZCBenchError
from zcbench.paths import data_file
from zcbench.proxies.base import derive_seed
from zcbench.spaces.base import SearchSpace
from zcbench.tables.benchmarks import BenchmarkTable
from zcbench.tables.data import ImageSet, load_images, load_npz, normalise
from zcbench.tables.datasets import dataset_info
from zcbench.types import Arch

TEST_SETS = ("sample", "full")
#: the complete CIFAR-10 test split, JPEG-decoded
FULL_TEST_FILE = "images/cifar10_test_jpeg.npz"


@dataclass(frozen=True)
class Recipe:
    """NAS-Bench-201's training hyper-parameters, with CPU-friendly epochs / training size."""

    epochs: int = 6
    batch_size: int = 256
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    padding: int = 4
    #: training images used (0 = every training image available)
    train_size: int = 0
    seed: int = 0
    #: validation images held out of the training images (0 = none): for ground truth by
    #: training, so that searchers read a validation accuracy and the report a test accuracy
    valid_size: int = 0

    def check(self) -> None:
        if self.epochs <= 0:
            raise ZCBenchError(f"epochs must be a positive number; got {self.epochs}")
        if self.batch_size <= 0:
            raise ZCBenchError(f"batch size must be positive; got {self.batch_size}")
        if self.train_size < 0:
            raise ZCBenchError(f"train size must be >= 0 (0 = all); got {self.train_size}")
        if self.valid_size < 0:
            raise ZCBenchError(f"validation size must be >= 0 (0 = none); got {self.valid_size}")
        if not self.lr > 0:
            raise ZCBenchError(f"learning rate must be positive; got {self.lr}")

    def lr_at(self, progress: float) -> float:
        """Cosine from ``lr`` to 0 over the run; ``progress`` in epochs (fractional)."""
        return 0.5 * self.lr * (1 + math.cos(math.pi * progress / self.epochs))


# -- data --------------------------------------------------------------------------------------
def training_images(dataset: str, recipe: Recipe, data_dir=None) -> ImageSet:
    """The training images of the recipe (``train_size`` of them, 0 = all), never any of the
    ``valid_size`` images held out for validation (:func:`_split_training`)."""
    return _split_training(dataset, recipe, data_dir)[0]


def _subset(images: ImageSet, keep: np.ndarray, split: str) -> ImageSet:
    return ImageSet(images.info, split, images.x[keep], images.y[keep], images.positions[keep])


def _split_training(dataset: str, recipe: Recipe, data_dir=None):
    """(training images, validation images or None): ``valid_size`` images of the training
    split held out first, then ``train_size`` of the rest (0 = all of it)."""
    images = load_images(dataset, "train", data_dir)
    if images.info.name == "ImageNet16-120":
        raise ZCBenchError(
            "ImageNet16-120 cannot be verified here: the data directory holds a 120-image "
            "stand-in (one photo per class) with no train/test split"
        )
    if len(images) == 0:
        raise ZCBenchError(f"the training set of {images.info.name} is empty")
    valid = None
    if recipe.valid_size:
        if recipe.valid_size + max(recipe.train_size, 1) > len(images):
            raise ZCBenchError(
                f"validation size {recipe.valid_size} plus train size {recipe.train_size} "
                f"exceed the {len(images)} training images of {images.info.name}"
            )
        rng = np.random.default_rng([recipe.seed, 104729])
        held = np.sort(rng.choice(len(images), size=recipe.valid_size, replace=False))
        rest = np.setdiff1d(np.arange(len(images)), held)
        valid = _subset(images, held, "valid")
        images = _subset(images, rest, "train")
    if recipe.train_size:
        if recipe.train_size > len(images):
            raise ZCBenchError(
                f"train size {recipe.train_size} exceeds the {len(images)} training images of "
                f"{images.info.name}"
            )
        rng = np.random.default_rng([recipe.seed, 7919])
        keep = np.sort(rng.choice(len(images), size=recipe.train_size, replace=False))
        images = _subset(images, keep, "train")
    return images, valid


def held_out_images(dataset: str, test_set: str = "sample", data_dir=None) -> ImageSet:
    if test_set not in TEST_SETS:
        raise ZCBenchError(f"unknown test set {test_set!r}; expected one of {', '.join(TEST_SETS)}")
    info = dataset_info(dataset)
    if test_set == "full":
        if info.name != "cifar10":
            raise ZCBenchError(f"the full test split exists for cifar10 only, not {info.name}")
        arrays = load_npz(data_file(FULL_TEST_FILE, data_dir).resolve())
        y = arrays["y"].astype(np.int64)
        return ImageSet(info, "test", arrays["x"], y, np.arange(len(y)))
    images = load_images(info.name, "test", data_dir)
    if len(images) == 0:
        raise ZCBenchError(f"no held-out test images for {info.name}")
    return images


def to_tensor(x: np.ndarray, info) -> torch.Tensor:
    """uint8 NHWC -> normalised float32 NCHW, exactly as the scoring minibatch."""
    return normalise(x, info, torch.float32)


def augment(x: np.ndarray, padding: int, rng: np.random.Generator, info) -> torch.Tensor:
    """Random crop (zero padding, as torchvision's RandomCrop on the raw image) and horizontal
    flip of a uint8 NHWC batch, then normalisation."""
    n, h, w, _ = x.shape
    padded = np.zeros((n, h + 2 * padding, w + 2 * padding, 3), dtype=np.uint8)
    padded[:, padding : padding + h, padding : padding + w] = x
    dy = rng.integers(0, 2 * padding + 1, size=n)
    dx = rng.integers(0, 2 * padding + 1, size=n)
    flip = rng.random(n) < 0.5
    rows = dy[:, None] + np.arange(h)[None, :]  # (n, h)
    cols = dx[:, None] + np.arange(w)[None, :]  # (n, w)
    cols = np.where(flip[:, None], cols[:, ::-1], cols)
    out = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return to_tensor(out, info)


@torch.no_grad()
def evaluate(model: torch.nn.Module, images: ImageSet, device, batch_size: int = 500) -> float:
    """Top-1 accuracy (%) in eval mode."""
    model.eval()
    correct = 0
    for start in range(0, len(images), batch_size):
        x = to_tensor(images.x[start : start + batch_size], images.info).to(device)
        logits = model(x)
        logits = logits[1] if isinstance(logits, tuple) else logits
        y = torch.from_numpy(images.y[start : start + batch_size]).to(device)
        correct += int((logits.argmax(1) == y).sum())
    return 100.0 * correct / len(images)


# -- training with checkpoints -----------------------------------------------------------------
def _save(state: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: a kill leaves the previous checkpoint intact


def load_checkpoint(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a truncated file from a crash mid-save (before os.replace)
        raise ZCBenchError(
            f"corrupt checkpoint {path} ({type(exc).__name__}); delete it to retrain"
        ) from None


def train_arch(
    space: SearchSpace,
    arch: Arch,
    train: ImageSet,
    test: ImageSet,
    recipe: Recipe,
    checkpoint: Path,
    *,
    device: str = "cpu",
    progress: bool = True,
    on_step: Callable[[int, int], None] | None = None,
    valid: ImageSet | None = None,
) -> dict:
    """Train one architecture (resuming from ``checkpoint``); returns the final checkpoint
    state: ``history`` (one row per epoch, with ``valid_acc`` when ``valid`` images are
    given), ``train_seconds``, ``done``.

    ``on_step(epoch, step)`` is called after every optimiser step (tests interrupt with it).
    """
    index = space.index(arch)
    info = train.info
    recipe_row = asdict(recipe)
    state = load_checkpoint(checkpoint)
    if state is not None and not _same_recipe(state["recipe"], recipe_row):
        raise ZCBenchError(
            f"checkpoint {checkpoint} was trained with a different recipe "
            f"({state['recipe']}); use another --out or delete it"
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(arch.key, recipe.seed, "init"))
        model = space.build(arch, info.num_classes)
    model.to(device)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=recipe.lr,
        momentum=recipe.momentum,
        nesterov=recipe.nesterov,
        weight_decay=recipe.weight_decay,
    )
    if state is None:
        state = {"index": index, "arch": space.to_str(arch), "recipe": recipe_row, "epoch": 0,
                 "history": [], "train_seconds": 0.0, "done": False}  # fmt: skip
    else:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    steps = math.ceil(len(train) / recipe.batch_size)
    for epoch in range(state["epoch"], recipe.epochs):
        rng = np.random.default_rng([recipe.seed, index, epoch])
        order = rng.permutation(len(train))
        model.train()
        start = time.perf_counter()
        loss_sum, correct = 0.0, 0
        bar = tqdm(
            range(steps),
            desc=f"#{index} epoch {epoch + 1}/{recipe.epochs}",
            unit="batch",
            leave=False,
            disable=not progress,
        )
        for step in bar:
            rows = order[step * recipe.batch_size : (step + 1) * recipe.batch_size]
            x = augment(train.x[rows], recipe.padding, rng, info).to(device)
            y = torch.from_numpy(train.y[rows]).to(device)
            for group in optimizer.param_groups:
                group["lr"] = recipe.lr_at(epoch + step / steps)
            logits = model(x)
            logits = logits[1] if isinstance(logits, tuple) else logits
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += float(loss.detach()) * len(rows)
            correct += int((logits.argmax(1) == y).sum())
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
            if on_step is not None:
                on_step(epoch, step)
        seconds = time.perf_counter() - start
        test_acc = evaluate(model, test, device)
        row = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / len(train),
            "train_acc": 100.0 * correct / len(train),
            "test_acc": test_acc,
            "seconds": seconds,
        }
        if valid is not None:
            row["valid_acc"] = evaluate(model, valid, device)
        state["history"].append(row)
        state["epoch"] = epoch + 1
        state["train_seconds"] += seconds
        state["done"] = state["epoch"] == recipe.epochs
        state["model"] = model.state_dict()
        state["optimizer"] = optimizer.state_dict()
        _save(state, checkpoint)
    return state


def _same_recipe(saved: dict, now: dict) -> bool:
    """A checkpoint's recipe against this run's (fields added to the recipe since the
    checkpoint was written count as their defaults)."""
    defaults = {f.name: f.default for f in fields(Recipe)}
    return all(saved.get(k, defaults.get(k)) == v for k, v in now.items())


def train_one(space_ref: str, data_dir, arch: Arch, train, test, recipe, checkpoint: str,
              device: str, valid) -> dict:  # fmt: skip
    """:func:`train_arch` in a worker process or Ray task (the space by reference)."""
    from zcbench.spaces import get_space

    space = get_space(space_ref, data_dir)
    return train_arch(space, arch, train, test, recipe, Path(checkpoint), device=device,
                      progress=False, valid=valid)  # fmt: skip


# -- choosing architectures --------------------------------------------------------------------
def spread(table: BenchmarkTable, dataset: str, k: int, metric: str = "test_acc_12ep") -> list[int]:
    """``k`` architectures spanning the accuracy range: the ones at the evenly spaced
    quantiles 5%, ..., 95% of ``metric`` over the whole space (ties broken by index). The
    bottom 5% is left out: it holds the ~2% of NB201 cells with no path from input to output,
    all at chance accuracy, which any training run ranks last trivially."""
    if k < 1:
        raise ZCBenchError(f"--spread needs at least 1 architecture; got {k}")
    values = table.get(dataset, metric).dropna().sort_values(kind="stable")
    positions = np.round(np.linspace(0.05, 0.95, k) * (len(values) - 1)).astype(int)
    return list(dict.fromkeys(int(i) for i in values.index[positions]))


def from_search(directory: str | Path, top: int) -> list[int]:
    """The ``top`` distinct final incumbents of a ``zcbench search`` output, by search signal."""
    path = Path(directory) / "trace.csv"
    if not path.is_file() and path.with_suffix(".csv.gz").is_file():
        path = path.with_suffix(".csv.gz")  # committed reports are gzipped
    if not path.is_file():
        raise ZCBenchError(f"no search trace at {path}; run 'zcbench search --out {directory}'")
    trace = pd.read_csv(path)
    keys = [c for c in ("searcher", "dataset", "budget", "run") if c in trace.columns]
    last = trace.sort_values("step").groupby(keys).tail(1).dropna(subset=["incumbent"])
    best = last.sort_values("incumbent_signal", ascending=False, kind="stable")
    return list(dict.fromkeys(int(i) for i in best["incumbent"]))[:top]


def from_store(store, space: SearchSpace, dataset: str, proxy: str, top: int,
               seed: int = 0, batch_size: int = 64) -> list[int]:  # fmt: skip
    """The ``top`` architectures with the best stored score of ``proxy``."""
    from zcbench.proxies import get_proxy

    spec = get_proxy(proxy)
    frame = store.frame(
        "space=? AND dataset=? AND proxy=? AND proxy_version=? AND seed=? AND batch_size=? "
        "AND status='ok'",
        (space.name, dataset, spec.name, spec.version, seed, batch_size),
    )
    if frame.empty:
        raise ZCBenchError(f"no stored {spec.name} scores for {space.name}/{dataset}")
    ordered = frame.sort_values("value", ascending=not spec.higher_is_better, kind="stable")
    return [int(i) for i in ordered["arch_index"].head(top)]


# -- the whole job ------------------------------------------------------------------------------
def verify(
    space: SearchSpace,
    table: BenchmarkTable | None,
    dataset: str,
    selection: Sequence[int | Arch],
    recipe: Recipe,
    out: str | Path,
    *,
    device: str = "cpu",
    test_set: str = "sample",
    data_dir=None,
    progress: bool = True,
    on_step: Callable[[int, int], None] | None = None,
    executor: str = "local",
    workers: int = 1,
    threads: int | None = None,
    address: str | None = None,
) -> pd.DataFrame:
    """Train every architecture (indexes or Archs; resuming), then write ``verify.csv``,
    ``curves.csv``, ``verify.md``, the figures and the measured ground truth
    (:mod:`zcbench.training.truth`: ``ground_truth.csv`` + ``ground_truth.json``) into
    ``out``; returns the verify table. ``table``: the space's tabulated benchmark to compare
    with, or None for a space without one (the training is then the ground truth).
    ``executor`` / ``workers``: one architecture per task, in ``workers`` spawned processes or
    Ray tasks of ``threads`` torch threads each (:func:`zcbench.engine.executors.map_tasks`);
    checkpoints are written as in one process, so any of them resumes any other's run."""
    recipe.check()
    if not selection:
        raise ZCBenchError("no architectures to verify")
    archs = [
        space.validate(a) if isinstance(a, Arch) else space.from_index(space.check_index(int(a)))
        for a in selection
    ]
    train, valid = _split_training(dataset, recipe, data_dir)
    test = held_out_images(dataset, test_set, data_dir)
    out = Path(out)
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    if executor == "local" and workers == 1:
        states = []
        for n, arch in enumerate(archs, 1):
            path = out / "checkpoints" / f"{space.index(arch)}.pt"
            if progress:
                tqdm.write(f"[{n}/{len(archs)}] #{space.index(arch)} {space.to_str(arch)}")
            states.append(
                train_arch(space, arch, train, test, recipe, path, device=device,
                           progress=progress, on_step=on_step, valid=valid)
            )  # fmt: skip
    else:
        from zcbench.engine.executors import map_tasks
        from zcbench.spaces import space_ref

        ref = space_ref(space)
        # a Ray task sees the GPU it was given as cuda:0
        task_device = "cuda" if executor == "ray" and device.startswith("cuda") else device
        tasks = [(ref, data_dir, a, train, test, recipe,
                  str(out / "checkpoints" / f"{space.index(a)}.pt"), task_device, valid)
                 for a in archs]  # fmt: skip
        threads = threads or max(1, torch.get_num_threads() // workers)
        bar = tqdm(total=len(archs), desc=f"verify ({executor}, {workers} workers)",
                   unit="arch", disable=not progress)  # fmt: skip
        with bar:
            states = map_tasks(train_one, tasks, executor=executor, workers=workers,
                               threads=threads, device=device, address=address,
                               on_done=lambda i, s: bar.update(1))  # fmt: skip
    result = results_table(states, table, dataset, recipe, len(train), len(test))
    write_outputs(result, states, out, dataset, recipe, test_set, len(train), len(test), device)
    from zcbench.training.truth import write_truth

    n_valid = len(valid) if valid else 0
    write_truth(out, space, dataset, states, recipe, test_set=test_set, device=device,
                n_train=len(train), n_valid=n_valid, n_test=len(test))  # fmt: skip
    return result


def results_table(states, table, dataset, recipe, n_train, n_test) -> pd.DataFrame:
    """One row per trained architecture; with a ``table``, its 12- and 200-epoch test
    accuracies beside ours and the difference from the one matching our schedule."""
    rows = []
    if table is not None:
        t12 = table.get(dataset, "test_acc_12ep")
        t200 = table.get(dataset, "test_acc_200ep")
    for s in states:
        last = s["history"][-1]
        ours = last["test_acc"]
        row = {"index": s["index"], "arch": s["arch"], "epochs": s["epoch"],
               "our_acc": round(ours, 3)}  # fmt: skip
        if "valid_acc" in last:
            row["our_valid_acc"] = round(last["valid_acc"], 3)
        if table is not None:
            t200_i, t12_i = float(t200.loc[s["index"]]), float(t12.loc[s["index"]])
            ref = t200_i if recipe.epochs >= 200 else t12_i
            row.update(
                table_test_acc_12ep=t12_i,
                table_test_acc_200ep=t200_i,
                delta=round(ours - ref, 3),
                delta_vs="test_acc_200ep" if recipe.epochs >= 200 else "test_acc_12ep",
            )
        row.update(
            final_train_acc=round(last["train_acc"], 3),
            train_seconds=round(s["train_seconds"], 1),
            train_images=n_train,
            test_images=n_test,
        )
        rows.append(row)
    return pd.DataFrame(rows)


def rank_agreement(result: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for column in ("table_test_acc_12ep", "table_test_acc_200ep"):
        rho = stats.spearmanr(result["our_acc"], result[column]).statistic
        tau = stats.kendalltau(result["our_acc"], result[column]).statistic
        rows.append(
            {"against": column.removeprefix("table_"), "n": len(result),
             "spearman": round(float(rho), 3), "kendall": round(float(tau), 3)}
        )  # fmt: skip
    return pd.DataFrame(rows)


def write_outputs(result, states, out, dataset, recipe, test_set, n_train, n_test, device):

    result.to_csv(out / "verify.csv", index=False)
    curves = pd.DataFrame([{"index": s["index"], **row} for s in states for row in s["history"]])
    curves.to_csv(out / "curves.csv", index=False)
    tabulated = "table_test_acc_12ep" in result
    agreement = rank_agreement(result) if len(result) >= 3 and tabulated else pd.DataFrame()
    agreement.to_csv(out / "agreement.csv", index=False)
    if tabulated:
        _table_figure(result, agreement, dataset, recipe).savefig(out / "verify.png", dpi=110)
    elif "our_valid_acc" in result:
        _valid_figure(result, dataset, recipe).savefig(out / "verify.png", dpi=110)
    else:
        (out / "verify.png").unlink(missing_ok=True)
    _curves_figure(states, dataset).savefig(out / "curves.png", dpi=110)

    recipe_text = ", ".join(f"{k} {v}" for k, v in asdict(recipe).items())
    compared = (
        ""
        if tabulated
        else " The space has no tabulated benchmark: these accuracies are its ground truth "
        "(ground_truth.csv)."
    )
    section = [
        "## Full-training verification",
        "",
        f"{len(result)} architectures of {dataset} trained from scratch on {device}: "
        f"{n_train} real training images, evaluated on {n_test} held-out test images "
        f"({'exact pixels' if test_set == 'sample' else 'full JPEG test split'}); "
        f"recipe: {recipe_text} (NAS-Bench-201's, cosine per iteration).{compared}",
        "",
        agreement.to_markdown(index=False) if not agreement.empty else "",
        "",
        result.to_markdown(index=False),
        "",
        "![ours vs table](verify.png)" if (out / "verify.png").is_file() else "",
        "",
        "![learning curves](curves.png)",
        "",
    ]
    (out / "verify.md").write_text("\n".join(section))


def _table_figure(result, agreement, dataset, recipe):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.2))
    axes = fig.subplots(1, 2)
    for ax, column in zip(axes, ("table_test_acc_12ep", "table_test_acc_200ep")):
        ax.scatter(result[column], result["our_acc"], color="tab:blue")
        for _, r in result.iterrows():
            ax.annotate(str(r["index"]), (r[column], r["our_acc"]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")  # fmt: skip
        lo = min(result[column].min(), result["our_acc"].min()) - 2
        hi = max(result[column].max(), result["our_acc"].max()) + 2
        ax.plot([lo, hi], [lo, hi], color="grey", linewidth=0.8, linestyle="--")
        ax.set_xlabel(f"table {column.removeprefix('table_')} (%)")
        ax.set_ylabel(f"our test accuracy after {recipe.epochs} epochs (%)")
        if not agreement.empty:
            row = agreement.set_index("against").loc[column.removeprefix("table_")]
            ax.set_title(f"Spearman {row.spearman:.3f}, Kendall {row.kendall:.3f}", fontsize=9)
    fig.suptitle(f"{dataset}: our training vs the table ({len(result)} architectures)")
    fig.tight_layout()
    return fig


def _valid_figure(result, dataset, recipe):
    """Validation accuracy (what searchers read) against test accuracy (what reports use)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.5))
    ax = fig.subplots()
    ax.scatter(result["our_valid_acc"], result["our_acc"], color="tab:blue")
    rho = stats.spearmanr(result["our_valid_acc"], result["our_acc"]).statistic
    ax.set_xlabel(f"validation accuracy after {recipe.epochs} epochs (%)")
    ax.set_ylabel(f"test accuracy after {recipe.epochs} epochs (%)")
    ax.set_title(f"{dataset}: {len(result)} architectures, Spearman {rho:.3f}", fontsize=10)
    fig.tight_layout()
    return fig


def _curves_figure(states, dataset):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.2))
    axes = fig.subplots(1, 2)
    for s in states:
        h = pd.DataFrame(s["history"])
        (line,) = axes[0].plot(h.epoch, h.test_acc, marker=".", label=f"#{s['index']}")
        axes[1].plot(h.epoch, h.train_loss, marker=".", color=line.get_color())
    axes[0].set(xlabel="epoch", ylabel="held-out test accuracy (%)")
    axes[1].set(xlabel="epoch", ylabel="training loss")
    if len(states) <= 12:
        axes[0].legend(fontsize=7, ncol=2)
    fig.suptitle(f"{dataset}: learning curves ({len(states)} architectures)")
    fig.tight_layout()
    return fig
