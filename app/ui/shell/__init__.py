"""The window itself: application start, main window, settings, theme, welcome page, scripted runs."""
