"""voxgate: a self-hosted OpenAI-compatible model router and real-time voice API."""

__version__ = "0.1.0"
