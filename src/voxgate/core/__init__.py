"""Shared value types, the error tree and the clock. Imports nothing else from voxgate."""
