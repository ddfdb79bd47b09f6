"""The open project in the window: indexing, the watcher, context for messages."""
