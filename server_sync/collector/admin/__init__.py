"""The administrators' web pages at /admin (see docs/admin.md).

The pages sit above the collector's core (db, ingest, rollup, alerts, cases, services …) and
below the app that assembles them (api.py): they import the core, never the other way round
(the layers contract in pyproject.toml).
"""
