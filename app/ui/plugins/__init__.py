"""Plugins in the window: slash commands, editor actions, panels, carrying out their results."""
