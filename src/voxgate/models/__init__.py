"""Embedded local models: bundled weights (`weights`), one llama.cpp process per model
(`llama_process`), and the gateway-side handle that starts and stops them (`local_server`)."""
