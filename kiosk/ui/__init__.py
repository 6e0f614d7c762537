"""The Kivy touchscreen; ``kiosk.ui.app.run_app`` starts it (``kiosk run``)."""
