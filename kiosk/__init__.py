"""Counter kiosk: what runs on the Raspberry Pi at a service window."""

__version__ = "0.1.0"
