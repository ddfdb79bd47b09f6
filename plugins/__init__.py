"""Built-in plugins, one sub-package each.

They are registered through the ``quillpad.plugins`` entry point group exactly
as third-party plugins are, and import only the public plugin API.
"""
