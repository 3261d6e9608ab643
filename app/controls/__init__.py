"""Where key presses come from (evdev, terminal, web), and the one action table."""
