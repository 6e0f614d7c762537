"""The kiosk's data files, installed as the package ``kiosk.assets`` (pyproject.toml):
the call chime, the demo service directory and the example config.

A regular package rather than a bare folder, so that an editable install finds it too.
Read its files with ``kiosk.config.asset_path``.
"""
