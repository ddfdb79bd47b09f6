"""The model in the window: the engine thread, choosing, loading, the banner, the Models window, servers."""
