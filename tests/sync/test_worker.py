"""The background worker of `kiosk run`: catches up by itself when the collector comes back."""

from __future__ import annotations

import random
import threading
import time

import pytest
from synchelp import KIOSK_ID, Collector, fill, free_port, kiosk_ids, sync_config

from kiosk.clock import SimulatedClock
from kiosk.outbox import StatusReader, sync_client
from kiosk.runtime import Kiosk
from server_sync.client.session import make_retry
from server_sync.client.worker import Backoff, SyncWorker


def wait_for(predicate, timeout: float, what, *, explain=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}: {explain()}")


def test_worker_catches_up_after_the_collector_was_down(tmp_path, data_dir):
    collector = Collector(tmp_path / "collector", port=free_port())
    collector.workdir.mkdir()
    token = collector.add_kiosk(KIOSK_ID)  # the collector's file exists, its server is down
    n = fill(data_dir, 2500)
    rounds = []
    client = sync_client(
        collector.url, token, data_dir, timeout=(1, 5), retries=make_retry(total=1, backoff_factor=0.01)
    )
    worker = SyncWorker(
        client, interval=0.2, backoff=Backoff(base=0.05, cap=0.5, rng=random.Random(1)), on_round=rounds.append
    )
    worker.start()
    try:
        wait_for(lambda: len(rounds) >= 3, 10, "three failed rounds")
        assert all(r.error is not None and r.error.en == "cannot reach the collector" for r in rounds)
        status = StatusReader(data_dir).read()
        assert status.failing and status.pending == n and status.last_error_zh == "無法連線到收集伺服器"

        fill(data_dir, 100)  # the counter keeps working meanwhile
        collector.start()
        try:
            wait_for(
                lambda: (lambda s: s.pending == 0 and not s.failing)(StatusReader(data_dir).read()),
                20,
                "the worker to catch up",
                explain=lambda: f"{len(rounds)} rounds, last {rounds[-3:]}, {StatusReader(data_dir).read()}",
            )
            status = StatusReader(data_dir).read()
            assert not status.failing and status.last_success_at is not None
            ids = [e["id"] for e in collector.events()]
            assert len(ids) == len(set(ids)) == n + 120
            assert set(ids) == set(kiosk_ids(data_dir))
        finally:
            worker.stop()
            collector.stop()
    finally:
        worker.stop()
    assert not worker.running


def test_kiosk_start_sync_runs_in_the_background_and_feeds_the_status_line(collector, data_dir, mock_factory):
    config = sync_config(collector.url, collector.token, interval=0.2)
    kiosk = Kiosk(config, data_dir, pin_factory=mock_factory, clock=SimulatedClock())
    seen: set[str] = set()
    stop = threading.Event()

    def watch():  # what a clerk could read on the screen at any moment of the rounds
        while not stop.is_set():
            seen.add(kiosk.status_line("zh-TW"))
            stop.wait(0.002)

    watcher = threading.Thread(target=watch, name="status-watcher", daemon=True)
    try:
        for level in (1, 2, 3):
            kiosk.recorder.press(level)
        assert kiosk.status_line("zh-TW") == "尚未同步 · 待同步 3 筆"
        watcher.start()
        kiosk.start_sync()
        kiosk.start_sync()  # a second call changes nothing
        assert sum(t.name == "kiosk-sync" for t in threading.enumerate()) == 1
        wait_for(lambda: kiosk.status_line("zh-TW").endswith("待同步 0 筆"), 10, "the first ack")
        line = kiosk.status_line("zh-TW")
        assert line.startswith("已同步 ") and line.endswith(" · 待同步 0 筆")
        assert kiosk.status_line("en").startswith("Synced ")
        # A press while syncing is picked up by the next round.
        kiosk.recorder.press(5)
        wait_for(lambda: len(collector.events()) == 4, 10, "the fourth event at the collector")
        wait_for(lambda: kiosk._sync.rounds >= 3, 10, "two more rounds")
    finally:
        stop.set()
        if watcher.is_alive():
            watcher.join(5)
        kiosk.close()
    assert not any(t.name == "kiosk-sync" and t.is_alive() for t in threading.enumerate())
    # Never synced yet nothing pending: the contradiction the ack and its success time,
    # written in one transaction, rule out.
    assert "尚未同步 · 待同步 0 筆" not in seen, sorted(seen)
    assert any(line.startswith("已同步 ") for line in seen) and "尚未同步 · 待同步 3 筆" in seen


def test_status_line_when_sync_is_off_or_never_ran(data_dir, mock_factory):
    kiosk = Kiosk(sync_config("", ""), data_dir, pin_factory=mock_factory, clock=SimulatedClock())
    try:
        kiosk.start_sync()
        assert kiosk.status_line("zh-TW") == ""
        assert not any(t.name == "kiosk-sync" for t in threading.enumerate())
    finally:
        kiosk.close()
    kiosk = Kiosk(sync_config("http://127.0.0.1:9", "t"), data_dir, pin_factory=mock_factory, clock=SimulatedClock())
    try:
        kiosk.recorder.press(1)
        assert kiosk.status_line("zh-TW") == "尚未同步 · 待同步 1 筆"
        assert kiosk.status_line("en") == "Not synced yet · 1 waiting to sync"
    finally:
        kiosk.close()


@pytest.mark.parametrize(
    "lang, expected",
    [
        ("zh-TW", "未能同步：無法連線到收集伺服器 · 待同步 2 筆"),
        ("en", "Not synced: cannot reach the collector · 2 waiting to sync"),
    ],
)
def test_status_line_names_the_failure(data_dir, mock_factory, lang, expected):
    port = free_port()  # nothing listens there
    config = sync_config(f"http://127.0.0.1:{port}", "t", interval=60)
    kiosk = Kiosk(config, data_dir, pin_factory=mock_factory, clock=SimulatedClock())
    try:
        kiosk.recorder.press(1)
        kiosk.recorder.press(2)
        sync_client(config["sync.url"], "t", data_dir, retries=make_retry(total=0)).run_round()
        assert kiosk.status_line(lang) == expected
    finally:
        kiosk.close()
