"""Icons, styles and prompt texts, read with ``importlib.resources``."""
