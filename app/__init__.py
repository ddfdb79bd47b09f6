"""Quillpad: a desktop coding and math assistant running GGUF models locally."""
