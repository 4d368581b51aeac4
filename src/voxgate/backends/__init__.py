"""Ways to reach a model: the ChatBackend protocol and its implementations."""
