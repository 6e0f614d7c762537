"""The shipped example config is valid and shows the real defaults."""

from pathlib import Path

from kiosk.config import SETTINGS, load, validate

EXAMPLE = Path(__file__).parent.parent / "assets" / "kiosk.example.toml"


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
