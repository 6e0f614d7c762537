"""Counter kiosk: what runs on the Raspberry Pi at a service window.

The version is in kiosk/version.py: reading it costs an import the touchscreen does not need.
"""

from __future__ import annotations
