"""The edit format as the model is told it: shared by every plugin that asks for edits."""

EDIT_RULES = """To change files, reply with SEARCH/REPLACE blocks, each exactly like this:

path/to/file.py
```python
<<<<<<< SEARCH
lines copied exactly from the file
=======
the new lines
>>>>>>> REPLACE
```

Rules:
- Copy the SEARCH lines exactly from the file, indentation included.
- Keep SEARCH short: the lines that change and one or two around them.
- Write the file's path on the line before every block.
- Use one block per place that changes.
- To create a new file, write its path, then its whole content in one fenced code block without SEARCH/REPLACE lines.
- Add at most one sentence of explanation."""
