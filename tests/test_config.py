"""A bad config file stops start-up with a message office IT staff can act on:
the file, the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.config import DEFAULT_REASONS, SETTINGS, ConfigError, load, validate
from server_sync.wire.events import DEFAULT_REASON_CODES


def levels_toml(pins):
    return "\n".join(
        f'[[buttons.levels]]\nlabel = "L{i}"\nlabel_en = "L{i}"\npin = {p}\n' for i, p in enumerate(pins, start=1)
    )


def reasons_toml(n):
    return "\n".join(
        f'[[reasons.items]]\ncode = "r{i}"\nlabel = "原因{i}"\nlabel_en = "Reason {i}"\n' for i in range(1, n + 1)
    )


# (name, file text, words the message must contain: the key as written in the file, what was expected)
BAD = [
    ("malformed", "[kiosk]\nwindow = \n", ["not valid TOML", "line 2"]),
    ("unclosed table", "[kiosk\nwindow = '1'\n", ["not valid TOML", "line 1"]),
    ("duplicate key", "[kiosk]\nwindow = '1'\nwindow = '2'\n", ["not valid TOML", "line 3"]),
    (
        "unknown section",
        "[displya]\nwidth = 800\n",
        ["displya", "unknown section", "buttons, display, kiosk", "reasons, sync"],
    ),
    ("unknown key", "[kiosk]\nidle_timout = 30\n", ["[kiosk] idle_timout", "unknown setting", "idle_timeout"]),
    ("section not a table", "kiosk = 3\n", ["kiosk", "expected a [kiosk] table"]),
    ("wrong type text", '[kiosk]\nidle_timeout = "60"\n', ["[kiosk] idle_timeout", "number", "'60'"]),
    ("wrong type bool for int", "[display]\nwidth = true\n", ["[display] width", "whole number", "True"]),
    ("wrong type int for bool", "[buttons]\npull_up = 1\n", ["[buttons] pull_up", "true or false", "got 1"]),
    ("wrong type number for text", "[kiosk]\nwindow = 3\n", ["[kiosk] window", "text in quotes", "got 3"]),
    ("not finite", "[kiosk]\nthanks_seconds = nan\n", ["[kiosk] thanks_seconds", "finite number"]),
    ("rotation 45", "[display]\nrotation = 45\n", ["[display] rotation", "0, 90, 180 or 270", "45"]),
    ("fullscreen", '[display]\nfullscreen = "yes"\n', ["[display] fullscreen", 'true, false or "auto"', "yes"]),
    ("tiny window", "[display]\nwidth = 20\n", ["[display] width", "200 to 8000", "20"]),
    ("two levels", levels_toml([5, 6]), ["[buttons] levels", "3 to 5 rating buttons", "got 2"]),
    ("six levels", levels_toml([5, 6, 13, 19, 26, 21]), ["[buttons] levels", "3 to 5 rating buttons", "got 6"]),
    (
        "duplicate pins",
        levels_toml([5, 6, 5]),
        ["buttons.levels[3].pin", "GPIO 5 is already used by buttons.levels[1].pin"],
    ),
    (
        "duplicate pin spelled as a name",
        levels_toml([5, 6, '"GPIO5"']),
        ["buttons.levels[3].pin", "already used by buttons.levels[1].pin"],
    ),
    (
        "led on a button pin",
        '[buttons]\nlevels = [{label="a", label_en="a", pin=5, led=6},'
        ' {label="b", label_en="b", pin=6}, {label="c", label_en="c", pin=13}]\n',
        ["buttons.levels[2].pin", "GPIO 6 is already used by buttons.levels[1].led"],
    ),
    (
        "next pin on a button",
        "[buttons]\nnext_pin = 5\n",
        ["[buttons] next_pin", "GPIO 5 is already used by buttons.levels[1].pin"],
    ),
    ("pin out of range", levels_toml([5, 6, 40]), ["buttons.levels[3].pin", "0 to 27", "40"]),
    (
        "level without pin",
        '[buttons]\nlevels = [{label="a", label_en="a"}, {label="b", label_en="b", pin=6},'
        ' {label="c", label_en="c", pin=13}]\n',
        ["buttons.levels[1].pin", "needs a GPIO pin"],
    ),
    (
        "level with unknown field",
        '[buttons]\nlevels = [{label="a", label_en="a", pin=5, colour="red"},'
        ' {label="b", label_en="b", pin=6}, {label="c", label_en="c", pin=13}]\n',
        ["buttons.levels[1]", "colour", "expected label, label_en, pin, led"],
    ),
    (
        "empty label",
        '[buttons]\nlevels = [{label="", label_en="a", pin=5}, {label="b", label_en="b", pin=6},'
        ' {label="c", label_en="c", pin=13}]\n',
        ["buttons.levels[1].label", "non-empty text"],
    ),
    ("seven reasons", reasons_toml(7), ["[reasons] items", "at most six reasons", "got 7"]),
    (
        "reason code twice",
        '[reasons]\nitems = [{code="a", label="甲", label_en="A"}, {code="a", label="乙", label_en="B"}]\n',
        ["reasons.items[2].code", "'a' is used twice"],
    ),
    ("ask_from_level too high", "[reasons]\nask_from_level = 6\n", ["[reasons] ask_from_level", "1 to 5", "6"]),
    ("bad language", '[kiosk]\nlanguage = "zh-CN"\n', ["[kiosk] language", '"zh-TW" or "en"', "zh-CN"]),
    ("negative idle timeout", "[kiosk]\nidle_timeout = -1\n", ["[kiosk] idle_timeout", "above 0", "-1"]),
    ("zero thanks", "[kiosk]\nthanks_seconds = 0\n", ["[kiosk] thanks_seconds", "above 0", "0"]),
    ("negative reasons timeout", "[kiosk]\nreasons_timeout = -5.5\n", ["[kiosk] reasons_timeout", "above 0"]),
    ("negative repeat window", "[buttons]\nrepeat_window = -1\n", ["[buttons] repeat_window", "0 or more"]),
    ("negative bounce", "[buttons]\nbounce_time = -0.01\n", ["[buttons] bounce_time", "0 or more"]),
    ("negative led seconds", "[buttons]\nled_seconds = -1\n", ["[buttons] led_seconds", "above 0"]),
    ("negative sync interval", "[sync]\ninterval = -30\n", ["[sync] interval", "above 0"]),
    ("sync url scheme", '[sync]\nurl = "collector.example"\n', ["[sync] url", "http:// or https://"]),
    (
        "sync over http beyond loopback",
        '[sync]\nurl = "http://10.1.2.3:8470/"\n',
        ["[sync] url", "in clear", "10.1.2.3", "allow_insecure_http = true"],
    ),
    (
        "sync insecure flag not a bool",
        '[sync]\nallow_insecure_http = "yes"\n',
        ["[sync] allow_insecure_http", "true or false"],
    ),
    (
        "plain staff PIN",
        '[queue]\nstaff_pin = "2468"\n',
        ["[queue] staff_pin", "no longer accepted", "kiosk set-staff-pin --config", "6 or more digits"],
    ),
    (
        "staff PIN hash not from the command",
        '[queue]\nstaff_pin_hash = "2468"\n',
        ["[queue] staff_pin_hash", "kiosk set-staff-pin"],
    ),
]


@pytest.mark.parametrize("text, words", [(t, w) for _, t, w in BAD], ids=[n for n, _, _ in BAD])
def test_bad_file_names_file_key_and_expectation(tmp_path, text, words):
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    assert "Config error" in message and "設定檔錯誤" in message
    for word in words:
        assert word in message


def test_non_utf8_file_big5(tmp_path):
    # An office PC editor saving in Big5 (cp950) is the likely way to get here.
    path = tmp_path / "kiosk.toml"
    path.write_bytes('[kiosk]\noffice = "嘉義市選舉委員會"\n'.encode("cp950"))
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(path) in str(info.value)
    assert "not UTF-8" in str(info.value)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(path) in str(info.value)
    assert "file not found" in str(info.value)
    assert info.value.path == path


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load(tmp_path)
    assert str(tmp_path) in str(info.value)
    assert "cannot read" in str(info.value)


def test_error_carries_key_for_programs():
    with pytest.raises(ConfigError) as info:
        validate({"display": {"rotation": 45}})
    assert info.value.key == "display.rotation"
    assert "(built-in defaults)" in str(info.value)


# -- good files -------------------------------------------------------------------


def test_defaults_need_no_file():
    config = load(None)
    assert config.path is None
    assert all(s.key in config.values for s in SETTINGS)
    assert len(config.levels) == 5 and len(config.reasons) == 6


def test_full_good_file(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text(
        """
[kiosk]
id = "chiayi-cec-w2"
window = "2"
language = "en"
idle_timeout = 45.5
[buttons]
repeat_window = 0
next_pin = 0
levels = [
  { label = "滿意", label_en = "Satisfied", pin = "GPIO5", led = 18 },
  { label = "普通", label_en = "Neutral", pin = 6 },
  { label = "不滿意", label_en = "Dissatisfied", pin = 13, led = 24 },
]
[reasons]
items = []
[display]
rotation = 270
fullscreen = false
""",
        encoding="utf-8",
    )
    config = load(path)
    assert config.kiosk_id == "chiayi-cec-w2"
    assert config["kiosk.idle_timeout"] == 45.5
    assert config["buttons.next_pin"] is None
    assert [(lvl.number, lvl.pin, lvl.led) for lvl in config.levels] == [(1, "GPIO5", 18), (2, 6, None), (3, 13, 24)]
    assert config.ask_from_level == 2  # the middle of three
    assert config.reasons == []
    assert config["display.rotation"] == 270


def test_empty_kiosk_id_is_left_for_the_board_to_make(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text('[kiosk]\nwindow = "7"\n', encoding="utf-8")
    assert load(path).kiosk_id == ""


def test_plain_http_only_to_this_machine_unless_allowed(tmp_path):
    path = tmp_path / "kiosk.toml"
    for url in ("http://127.0.0.1:8470/", "http://localhost:8470/", "http://[::1]:8470/", "https://10.1.2.3/"):
        path.write_text(f'[sync]\nurl = "{url}"\n', encoding="utf-8")
        assert load(path)["sync.url"] == url
    path.write_text('[sync]\nurl = "http://10.1.2.3:8470/"\nallow_insecure_http = true\n', encoding="utf-8")
    assert load(path)["sync.allow_insecure_http"] is True


def test_sync_token_from_environment(monkeypatch):
    monkeypatch.setenv("KIOSK_SYNC_TOKEN", "from-env")
    assert validate({"sync": {"token": "in-file"}})["sync.token"] == "from-env"
    monkeypatch.delenv("KIOSK_SYNC_TOKEN")
    assert validate({"sync": {"token": "in-file"}})["sync.token"] == "in-file"


# -- through the CLI -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, words",
    [
        ("[display]\nrotation = 45\n", ["[display] rotation", "0, 90, 180 or 270"]),
        ("[kiosk]\nidle_timout = 30\n", ["[kiosk] idle_timout", "unknown setting"]),
        ("[kiosk\n", ["not valid TOML"]),
    ],
)
def test_run_with_bad_config_fails_fast_with_the_message(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "--config", str(path), "--data-dir", str(tmp_path / "d")])
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert str(path) in result.output
    for word in words:
        assert word in result.output
    assert not (tmp_path / "d").exists()  # stopped before touching the data folder


def test_run_with_missing_config_names_it(tmp_path):
    path = tmp_path / "missing.toml"
    result = CliRunner().invoke(main, ["run", "--config", str(path)])
    assert result.exit_code != 0
    assert str(path) in result.output and "file not found" in result.output


@pytest.mark.parametrize("command", ["events", "simulate", "doctor"])
def test_other_commands_report_bad_config_too(tmp_path, command):
    path = tmp_path / "bad.toml"
    path.write_text("[display]\nrotation = 45\n", encoding="utf-8")
    args = [command, "--config", str(path), "--data-dir", str(tmp_path / "d")]
    if command == "simulate":
        args += ["--ratings", "3"]
    if command == "doctor":
        args += ["--demo"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    assert str(Path(path)) in result.output
    assert "[display] rotation" in result.output


def test_the_default_reasons_are_the_codes_the_collector_knows():
    # The collector groups reason codes it does not know as 其他 other: the kiosk's defaults must be its own.
    assert tuple(r["code"] for r in DEFAULT_REASONS) == DEFAULT_REASON_CODES
