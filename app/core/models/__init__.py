"""Model management without Qt: the Qwen3 catalogue, installed models, downloads, hardware fit, starter model."""
