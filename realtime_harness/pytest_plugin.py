"""pytest plugin for Realtime checks (fixtures and options; being built)."""
