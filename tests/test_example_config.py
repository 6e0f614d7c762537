"""The shipped example config is valid, shows the real defaults, and `kiosk example-config` prints it."""

from __future__ import annotations

from click.testing import CliRunner

from kiosk.cli import main
from kiosk.config import SETTINGS, asset_path, load, validate

EXAMPLE = asset_path("kiosk.example.toml")  # from the package, as an install finds it


def test_example_config_loads_and_matches_defaults_except_the_examples():
    example = load(EXAMPLE)
    defaults = validate({})
    examples = {"kiosk.id"}  # marked "example" in the file
    for setting in SETTINGS:
        if setting.key in examples:
            continue
        assert example[setting.key] == defaults[setting.key], setting.key
    assert example.levels == defaults.levels
    assert example.reasons == defaults.reasons


def test_example_config_command_prints_the_shipped_file(tmp_path):
    result = CliRunner().invoke(main, ["example-config"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout == EXAMPLE.read_text(encoding="utf-8")
    written = tmp_path / "kiosk.toml"
    written.write_text(result.stdout, encoding="utf-8")
    assert load(written).levels == validate({}).levels
