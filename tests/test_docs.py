"""The README documents every `kiosk` command and every config setting.

Fails until README.md exists: that is intended.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from kiosk.cli import main
from kiosk.config import SETTINGS

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_text() -> str:
    assert README.is_file(), f"{README} is missing: it must document every command and setting"
    return README.read_text(encoding="utf-8")


def command_names():
    ctx = click.Context(main)
    return sorted(main.list_commands(ctx))


def documented_in_table(text: str, section: str, name: str) -> bool:
    """A markdown table row naming the key, under a heading or in a row that names its [section]."""
    heading_section = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            found = re.search(r"\[(\w+)\]", stripped)
            heading_section = found.group(1) if found else None
            continue
        if not stripped.startswith("|"):
            continue
        cells = [c.strip().strip("`").strip() for c in stripped.strip("|").split("|")]
        if name in cells and (heading_section == section or f"[{section}]" in stripped or section in cells):
            return True
    return False


@pytest.mark.parametrize("name", command_names())
def test_every_command_is_in_readme(name):
    text = readme_text()
    assert re.search(rf"\bkiosk {re.escape(name)}\b", text), f"README.md never shows `kiosk {name}`"


@pytest.mark.parametrize("key", [s.key for s in SETTINGS])
def test_every_setting_is_in_readme(key):
    text = readme_text()
    section, name = key.split(".")
    assert key in text or documented_in_table(text, section, name), (
        f"README.md does not document the setting {key} (as `{key}` or a table row under [{section}])"
    )


def test_table_matcher_accepts_both_layouts():
    # The matcher above must not pass anything: check it on small documents.
    under_heading = "## [kiosk]\n\n| key | default |\n|---|---|\n| `idle_timeout` | 60 |\n"
    with_section_cell = "| section | key |\n|---|---|\n| kiosk | idle_timeout |\n"
    wrong_section = "## [display]\n\n| key |\n|---|\n| idle_timeout |\n"
    prose_only = "The idle_timeout in [kiosk] sets it.\n"
    assert documented_in_table(under_heading, "kiosk", "idle_timeout")
    assert documented_in_table(with_section_cell, "kiosk", "idle_timeout")
    assert not documented_in_table(wrong_section, "kiosk", "idle_timeout")
    assert not documented_in_table(prose_only, "kiosk", "idle_timeout")


def collector_command_names():
    from server_sync.collector.cli import main as collector

    return sorted(collector.list_commands(click.Context(collector)))


@pytest.mark.parametrize("name", collector_command_names())
def test_every_collector_command_is_documented(name):
    text = (README.parent / "docs" / "collector.md").read_text(encoding="utf-8")
    assert re.search(rf"\bkiosk-collector {re.escape(name)}\b", text), (
        f"docs/collector.md never shows `kiosk-collector {name}`"
    )


def collector_options():
    """(command, --option) for every long option of every `kiosk-collector` command."""
    from server_sync.collector.cli import main as collector

    ctx = click.Context(collector)
    for name in sorted(collector.list_commands(ctx)):
        for param in collector.get_command(ctx, name).params:
            if isinstance(param, click.Option):
                for opt in param.opts + param.secondary_opts:
                    if opt.startswith("--"):
                        yield name, opt


def option_documented(text: str, command: str, opt: str) -> bool:
    """On the command's own table row, or in a sentence saying every command takes it."""
    if re.search(rf"Every command takes `{re.escape(opt)}\b", text):
        return True
    return any(
        re.search(rf"`kiosk-collector {re.escape(command)}\b[^`]*{re.escape(opt)}\b", line)
        for line in text.splitlines()
    )


@pytest.mark.parametrize(("command", "opt"), list(collector_options()))
def test_every_collector_command_option_is_documented(command, opt):
    text = (README.parent / "docs" / "collector.md").read_text(encoding="utf-8")
    assert option_documented(text, command, opt), f"docs/collector.md never shows `kiosk-collector {command} … {opt}`"


def test_option_matcher_needs_the_commands_own_row():
    text = "| `kiosk-collector serve [--port 8470]` | x |\n| `kiosk-collector backup --to DIR` | y |\n"
    assert option_documented(text, "serve", "--port")
    assert not option_documented(text, "serve", "--to")
    assert not option_documented(text, "backup", "--port")
    assert option_documented("Every command takes `--db PATH`.", "report", "--db")


def collector_settings():
    from server_sync.collector.options import OPTIONS

    return [o.key for o in OPTIONS]


@pytest.mark.parametrize("key", collector_settings())
def test_every_collector_setting_is_documented(key):
    text = (README.parent / "docs" / "admin.md").read_text(encoding="utf-8")
    assert re.search(rf"^\| `{re.escape(key)}` \|", text, re.M), (
        f"docs/admin.md's settings table has no row for `{key}`"
    )
