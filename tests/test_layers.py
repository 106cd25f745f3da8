"""The layers hold: every import in core/ points down (or sideways to the store), none to Streamlit."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: What each layer may import from core/ (besides itself and the shared root modules).
ALLOWED: dict[str, set[str]] = {
    "data": set(),
    "engine": {"data"},
    "suggest": {"engine", "data"},
    "store": {"data"},
    "app": {"suggest", "engine", "data", "store"},
}
SHARED = {"exceptions", "settings", "config_files"}  # importable from every layer
ENTRYPOINTS = {"cli", "__main__", "__init__"}  # may import any layer


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):  # function-level (lazy) imports count too
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def _modules() -> list[Path]:
    return sorted((ROOT / "core").rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_point_down_and_never_at_streamlit(path: Path) -> None:
    parts = path.relative_to(ROOT / "core").parts
    layer = parts[0] if len(parts) > 1 else Path(parts[0]).stem
    wrong = []
    for line, module in _imports(path):
        top = module.split(".")[0]
        if top in {"streamlit", "dashboard"}:
            wrong.append(f"line {line}: {module} (core never imports the app)")
            continue
        if top != "core" or layer in ENTRYPOINTS:
            continue
        target = module.split(".")[1] if "." in module else ""
        if target in SHARED or target == layer or not target:
            continue
        if layer in SHARED or target not in ALLOWED.get(layer, set()):
            wrong.append(
                f"line {line}: {module} ({layer} may import {sorted(ALLOWED.get(layer, set()))})"
            )
    assert not wrong, f"{path.relative_to(ROOT)} imports upward:\n" + "\n".join(wrong)
