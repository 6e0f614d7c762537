"""The administrators' web pages at /admin (see docs/admin.md).

Kept import-light: ingest.py imports ``admin.rollup`` on every batch; the web
part (FastAPI router, Jinja2) is in ``admin.routes`` and loaded by ``mount``.
"""

from __future__ import annotations


def mount(app, db_path, readers, ingestor) -> None:
    """Add the /admin pages and start the alert worker (stopped by ``app.state.admin.close()``)."""
    from server_sync.collector.admin.routes import install

    install(app, db_path, readers, ingestor)
