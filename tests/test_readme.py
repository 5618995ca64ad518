"""The README's code runs as printed (so the docs cannot rot)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_example(name: str) -> str:
    """The ```python block right after ``<!-- readme-example: NAME -->``."""
    text = README.read_text()
    m = re.search(rf"<!-- readme-example: {re.escape(name)} -->\n```python\n(.*?)\n```", text, re.S)
    assert m, f"no README example {name!r}"
    return m.group(1)


@pytest.mark.data
def test_your_own_model_example_runs_as_printed(capsys):
    code = readme_example("your-own-model")
    assert len(code.splitlines()) <= 12
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    scores = namespace["scores"]
    assert list(scores) == ["synflow", "naswot", "meco", "zico", "zen"]
    assert all(r.status == "ok" and r.value is not None for r in scores.results)
    printed = capsys.readouterr().out
    assert "synflow" in printed and "status" in printed


def test_speed_figures_match_the_committed_perf_reports():
    """The README's "How fast" figures are the committed ``make perf`` / ``make perf-space``
    results, so a rerun that changes them must change the README too."""
    import json

    import numpy as np
    import pandas as pd

    root = README.parent
    text = README.read_text()
    perf = json.loads((root / "reports/perf/perf.json").read_text())
    assert f"**{perf['fused_s_per_arch']:.2f} s per architecture**" in text
    assert f"({perf['unfused_s_per_arch']:.2f} s one proxy at a time)" in text
    frame = pd.read_csv(root / "reports/perf/space_time.csv")
    for panel, label in (("full", "full panel"), ("cheap", "cheap panel")):
        hours = frame[frame["panel"].str.startswith(panel)].set_index("dataset")["space_hours"]
        row = next(line for line in text.splitlines() if line.startswith(f"| {label}"))
        cells = [c.strip() for c in row.strip("|").split("|")][1:]
        want = [hours[d] for d in ("cifar10", "cifar100", "ImageNet16-120")]
        want.append(np.round(hours.sum(), 1))  # as space_time.md totals them
        assert cells == [f"{h:.1f} h" for h in want], row
