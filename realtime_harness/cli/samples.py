"""`realtime-harness samples` (being built)."""
