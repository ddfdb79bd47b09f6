"""Built-in evaluation samples (JSONL), written for Quillpad."""
