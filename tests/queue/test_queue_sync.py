"""The directory from the collector to the kiosk, and the queue's events back, through a real collector."""

from __future__ import annotations

import requests
from queuehelp import Counter, all_day_directory, queue_config
from synchelp import KIOSK_ID, Collector

from kiosk.directory import bundled_path
from kiosk.outbox import sync_client


def sync_round(counter: Counter, url: str, token: str):
    client = sync_client(url, token, counter.kiosk.store.data_dir, clock=counter.clock)
    try:
        return client.run_round()
    finally:
        client.close()


def test_directory_updates_arrive_by_sync_while_tickets_are_open(tmp_path):
    collector = Collector(tmp_path / "collector")
    collector.workdir.mkdir()
    token = collector.add_kiosk(KIOSK_ID)
    admin = collector.cli("add-api-token", "secretariat").strip().splitlines()[-1]
    first = all_day_directory(tmp_path / "v1.csv")
    assert "revision 1" in collector.cli("import-services", str(first))
    collector.start()
    counter = Counter(tmp_path / "kiosk", queue_config(bundled_path()))
    try:
        url = collector.url
        # The kiosk's own file (real office hours) is used until the collector's copy arrives.
        assert counter.kiosk.directory.get().revision == 0
        r1 = sync_round(counter, url, token)
        assert r1.ok and r1.services_changed
        assert counter.kiosk.directory.get().revision == 1
        open_tickets = [
            counter.queue.issue("polling_place").number,
            counter.queue.issue("certificates").number,
            counter.queue.issue("campaign_receipts").number,
        ]
        assert open_tickets == ["D001", "H001", "F001"]
        r2 = sync_round(counter, url, token)
        assert r2.ok and not r2.services_changed  # 304: the ETag matched

        # Kiosk tokens cannot change the directory; an admin token can.
        csv2 = all_day_directory(
            tmp_path / "v2.csv", polling_place={"name": "投票所查詢", "typical_minutes": "2"}, certificates=None
        ).read_bytes()

        def put(tok, body, ctype="text/csv"):
            return requests.put(
                f"{url}/api/v1/admin/services",
                data=body,
                timeout=10,
                headers={"Authorization": f"Bearer {tok}", "Content-Type": ctype},
            )

        assert put(token, csv2).status_code == 401
        bad = put(admin, csv2.replace(b",2,mon-sun", b",two,mon-sun"))
        assert bad.status_code == 422, bad.text
        assert any(e["field"] == "typical_minutes" and e["where"].startswith("line ") for e in bad.json()["detail"])
        ok = put(admin, csv2)
        assert ok.status_code == 200 and ok.json()["revision"] == 2
        got = requests.get(f"{url}/api/v1/services", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert got.headers["ETag"] == '"svc-2"' and len(got.json()["services"]) == 7

        r3 = sync_round(counter, url, token)
        assert r3.ok and r3.services_changed
        directory = counter.kiosk.directory.get()
        assert directory.revision == 2 and directory.get("certificates") is None
        status = counter.queue.status("polling_place")
        assert status.service.name == "投票所查詢" and status.ahead == 3
        # Open tickets go on, the removed service's one included; new ones follow the new directory.
        assert counter.queue.issue("polling_place").number == "D002"
        called = []
        for _ in range(4):
            counter.clock.advance(90)
            called.append(counter.next().called.number)
        assert called == ["D001", "H001", "F001", "D002"]
        counter.clock.advance(60)
        counter.rate(1)
        try:
            counter.queue.issue("certificates")
            raise AssertionError("a removed service must not take tickets")
        except Exception as exc:
            assert "choose again" in str(exc)
        issued = counter.events("ticket_issued")
        assert [e.detail["directory_revision"] for e in issued] == [1, 1, 1, 2]

        r4 = sync_round(counter, url, token)
        assert r4.ok and r4.pending == 0
        at_collector = collector.events()
        kinds = [e["type"] for e in at_collector]
        assert kinds.count("ticket_issued") == 4 and kinds.count("ticket_called") == 4
        assert kinds.count("ticket_served") == 3
        rating = next(e for e in at_collector if e["type"] == "rating")
        assert rating["ticket"] == "D002" and rating["service"] == "polling_place"
        assert rating["wait_seconds"] is not None and rating["service_seconds"] == 60.0
        assert rating["ref"] == next(
            e["id"] for e in at_collector if e["type"] == "ticket_issued" and e["ticket"] == "D002"
        )
    finally:
        counter.close()
        collector.stop()


def test_a_collector_without_a_directory_leaves_the_kiosks_own(tmp_path):
    """Revision 0 means the collector was never given one: not a directory with no services."""
    collector = Collector(tmp_path / "collector")
    collector.workdir.mkdir()
    token = collector.add_kiosk(KIOSK_ID)
    collector.start()
    counter = Counter(tmp_path / "kiosk", queue_config(bundled_path()))
    try:
        own = counter.kiosk.directory.get()
        assert own.services, "the bundled directory has services"
        result = sync_round(counter, collector.url, token)
        assert result.ok and not result.services_changed
        after = counter.kiosk.directory.get()
        assert [s.code for s in after.services] == [s.code for s in own.services]
    finally:
        counter.close()
        collector.stop()
