"""The writer: group commit keeps batches all-or-nothing; the CLI can write beside the server."""

from __future__ import annotations

import json
import subprocess
import threading

from collector_helpers import collector_command, make_batch, make_event

from server_sync.collector import db as dbmod
from server_sync.collector.auth import Kiosk, add_kiosk, kiosk_by_name
from server_sync.collector.ingest import Ingestor, _Pending, prepare
from server_sync.collector.models import Batch


def batch(events, **kw) -> Batch:
    return Batch.model_validate_json(json.dumps(make_batch(events, **kw)))


def test_a_failing_batch_in_a_group_stores_nothing_and_spoils_nothing(tmp_path):
    conn = dbmod.open_db(tmp_path / "c.db")
    add_kiosk(conn, "w1")
    good = kiosk_by_name(conn, "w1")
    ghost = Kiosk(999, "ghost", 5)  # no such row: its insert breaks the foreign key
    ing = Ingestor(conn)
    b1, b2, b3 = (batch([make_event(i) for i in range(1, 4)], store_id=s) for s in ("s1", "s2", "s3"))
    items = [
        _Pending(good, b1, prepare(b1), 1.8e9),
        _Pending(ghost, b2, prepare(b2), 1.8e9),
        _Pending(good, b3, prepare(b3), 1.8e9),
    ]
    ing._write(items)
    assert all(i.done for i in items)
    assert items[0].result.stored == 3 and items[2].result.stored == 3
    assert items[1].error is not None and items[1].result is None
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 6
    assert conn.execute("SELECT sum(n) FROM rollups").fetchone()[0] == 6
    assert conn.execute("SELECT count(*) FROM boots WHERE kiosk = 999").fetchone()[0] == 0
    conn.close()


def test_many_writers_at_once_never_see_database_is_locked(live_server):
    tokens = [live_server.new_kiosk() for _ in range(8)]
    results, stop = [], threading.Event()

    def kiosk(token):
        seq = 0
        for _ in range(6):
            events = [make_event(seq + i) for i in range(1, 201)]
            seq += 200
            r = live_server.post(token, make_batch(events))
            results.append(r.status_code)

    def admin():  # the CLI writing settings beside the server, in its own process
        n = 0
        while not stop.is_set() and n < 10:
            n += 1
            out = subprocess.run(
                [*collector_command(), "set-setting", "sync.interval", str(n), "--db", str(live_server.db_path)],
                capture_output=True,
                text=True,
            )
            results.append("cli-ok" if out.returncode == 0 else out.stderr)

    threads = [threading.Thread(target=kiosk, args=(t,)) for t in tokens]
    cli = threading.Thread(target=admin)
    for t in [*threads, cli]:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    cli.join()
    assert [r for r in results if r not in (200, "cli-ok")] == []
    assert results.count(200) == 48
