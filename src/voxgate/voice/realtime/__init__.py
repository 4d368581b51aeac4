"""The realtime session: OpenAI Realtime protocol events in, turn-taking, routed replies spoken out."""
