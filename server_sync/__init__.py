"""Both ends of the wire: the kiosk's sync client and the central collector."""
