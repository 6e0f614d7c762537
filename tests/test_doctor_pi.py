"""`kiosk doctor`'s Raspberry Pi checks: GPIO access, display, clock, read-only data dir."""

from types import SimpleNamespace

from click.testing import CliRunner

from kiosk.cli import main
from kiosk.doctor import check_clock, check_data_dir_writable_mount, check_display, check_gpio_access


def test_gpio_access_needs_a_chip_device(tmp_path):
    check = check_gpio_access(tmp_path)
    assert not check.ok and "gpiochip" in check.message


def test_gpio_access_ok_when_the_chip_is_usable(tmp_path):
    (tmp_path / "gpiochip0").write_bytes(b"")
    check = check_gpio_access(tmp_path)
    assert check.ok and "gpiochip0" in check.message


def test_gpio_access_names_the_group_when_denied(tmp_path):
    # A chip node the process cannot open. (A permission bit would not do: root,
    # as CI runs, passes every os.access check; a dangling node fails it for anyone.)
    (tmp_path / "gpiochip0").symlink_to(tmp_path / "no-such-device")
    check = check_gpio_access(tmp_path)
    assert not check.ok and "gpio group" in check.message and "gpiochip0" in check.message


def test_display_from_a_desktop_session_or_kms(tmp_path):
    assert check_display({"DISPLAY": ":0"}, tmp_path).ok
    no_card = check_display({}, tmp_path)
    assert not no_card.ok and "KMS" in no_card.message
    (tmp_path / "card1").write_bytes(b"")
    assert check_display({}, tmp_path).ok


def test_clock_not_synchronised_is_a_warning_not_a_failure():
    synced = check_clock(lambda *a, **k: SimpleNamespace(stdout="yes\n"))
    assert synced.ok and not synced.warning
    unsynced = check_clock(lambda *a, **k: SimpleNamespace(stdout="no\n"))
    assert unsynced.ok and unsynced.warning and "尚未校時" in unsynced.message


def test_writable_mount(tmp_path):
    assert check_data_dir_writable_mount(tmp_path).ok
    assert not check_data_dir_writable_mount(tmp_path / "missing").ok


def test_check_config_command(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[kiosk]\nwindow = "2"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["check-config", "--config", str(good)])
    assert result.exit_code == 0 and "config OK" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[display]\nrotation = 45\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check-config", "--config", str(bad)])
    assert result.exit_code != 0
    assert "bad.toml" in result.output and "rotation" in result.output and "0, 90, 180 or 270" in result.output
