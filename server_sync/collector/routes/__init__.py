"""The kiosks' API (protocol v1, docs/protocol-v1.md): one module-level router per area."""
