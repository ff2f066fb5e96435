"""`realtime-harness validate` (being built)."""
