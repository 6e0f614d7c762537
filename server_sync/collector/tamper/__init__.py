"""Tamper and health detection: buttons that go unpressed, stuck buttons, silent kiosks, shifts
in a window's ratings (docs/admin.md "Tamper and health alerts")."""
