"""Code referencing in the window: the index kept up to date in the background, checks off the GUI thread."""
