"""The core (index/) stands alone: it never imports the application (bot/) or discord."""

from __future__ import annotations

import ast
from pathlib import Path

INDEX = Path(__file__).resolve().parent.parent / "index"
FORBIDDEN = ("bot", "discord")


def _imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_index_never_imports_bot_or_discord() -> None:
    files = sorted(INDEX.glob("*.py"))
    assert len(files) > 5
    offending = [
        f"{path.name}: {module}"
        for path in files
        for module in _imported_modules(path)
        if module.split(".")[0] in FORBIDDEN
    ]
    assert offending == []
