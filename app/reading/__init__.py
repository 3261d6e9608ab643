"""Reading what a class writes: digits and numbers found, straightened and classified."""
