"""A kiosk makes its own identity on first start; a cloned card on another board makes a new one."""

import json

from kiosk.identity import IDENTITY_FILE, resolve_kiosk_id
from kiosk.store import Store


def test_configured_id_wins_and_writes_nothing(tmp_path):
    assert resolve_kiosk_id("window-3", tmp_path, serial="A") == "window-3"
    assert not (tmp_path / IDENTITY_FILE).exists()


def test_identity_is_made_once_and_kept_on_the_same_board(tmp_path):
    first = resolve_kiosk_id("", tmp_path, serial="10000000abcdef")
    assert first and json.loads((tmp_path / IDENTITY_FILE).read_text())["serial"] == "10000000abcdef"
    assert resolve_kiosk_id("", tmp_path, serial="10000000abcdef") == first


def test_card_cloned_onto_another_board_gets_a_new_identity(tmp_path):
    first = resolve_kiosk_id("", tmp_path, serial="board-1")
    second = resolve_kiosk_id("", tmp_path, serial="board-2")
    assert second != first
    assert resolve_kiosk_id("", tmp_path, serial="board-2") == second


def test_store_stamps_events_with_the_board_identity(tmp_path):
    store = Store(tmp_path, kiosk_id="")
    event = store.append("rating", level=1)
    store.close()
    stored = json.loads((tmp_path / IDENTITY_FILE).read_text())["kiosk_id"]
    assert event.kiosk_id == stored != ""


def test_an_identity_file_torn_by_a_power_cut_is_made_again(tmp_path):
    (tmp_path / IDENTITY_FILE).write_bytes(b"")  # a rename that reached the disk before its data
    made = resolve_kiosk_id("", tmp_path, serial="board-1")
    assert made and resolve_kiosk_id("", tmp_path, serial="board-1") == made
    assert not list(tmp_path.glob("*.tmp"))


def test_the_data_folder_and_its_missing_parents_are_made(tmp_path):
    data_dir = tmp_path / "a" / "b" / "data"
    made = resolve_kiosk_id("", data_dir, serial="board-1")
    assert json.loads((data_dir / IDENTITY_FILE).read_text())["kiosk_id"] == made
