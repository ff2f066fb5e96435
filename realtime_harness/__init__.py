"""realtime-harness: probe, validate, soak and mock OpenAI / Azure OpenAI Realtime deployments."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
