"""Fill-in-the-middle formats of coding-model families (data, read by app.core.completion.formats)."""
