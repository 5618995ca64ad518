"""Every command shown in README.md and docs/*.md is checked, so the docs cannot rot.

Conventions (docs/development.md#docs-check), by the HTML comment right before a fenced block:

* none or ``<!-- docs-check: parse -->``: every ``zcbench`` line of a ``bash`` block is parsed
  by the real argument parser; every ``make`` line names a target of the Makefile;
* ``<!-- docs-check: run -->``: run for real, in order, in one temporary folder per page,
  with the committed data (a ``python`` block is executed);
* ``<!-- docs-check: fails -->``: each command fails with one ``zcbench: error:`` line, status 2;
* ``<!-- docs-check: cluster ... -->``: needs machines the tests lack; ``zcbench`` lines parsed;
* ``toml`` blocks are read as ``zcbench bench --config`` files;
* ``<!-- docs-check: results-table -->`` before a Markdown table: its numbers are compared with
  ``reports/correlation/correlations.csv`` and the published records;
* docs/proxies.md's generated section equals the registry (``python tests/test_docs.py
  --write`` rewrites it).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MODES = {"parse", "run", "fails", "cluster", "toml", "results-table"}
BLOCK = re.compile(
    r"(?:<!-- (docs-check|readme-example): ?([^>]*?) -->\n)?```(\w*)\n(.*?)\n```", re.S
)


@dataclass(frozen=True)
class Block:
    page: Path
    lang: str
    mode: str  # parse, run, fails, cluster, toml, readme-example
    text: str

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}: {self.lang} block ({self.mode})"


def blocks(page: Path) -> list[Block]:
    out = []
    for m in BLOCK.finditer(page.read_text()):
        kind, arg, lang, text = m.groups()
        if kind == "readme-example":
            mode = "readme-example"
        elif kind:
            mode = arg.split()[0] if arg else ""
        else:
            mode = "toml" if lang == "toml" else "parse"
        out.append(Block(page, lang, mode, text))
    return out


ALL = [b for page in PAGES for b in blocks(page)]


def commands(text: str) -> list[list[str]]:
    """The shell commands of a block: continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [argv for line in joined.splitlines() if (argv := shlex.split(line, comments=True))]


def check_parses(argv: list[str]) -> None:
    from zcbench.cli import build_parser

    if argv[0] == "zcbench":
        try:
            build_parser().parse_args(argv[1:])
        except SystemExit as exc:
            pytest.fail(f"{shlex.join(argv)!r} does not parse (exit {exc.code})")
    elif argv[0] == "make":
        done = subprocess.run(
            ["make", "-n", *argv[1:]], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"{shlex.join(argv)}: {done.stderr.strip()}"
    else:
        pytest.fail(f"{shlex.join(argv)!r}: docs-check knows zcbench and make commands only")


def test_every_block_has_a_known_mode():
    assert ALL, "no fenced blocks found"
    for b in ALL:
        assert b.mode in MODES | {"readme-example"}, f"{b}: unknown docs-check mode"
        if b.lang == "python":
            assert b.mode in ("run", "readme-example"), f"{b}: a python block must run"


@pytest.mark.parametrize(
    "block",
    [b for b in ALL if b.lang == "bash" and b.mode in ("parse", "run", "fails", "cluster")],
    ids=str,
)
def test_commands_parse(block):
    for argv in commands(block.text):
        if block.mode == "cluster" and argv[0] != "zcbench":
            continue  # e.g. `ray start` on the nodes of a cluster
        check_parses(argv)


@pytest.mark.parametrize("block", [b for b in ALL if b.mode == "toml"], ids=str)
def test_toml_blocks_are_bench_configs(block, tmp_path):
    from zcbench.jobs.bench import PipelineConfig

    path = tmp_path / "bench.toml"
    path.write_text(block.text)
    PipelineConfig.from_toml(path)


@pytest.mark.data
@pytest.mark.parametrize(
    "page", [p for p in PAGES if any(b.mode == "run" for b in blocks(p))], ids=lambda p: p.name
)
def test_run_blocks_run(page, tmp_path, monkeypatch, capsys):
    from zcbench.cli import main

    monkeypatch.chdir(tmp_path)
    for block in [b for b in blocks(page) if b.mode == "run"]:
        if block.lang == "python":
            exec(compile(block.text, str(page), "exec"), {})
            continue
        for argv in commands(block.text):
            assert argv[0] == "zcbench", f"{block}: only zcbench commands are run"
            code = main(argv[1:])
            assert code == 0, f"{shlex.join(argv)} -> {code}: {capsys.readouterr().err}"


@pytest.mark.data
@pytest.mark.parametrize("block", [b for b in ALL if b.mode == "fails"], ids=str)
def test_fails_blocks_fail_in_one_line(block, capsys):
    from zcbench.cli import main

    for argv in commands(block.text):
        assert main(argv[1:]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("zcbench: error:"), err


def results_table() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- docs-check: results-table -->\n((?:\|.*\|\n)+)", text)
    assert m, "README.md has no results table"
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in m.group(1).splitlines()]
    return rows[2:]  # after the header and the rule


def test_readme_results_table_matches_the_committed_report():
    import pandas as pd

    from zcbench.analysis.anchors import RECORDS
    from zcbench.analysis.report import leaderboard

    result = pd.read_csv(ROOT / "reports" / "correlation" / "correlations.csv")
    board = leaderboard(result, "test_acc_200ep").set_index(["proxy", "dataset"])
    datasets = ["cifar10", "cifar100", "ImageNet16-120"]
    checked = 0
    for name, *values in results_table():
        proxy = re.match(r"`(\w+)`", name)
        record = next((r for r in RECORDS if r in name), None)
        assert proxy or record, f"README results row {name!r}: neither a proxy nor a record"
        for dataset, shown in zip(datasets, values):
            if proxy and not shown:  # an empty cell: not scored on that dataset here
                assert (proxy.group(1), dataset) not in board.index, f"{name} on {dataset}"
                continue
            if proxy:
                expected = board.loc[(proxy.group(1), dataset), "spearman"]
            else:
                expected = RECORDS[record][0][datasets.index(dataset)]
            assert shown == f"{expected:.3f}", f"{name} on {dataset}: {shown} vs {expected:.3f}"
            checked += 1
    assert checked >= 12


GENERATED = re.compile(r"(<!-- generated: proxies -->\n)(.*?)(<!-- end generated -->)", re.S)


def proxy_reference() -> str:
    """docs/proxies.md's generated section: each proxy's paper, formula and departures."""
    from zcbench.proxies import get_proxy, list_proxies

    parts = []
    for name in list_proxies():
        row = get_proxy(name).as_row()
        direction = "higher" if row["higher_is_better"] else "lower"
        lines = [
            f"### {name}",
            "",
            f"{row['kind']}, {row['cost']} cost, {direction} is better, {row['dtype']}"
            + (", labels" if row["needs_labels"] else "")
            + (", BatchNorm removed" if row["removes_bn"] else "")
            + f"; version {row['version']}",
            "",
            f"- paper: {row['paper']}",
            f"- formula: `{row['formula']}`",
        ]
        if row["departures"]:
            lines.append(f"- departures: {row['departures']}")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def test_proxy_reference_is_generated_from_the_registry():
    text = (ROOT / "docs" / "proxies.md").read_text()
    m = GENERATED.search(text)
    assert m, "docs/proxies.md lacks its generated section"
    assert m.group(2) == proxy_reference(), (
        "docs/proxies.md is stale: run `.venv/bin/python tests/test_docs.py --write`"
    )


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    page = ROOT / "docs" / "proxies.md"
    page.write_text(
        GENERATED.sub(lambda m: m.group(1) + proxy_reference() + m.group(3), page.read_text())
    )
    print(f"rewrote the generated section of {page}")
