"""`realtime-harness mock_server` (being built)."""
