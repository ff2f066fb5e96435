"""Per-event parse cost of the typed events against ``orjson.loads`` measured in the same run.

Three representative server frames (protocol reference §2.2, perf-limits §3): a 100 ms audio
delta (6,400 base64 characters), a transcript delta and a completed ``response.done``, plus the
client's 100 ms ``input_audio_buffer.append`` (what the mock parses). ``parse`` is
``parse_server_event`` or ``parse_client_event``. For each frame the script times

* ``orjson.loads(frame)`` — the baseline (what the lead's validator and the mock do),
* ``parse(frame)`` — bytes straight into ``TypeAdapter.validate_json``,
* ``parse(orjson.loads(frame))`` — decode first, then ``validate_python`` (the double parse
  perf-limits §3 warns about),
* ``parse(dict)`` — ``validate_python`` alone, for callers that already hold a dict,

and prints microseconds per event (best of several repeats) and the ratio to the baseline.
Run: ``python scripts/bench_events.py [--repeat 7] [--number 20000]``.
"""

from __future__ import annotations

import argparse
import base64
import timeit
from collections.abc import Callable
from typing import Any

import orjson

from realtime_harness.protocol.events import (
    InvalidEvent,
    UnknownEvent,
    parse_client_event,
    parse_server_event,
)

IDS = {
    "response_id": "resp_C9G8p7IH2WxLbkgPNouYL",
    "item_id": "item_CCXHwGjjDUfOXbiySlK7i",
    "output_index": 0,
    "content_index": 0,
}


def _frames() -> dict[str, bytes]:
    audio = base64.b64encode(bytes(4800)).decode()  # 100 ms of 24 kHz PCM16 → 6,400 chars
    usage = {
        "total_tokens": 1010,
        "input_tokens": 853,
        "output_tokens": 157,
        "input_token_details": {
            "text_tokens": 853,
            "audio_tokens": 0,
            "image_tokens": 0,
            "cached_tokens": 0,
            "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": 38, "audio_tokens": 119},
    }
    done = {
        "type": "response.done",
        "event_id": "event_C9G8pqbTEddBSIxbBN6Os",
        "response": {
            "object": "realtime.response",
            "id": IDS["response_id"],
            "status": "completed",
            "status_details": None,
            "output": [
                {
                    "id": IDS["item_id"],
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [
                        {"type": "output_audio", "transcript": "Hi there! How can I help?"}
                    ],
                }
            ],
            "conversation_id": "conv_C9G8mmBkLhQJwCon3hoJN",
            "output_modalities": ["audio"],
            "max_output_tokens": "inf",
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy"}},
            "usage": usage,
            "metadata": None,
        },
    }
    return {
        "audio delta (6.4 KB)": orjson.dumps(
            {"type": "response.output_audio.delta", "event_id": "event_A", **IDS, "delta": audio}
        ),
        "transcript delta": orjson.dumps(
            {
                "type": "response.output_audio_transcript.delta",
                "event_id": "event_B",
                **IDS,
                "delta": " there",
                "obfuscation": "A5Nj2cC01aseXj",
            }
        ),
        "response.done": orjson.dumps(done),
        # Client side, what the mock parses ten times a second per session.
        "client append (6.4 KB)": orjson.dumps(
            {"type": "input_audio_buffer.append", "event_id": "evt_1", "audio": audio}
        ),
    }


def _best_us(func: Callable[[], Any], number: int, repeat: int) -> float:
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    """Time every method on every frame and print µs/event and the ratio to orjson.loads."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=20_000)
    args = parser.parse_args()

    print(f"{'frame':<22} {'method':<30} {'µs/event':>9} {'× orjson':>9}")
    for name, frame in _frames().items():
        decoded = orjson.loads(frame)
        parse: Callable[[Any], Any] = (
            parse_client_event if name.startswith("client") else parse_server_event
        )
        event = parse(frame)
        assert not isinstance(event, UnknownEvent | InvalidEvent), event
        methods: dict[str, Callable[[], Any]] = {
            "orjson.loads (baseline)": lambda f=frame: orjson.loads(f),
            "parse(bytes) validate_json": lambda f=frame, p=parse: p(f),
            "orjson.loads + parse(dict)": lambda f=frame, p=parse: p(orjson.loads(f)),
            "parse(dict) validate_python": lambda d=decoded, p=parse: p(d),
        }
        baseline = 0.0
        for label, func in methods.items():
            cost = _best_us(func, args.number, args.repeat)
            baseline = baseline or cost
            print(f"{name:<22} {label:<30} {cost:9.2f} {cost / baseline:9.2f}")


if __name__ == "__main__":
    main()
