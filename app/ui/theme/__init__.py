"""The window's look, defined once: spacing and type scale, colours per theme, the app-wide stylesheet."""
