"""Small widgets and helpers shared by several parts of the window (icons, a wrapping layout, eliding label)."""
