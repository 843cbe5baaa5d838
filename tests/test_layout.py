"""Imports point down: every module of index/ and bot/ (subpackages included) imports only its
own layer and the layers below it; the core (index/) never imports the application (bot/) or
discord, and the CLI and the Discord layer never import each other.

The tables below are the architecture, written down: change them on purpose, not to make a
new import pass.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A module's layer is the one of its longest matching prefix ("bot.discord.cogs.ask" -> "discord").
LAYER_OF = {
    "index": "index",
    "bot": "bot core",  # service, catalog, spaces, config, ...: what both faces share
    "bot.cli": "cli",
    "bot.cli_insight": "cli",
    "bot.cli_sources": "cli",
    "bot.cli_db": "cli",
    "bot.cli_serve": "cli",
    "bot.__main__": "cli",
    "bot.discord": "discord",
    "discord": "discord.py",  # the library
}

# The layers each layer may import besides its own.
MAY_IMPORT: dict[str, set[str]] = {
    "index": set(),
    "bot core": {"index"},
    "cli": {"bot core", "index"},
    "discord": {"bot core", "index", "discord.py"},
}

# Known crossings, each with its reason; (importer prefix, imported prefix).
CROSSINGS = {
    ("bot.cli_serve", "bot.discord.client"): "`qabot serve` starts the Discord bot",
    ("bot.cli_insight", "bot.discord.records"): "the bot's records (SQLite, no Discord in them) live in bot/discord/",
    ("bot.gaps", "bot.discord.records"): "the bot's records (SQLite, no Discord in them) live in bot/discord/",
    ("bot.db", "bot.discord.records"): "the stores offer the SQLite records (bot/discord/records.py) or PostgreSQL's",
}

# Inside index/: the stages and stores, lowest first; a subpackage imports only those below it.
# Modules not listed (the flat modules, index/__init__.py) are not ranked among them.
INDEX_LAYERS = [
    ("index.types", "index.errors"),
    ("index.lang",),
    ("index.text", "index.embedder"),
    ("index.ingest",),
    ("index.store",),
    ("index.search",),
    ("index.answering",),
]


def _longest(module: str, prefixes: object) -> str | None:
    found = [p for p in prefixes if module == p or module.startswith(p + ".")]  # type: ignore[attr-defined]
    return max(found, key=len) if found else None


def layer_of(module: str) -> str | None:
    prefix = _longest(module, LAYER_OF)
    return LAYER_OF[prefix] if prefix else None


def index_rank(module: str) -> int | None:
    for rank, prefixes in enumerate(INDEX_LAYERS):
        if _longest(module, prefixes):
            return rank
    return None


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, function-level ones included, relative
    ones resolved against the file's package."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
    return found


def violations(root: Path) -> list[str]:
    """Every import that goes against the tables above, as "file:line: what and why"."""
    out: list[str] = []
    for path in sorted(p for package in ("index", "bot") for p in (root / package).rglob("*.py")):
        importer = module_name(path, root)
        mine = layer_of(importer)
        for line, imported in imports_of(path, root):
            theirs = layer_of(imported)
            where = f"{path.relative_to(root)}:{line}: {importer} imports {imported}"
            if theirs is None or theirs == mine or mine is None:
                pass
            elif theirs not in MAY_IMPORT[mine]:
                crossing = next((why for (a, b), why in CROSSINGS.items()
                                 if _longest(importer, [a]) and _longest(imported, [b])), None)
                if crossing is None:
                    allowed = ", ".join(sorted(MAY_IMPORT[mine])) or "nothing outside its own layer"
                    out.append(f"{where}: the {mine} layer may import only {allowed}, not {theirs}")
            low, high = index_rank(importer), index_rank(imported)
            if low is not None and high is not None and high > low:
                out.append(f"{where}: {INDEX_LAYERS[low][0]} sits below {INDEX_LAYERS[high][0]} "
                           "and may not import it")
    return out


def test_every_package_and_subpackage_is_checked() -> None:
    files = [p for package in ("index", "bot") for p in (ROOT / package).rglob("*.py")]
    assert len(files) > 40
    assert any(len(p.relative_to(ROOT).parts) > 3 for p in files)  # bot/discord/cogs/*.py is reached
    unplaced = [str(p.relative_to(ROOT)) for p in files if layer_of(module_name(p, ROOT)) is None]
    assert unplaced == []


def test_imports_point_down() -> None:
    found = violations(ROOT)
    assert not found, "imports against the layers in tests/test_layout.py:\n" + "\n".join(found)


def test_every_listed_crossing_still_exists() -> None:
    """A crossing that is gone is removed from the table, so it cannot hide a new one."""
    imported = {(module_name(p, ROOT), m) for package in ("index", "bot") for p in (ROOT / package).rglob("*.py")
                for _, m in imports_of(p, ROOT)}
    stale = [pair for pair in CROSSINGS
             if not any(_longest(a, [pair[0]]) and _longest(b, [pair[1]]) for a, b in imported)]
    assert stale == []


@pytest.mark.parametrize(("path", "source", "message"), [
    ("index/answering/plan.py", "from bot.service import QAService\n",
     "index/answering/plan.py:1: index.answering.plan imports bot.service: the index layer may import only "
     "nothing outside its own layer, not bot core"),
    ("bot/catalog.py", "def f():\n    from bot.discord.render import safe\n",
     "bot/catalog.py:2: bot.catalog imports bot.discord.render: the bot core layer may import only index, "
     "not discord"),
    ("bot/discord/cogs/ask.py", "from ...cli import main\n",
     "bot/discord/cogs/ask.py:1: bot.discord.cogs.ask imports bot.cli: the discord layer may import only "
     "bot core, discord.py, index, not cli"),
    ("bot/spaces.py", "import discord\n",
     "bot/spaces.py:1: bot.spaces imports discord: the bot core layer may import only index, not discord.py"),
    ("index/search/lookup.py", "from index.answering.question import Question\n",
     "index/search/lookup.py:1: index.search.lookup imports index.answering.question: index.search sits "
     "below index.answering and may not import it"),
])
def test_an_import_against_the_layers_is_named(tmp_path: Path, path: str, source: str, message: str) -> None:
    for package in ("index", "bot"):
        (tmp_path / package).mkdir()
    file = tmp_path / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(source, encoding="utf-8")
    assert violations(tmp_path) == [message]


MAX_FILE_LINES, MAX_CLASS_LINES = 400, 250


def test_the_application_has_no_oversized_file_or_class() -> None:
    """bot/ keeps to the house sizes (index/ is being split into its stages: issue 19)."""
    too_big = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_FILE_LINES:
            too_big.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines (at most {MAX_FILE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                too_big.append(f"{path.relative_to(ROOT)}: class {node.name} is "
                               f"{node.end_lineno - node.lineno + 1} lines (at most {MAX_CLASS_LINES})")
    assert not too_big, "\n".join(too_big)
