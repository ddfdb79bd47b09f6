"""Git in the window: status marks, diffs, the commit dialog, AI checkpoints and their undo."""
