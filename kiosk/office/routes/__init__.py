"""The host's routes, one module per area: the devices' API, the wall display, the phone page."""
