"""The staff PIN: only a salted hash in the config, 6+ digits, and a lock that outlives a restart.

Every lock test runs on the real Store (the kiosk's SQLite file) with a SimulatedClock:
closing the store and opening it again is the restart, advancing the clock is the wait.
"""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest
from click.testing import CliRunner

from kiosk import pinhash
from kiosk.cli import main
from kiosk.clock import SimulatedClock
from kiosk.config import ConfigError, load
from kiosk.config_edit import EditError, edited
from kiosk.staffpin import FREE_TRIES, MAX_LOCK, StaffPinGuard, lock_seconds
from kiosk.store import Store

PIN = "246813"
# The real scrypt check, once per hash; the lock tests count tries, not hash costs.
HASH = pinhash.hash_pin(PIN)


def fast_check(pin: str, record: str) -> bool:
    return record == HASH and pin == PIN


def open_guard(data_dir, clock) -> StaffPinGuard:
    store = Store(data_dir, kiosk_id="pin-w1", clock=clock)
    return StaffPinGuard(store, HASH, check=fast_check)


def restart(guard: StaffPinGuard, clock) -> StaffPinGuard:
    guard.close()
    guard.store.close()
    return open_guard(guard.store.data_dir, clock)


# -- the hash -------------------------------------------------------------------------------


def test_hash_is_salted_scrypt_and_checks_only_the_right_pin():
    assert HASH.startswith("scrypt:") and PIN not in HASH
    assert pinhash.check_pin(PIN, HASH)
    assert not pinhash.check_pin("246814", HASH)
    assert pinhash.hash_pin(PIN) != HASH, "a fresh salt each time a PIN is set"
    assert pinhash.hash_problem(HASH) is None
    for bad in ("", "246813", "scrypt:1024:8:1:AAAA:AAAA", "md5:1:1:1:x:y", HASH.replace(":", ";")):
        assert pinhash.hash_problem(bad), bad
        assert not pinhash.check_pin(PIN, bad)


@pytest.mark.parametrize("pin", ["1234", "12345", "12ab56", "１２３４５６", "1234567890123"])
def test_short_or_non_digit_pins_are_refused(pin):
    assert pinhash.pin_problem(pin)
    with pytest.raises(ValueError):
        pinhash.hash_pin(pin)


# -- the lock -------------------------------------------------------------------------------


def test_the_schedule_grows_after_five_wrong_pins_up_to_an_hour():
    assert [lock_seconds(n) for n in range(FREE_TRIES)] == [0.0] * FREE_TRIES
    assert [lock_seconds(n) / 60 for n in range(FREE_TRIES, FREE_TRIES + 7)] == [1, 2, 4, 8, 16, 32, 60]
    assert lock_seconds(10_000) == MAX_LOCK


def test_the_lock_survives_a_restart_and_grows(tmp_path):
    clock = SimulatedClock()
    guard = open_guard(tmp_path, clock)
    for n in range(1, FREE_TRIES):
        attempt = guard.attempt("000000")
        assert (attempt.unlocked, attempt.failures, attempt.locked_for) == (False, n, 0.0)
    attempt = guard.attempt("000000")
    assert attempt.locked_for == 60 and attempt.failures == FREE_TRIES

    guard = restart(guard, clock)
    assert guard.locked_for() == 60
    refused = guard.attempt(PIN)  # even the right PIN is not checked while locked
    assert not refused.unlocked and not refused.checked and refused.locked_for == 60

    clock.advance(30)
    guard = restart(guard, clock)
    assert guard.locked_for() == 30
    clock.advance(30)
    assert guard.locked_for() == 0
    attempt = guard.attempt("111111")  # the count did not restart: the next lock is longer
    assert attempt.checked and attempt.failures == FREE_TRIES + 1 and attempt.locked_for == 120

    clock.advance(120)
    guard = restart(guard, clock)
    assert guard.attempt(PIN).unlocked
    guard = restart(guard, clock)
    assert guard.attempt("000000").failures == 1, "the right PIN starts the count again"
    guard.close()
    guard.store.close()


def test_a_clock_gone_back_shortens_nothing_and_drops_nothing(tmp_path):
    clock = SimulatedClock()
    guard = open_guard(tmp_path, clock)
    for _ in range(FREE_TRIES):
        guard.attempt("000000")
    # A Pi without RTC reboots on an old time: the lock would seem to last a day.
    clock.set_wall(clock.now() - timedelta(days=1))
    guard = restart(guard, clock)
    assert guard.locked_for() == 60, "cut to its own length from now, not dropped"
    clock.advance(59)
    assert guard.locked_for() == 1
    guard.close()
    guard.store.close()


def test_the_real_hash_unlocks_through_the_guard(tmp_path):
    store = Store(tmp_path, kiosk_id="pin-w1", clock=SimulatedClock())
    guard = StaffPinGuard(store, HASH)
    assert not guard.attempt("135792").unlocked
    assert guard.attempt(PIN).unlocked
    guard.close()
    store.close()


# -- the config -----------------------------------------------------------------------------


def test_a_plain_pin_in_the_config_names_the_command_that_replaces_it(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text('[queue]\nstaff_pin = "2468"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert info.value.key == "queue.staff_pin"
    assert f"kiosk set-staff-pin --config {path}" in str(info.value) and str(path) in str(info.value)


def test_a_hash_not_written_by_the_command_is_refused(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text('[queue]\nstaff_pin_hash = "246813"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert info.value.key == "queue.staff_pin_hash" and "kiosk set-staff-pin" in str(info.value)


def test_set_staff_pin_replaces_the_plain_pin_keeping_the_rest(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text(
        '# office kiosk\n[kiosk]\nwindow = "3"  # by the door\n\n[queue]\nstaff_pin = "2468"\n'
        "speak = true\n\n[sync]\ninterval = 20\n",
        encoding="utf-8",
    )
    path.chmod(0o644)
    result = CliRunner().invoke(main, ["set-staff-pin", "--config", str(path)], input=f"{PIN}\n{PIN}\n")
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    assert PIN not in text and "staff_pin =" not in text
    assert "# office kiosk" in text and 'window = "3"  # by the door' in text
    config = load(path)
    assert pinhash.check_pin(PIN, config["queue.staff_pin_hash"])
    assert config["queue.speak"] is True and config["sync.interval"] == 20 and config["kiosk.window"] == "3"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640, "never readable by others"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_set_staff_pin_from_stdin_adds_the_section(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text('[kiosk]\nwindow = "2"', encoding="utf-8")  # no final newline, no [queue]
    path.chmod(0o600)
    result = CliRunner().invoke(main, ["set-staff-pin", "--config", str(path), "--stdin"], input="97531086\n")
    assert result.exit_code == 0, result.output
    assert pinhash.check_pin("97531086", load(path)["queue.staff_pin_hash"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("typed", ["1234\n1234\n", "246813\n246814\n246813\n135790\n"])
def test_set_staff_pin_refuses_a_short_or_mistyped_pin(tmp_path, typed):
    path = tmp_path / "kiosk.toml"
    path.write_text('[queue]\nstaff_pin = "2468"\n', encoding="utf-8")
    before = path.read_bytes()
    result = CliRunner().invoke(main, ["set-staff-pin", "--config", str(path)], input=typed)
    assert result.exit_code != 0
    assert path.read_bytes() == before


def test_an_edit_that_would_not_read_back_is_refused():
    # A [queue] written as an inline table cannot be edited line by line.
    with pytest.raises(EditError):
        edited('queue = { staff_pin = "2468" }\n', "queue.staff_pin_hash", HASH, drop=("staff_pin",))


def test_set_staff_pin_needs_a_config_file(tmp_path, monkeypatch):
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    result = CliRunner().invoke(main, ["set-staff-pin", "--stdin"], input=f"{PIN}\n")
    assert result.exit_code != 0 and "--config" in result.output
    missing = tmp_path / "nope.toml"
    result = CliRunner().invoke(main, ["set-staff-pin", "--config", str(missing), "--stdin"], input=f"{PIN}\n")
    assert result.exit_code != 0 and not os.path.exists(missing)
