"""pyproject.toml against the tree: every package listed, the three parts kept apart, one version.

Fast checks of the packaging metadata; tests/deploy/test_wheel.py installs the real wheel.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk.cli import main as kiosk_main
from server_sync import extras
from server_sync.collector.cli import main as collector_main

REPO = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
KIOSK_ONLY = {"kivy", "gpiozero", "fonttools", "python-escpos", "lgpio"}
COLLECTOR_ONLY = {"fastapi", "uvicorn", "jinja2", "python-multipart", "argon2-cffi", "openpyxl", "weasyprint"}


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement string ("Kivy>=2.3" -> "kivy")."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group(0)).lower()


def _extra(name: str) -> set[str]:
    return {_name(r) for r in PROJECT["project"]["optional-dependencies"][name]}


def _tree_packages() -> set[str]:
    """Every folder under kiosk/ and server_sync/ (code or data), as a dotted package name."""
    found = set()
    for top in ("kiosk", "server_sync"):
        for folder in [REPO / top, *(REPO / top).rglob("*")]:
            if folder.is_dir() and "__pycache__" not in folder.parts and not folder.name.startswith("."):
                found.add(".".join(folder.relative_to(REPO).parts))
    return found


def test_every_package_in_the_tree_is_listed_in_pyproject():
    listed = set(PROJECT["tool"]["setuptools"]["packages"])
    tree = _tree_packages() | {"kiosk.assets"}
    assert not tree - listed, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(tree - listed)}"
    assert not listed - tree, f"listed in pyproject.toml but not in the tree: {sorted(listed - tree)}"
    assert PROJECT["tool"]["setuptools"]["package-dir"] == {"kiosk.assets": "assets"}
    assert (REPO / "assets" / "__init__.py").is_file(), (
        "an editable install finds kiosk.assets only as a regular package"
    )


def test_base_dependencies_hold_neither_part():
    base = {_name(r) for r in PROJECT["project"]["dependencies"]}
    assert not base & (KIOSK_ONLY | COLLECTOR_ONLY), base
    assert KIOSK_ONLY - {"lgpio"} <= _extra("kiosk")
    assert not _extra("kiosk") & COLLECTOR_ONLY
    assert _extra("collector") >= COLLECTOR_ONLY
    assert not _extra("collector") & KIOSK_ONLY
    assert PROJECT["project"]["optional-dependencies"]["pi"][0] == "counter-kiosk[kiosk]"
    assert "counter-kiosk[kiosk,collector]" in PROJECT["project"]["optional-dependencies"]["test"]


@pytest.mark.parametrize("extra", sorted(extras.EXTRAS))
def test_the_extra_check_looks_for_modules_the_extra_installs(extra):
    # Each import name the check looks for comes from a distribution that extra declares.
    providers = metadata.packages_distributions()
    for module in extras.EXTRAS[extra].modules:
        dists = {_name(d) for d in providers.get(module, [])}
        assert dists & _extra(extra), f"{module} ({dists}) is not installed by the {extra} extra"


def _hide(monkeypatch, hidden: str) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == hidden else real(name, *a))


@pytest.mark.parametrize(
    ("main", "extra", "hidden", "args"),
    [
        (kiosk_main, "kiosk", "kivy", ["simulate", "--queue-days", "1"]),
        (collector_main, "collector", "uvicorn", ["serve"]),
    ],
)
def test_a_missing_extra_ends_in_one_line_naming_the_fix(monkeypatch, main, extra, hidden, args):
    _hide(monkeypatch, hidden)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [extras.missing_message(extra)]
    line = extras.missing_message(extra)
    assert line.startswith("缺少") and f"pip install 'counter-kiosk[{extra}]'" in line


def test_the_version_is_pyprojects():
    version = PROJECT["project"]["version"]
    assert "version" not in PROJECT["project"].get("dynamic", [])
    result = CliRunner().invoke(kiosk_main, ["--version"])
    assert result.exit_code == 0 and version in result.output


def test_the_extras_check_needs_only_the_standard_library():
    # The check itself must run before any extra is importable: standard library only.
    spec = importlib.util.find_spec("server_sync.extras")
    source = Path(spec.origin).read_text(encoding="utf-8")
    imported = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imported <= {"__future__", "importlib", "sys", "dataclasses"}, imported
