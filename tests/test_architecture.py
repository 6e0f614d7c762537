"""Which way imports go: the contracts in pyproject.toml hold, and the wire needs only the standard library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIRE = ROOT / "server_sync" / "wire"


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")  # the venv's, beside this Python
    assert lint.exists(), "import-linter is missing: pip install -e '.[test]'"
    out = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def _imported(tree: ast.AST) -> set[str]:
    """Top-level names of every absolute import in the tree, function-level ones included."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_wire_imports_only_the_standard_library_and_itself():
    files = sorted(WIRE.glob("*.py"))
    assert files
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        own = {n for n in _imported(tree) if n == "server_sync"}
        outside = _imported(tree) - set(sys.stdlib_module_names) - {"__future__"} - own
        assert not outside, f"{path.relative_to(ROOT)} imports {sorted(outside)}"
        for node in ast.walk(tree):  # within server_sync, only the wire itself
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("server_sync"):
                assert node.module.startswith("server_sync.wire"), f"{path.name} imports {node.module}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("server_sync"):
                        assert alias.name.startswith("server_sync.wire"), f"{path.name} imports {alias.name}"
