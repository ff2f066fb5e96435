"""``python -m realtime_harness`` runs the command-line interface."""

from realtime_harness.cli import main

main()
