"""The chat panel: conversation view, input, history."""
