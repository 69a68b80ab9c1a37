"""The Python code blocks of the book's "Python" chapter run, in order, as written."""

from __future__ import annotations

import re
from typing import Any, Dict

import pytest

from conftest import REPO


def test_readme_python_blocks_run(monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    readme = (REPO / "docs" / "src" / "python.md").read_text()
    section = readme.split("# Python\n", 1)[1].split("\n# ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) >= 3
    monkeypatch.chdir(REPO)  # the blocks name files from the repository root
    namespace: Dict[str, Any] = {}
    for block in blocks:
        exec(compile(block, "docs/src/python.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "ddc87bd2-3ebb-43dc-92a9-90b104cd9527 public eastus" in out
    assert "taskcluster" in out and "document_expired" in out
