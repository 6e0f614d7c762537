"""The central collector: receives kiosks' events (protocol v1), stores them once, reports.

Run it with ``kiosk-collector serve``; see docs/collector.md and docs/protocol-v1.md.
"""
