"""`realtime-harness probe` (being built)."""
