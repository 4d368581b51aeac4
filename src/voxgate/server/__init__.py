"""The HTTP face: OpenAI-compatible routes, error mapping, metrics."""
