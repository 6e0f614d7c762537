from kiosk.config import validate


def test_default_config_has_five_levels_left_most_satisfied():
    config = validate({})
    assert [lvl.label for lvl in config.levels] == ["非常滿意", "滿意", "普通", "不滿意", "非常不滿意"]
    assert config.ask_from_level == 3
