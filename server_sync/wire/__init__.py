"""What the kiosk and the collector must agree on; standard library only, imports nothing else of ours."""
