"""The per-dialect session object: field paths, tolerant reads, the client's update."""

from __future__ import annotations

from typing import Any

import pytest

from realtime_harness.protocol import session_config as SC
from realtime_harness.protocol.audio import AudioFormat
from realtime_harness.protocol.catalog import Dialect


@pytest.mark.parametrize("dialect", list(Dialect))
def test_defaults_read_back_through_the_field_paths(dialect: Dialect) -> None:
    session = SC.default_session(dialect, session_id="sess_1", model="m", expires_at=0)
    assert SC.input_format(dialect, session) == "pcm16"
    assert SC.output_format(dialect, session) == "pcm16"
    assert SC.turn_detection(dialect, session) is not None
    assert SC.read(session, dialect, "voice") == "alloy"
    assert not SC.transcription_enabled(dialect, session)
    assert SC.output_is_pcm(session) is True
    assert SC.input_bytes_per_ms(session) == 48


@pytest.mark.parametrize("dialect", list(Dialect))
@pytest.mark.parametrize("junk", [[], {}, "x", 3, None, {"audio": []}, {"audio": {"input": 1}}])
def test_reads_never_raise_on_any_json(dialect: Dialect, junk: Any) -> None:
    assert SC.read(junk, dialect, "turn_detection", "absent") in ("absent", None, 1)
    assert SC.input_format(dialect, junk) == "pcm16"
    assert SC.turn_detection(dialect, junk) is None
    assert SC.output_is_pcm(junk) is None
    assert SC.input_bytes_per_ms(junk) is None


def test_the_other_dialects_top_level_fields() -> None:
    assert SC.other_dialect_fields(Dialect.GA, {"modalities": [], "instructions": ""}) == [
        "modalities"
    ]
    assert SC.other_dialect_fields(Dialect.BETA, {"audio": {}, "output_modalities": []}) == [
        "audio",
        "output_modalities",
    ]
    assert "turn_detection" in SC.BETA_ONLY_FIELDS
    assert "audio" in SC.GA_ONLY_FIELDS


@pytest.mark.parametrize("dialect", list(Dialect))
@pytest.mark.parametrize("vad", [None, "server_vad"])
def test_build_update_is_accepted_and_applied(dialect: Dialect, vad: str | None) -> None:
    update = SC.build_update(dialect, turn_detection=vad, voice="marin", instructions="Hi")
    session = SC.default_session(dialect, session_id="sess_1", model="m", expires_at=0)
    applied = SC.apply_update(dialect, session, update)
    assert (SC.turn_detection(dialect, applied) is None) is (vad is None)
    assert SC.read(applied, dialect, "voice") == "marin"
    assert SC.turn_detection_update(update) == ({"type": vad} if vad else None)
    assert SC.other_dialect_fields(dialect, update) == []


def test_build_update_shapes() -> None:
    assert SC.build_update(Dialect.GA, text_only=True, input_format=AudioFormat.G711_ULAW) == {
        "type": "realtime",
        "output_modalities": ["text"],
        "audio": {
            "input": {"format": {"type": "audio/pcmu"}, "turn_detection": None},
            "output": {"format": {"type": "audio/pcm", "rate": 24000}},
        },
    }
    assert SC.build_update(Dialect.BETA, voice="alloy") == {
        "modalities": ["audio", "text"],
        "input_audio_format": "pcm16",
        "output_audio_format": "pcm16",
        "turn_detection": None,
        "voice": "alloy",
    }


@pytest.mark.parametrize(
    ("dialect", "update", "code", "param"),
    [
        (
            Dialect.GA,
            {"output_modalities": ["audio"]},
            "missing_required_parameter",
            "session.type",
        ),
        (
            Dialect.GA,
            {"type": "realtime", "modalities": []},
            "unknown_parameter",
            "session.modalities",
        ),
        (Dialect.BETA, {"temperature": 2.0}, "decimal_above_max_value", "session.temperature"),
        (Dialect.BETA, {"turn_detection": []}, "invalid_type", "session.turn_detection"),
        (Dialect.GA, [], "invalid_type", "session"),
    ],
)
def test_update_checks_answer_with_the_services_codes(
    dialect: Dialect, update: Any, code: str, param: str
) -> None:
    session = SC.default_session(dialect, session_id="sess_1", model="m", expires_at=0)
    with pytest.raises(SC.SessionError) as caught:
        SC.apply_update(dialect, session, update)
    assert (caught.value.code, caught.value.param) == (code, param)
