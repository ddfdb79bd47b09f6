"""Inline code completion: fill-in-the-middle suggestions from a local coding model.

``formats`` reads the FIM formats (``models/profiles/fim/*.toml``) and picks
the one a loaded model's tokens support; ``prompt`` builds the prompt around
the cursor within a token budget, with chunks of related files;
``postprocess`` cuts a suggestion at a sensible boundary and never repeats
the text after the cursor; ``worker`` is the child process owning the
completion model; ``engine`` is the parent-side handle (request ids, stale
requests cancelled, crash noticed once); ``related`` picks related files.
"""
