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
