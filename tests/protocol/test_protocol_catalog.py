"""The event catalog: one row per event type, and every name table derived from it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from realtime_harness.protocol import catalog as C
from realtime_harness.protocol import dialects, rules
from realtime_harness.protocol.catalog import ClientRole, Dialect, Role, StreamKind


def test_every_name_belongs_to_exactly_one_row() -> None:
    seen: dict[str, C.EventSpec] = {}
    for row in C.EVENTS:
        assert row.names, row
        for name in row.names:
            assert name not in seen, f"{name} is in two rows"
            seen[name] = row
    assert set(seen) == C.SERVER_TYPES | C.CLIENT_TYPES
    assert not C.SERVER_TYPES & C.CLIENT_TYPES


def test_constants_are_named_after_their_wire_names() -> None:
    """Each upper-case constant NAME is its wire name with dots as underscores (plus short
    aliases), so a reader can find any name's constant without looking it up."""
    short = {"AUDIO_DELTA_GA", "AUDIO_DELTA_BETA", "TEXT_DELTA_GA", "TEXT_DELTA_BETA"}
    short |= {"TRANSCRIPT_DELTA_GA", "TRANSCRIPT_DELTA_BETA"}
    constants = {
        k: v
        for k, v in vars(C).items()
        if k.isupper() and isinstance(v, str) and not k.startswith("_")
    }
    everything = C.SERVER_TYPES | C.CLIENT_TYPES
    for key, value in constants.items():
        assert value in everything, key
        if key in short or key.startswith("INPUT_TRANSCRIPTION_"):
            continue
        assert key == value.replace(".", "_").upper()
    assert set(constants.values()) == everything


def test_roles_and_streams_of_the_response_grammar() -> None:
    assert C.spec(C.AUDIO_DELTA_GA) is C.spec(C.AUDIO_DELTA_BETA)
    row = C.spec("response.output_audio.delta")
    assert row is not None
    assert (row.role, row.stream, row.audio_field) == (Role.STREAM_DELTA, StreamKind.AUDIO, "delta")
    done = C.spec("response.audio_transcript.done")
    assert done is not None
    assert done.text_field == "transcript"
    assert C.spec("input_audio_buffer.append").role is ClientRole.APPEND  # type: ignore[union-attr]
    assert C.spec("no.such.event") is None
    assert C.spec(["not", "a", "name"]) is None


def test_the_two_client_lists_agree_on_the_session_append_alias() -> None:
    """The live GA server accepts session.input_audio_buffer.append; every list says so."""
    assert "session.input_audio_buffer.append" in C.LIVE_CLIENT_TYPES
    assert "session.input_audio_buffer.append" in C.CLIENT_TYPES
    assert "session.input_audio_buffer.append" in rules.CLIENT_EVENT_TYPES
    assert rules.CLIENT_ROLES["session.input_audio_buffer.append"] is ClientRole.APPEND
    assert C.AUDIO_FIELDS["session.input_audio_buffer.append"] == "audio"


def test_live_client_list_keeps_the_servers_order() -> None:
    assert C.LIVE_CLIENT_TYPES == (
        "session.update",
        "session.close",
        "input_audio_buffer.append",
        "session.input_audio_buffer.append",
        "input_audio_buffer.commit",
        "input_audio_buffer.clear",
        "conversation.item.create",
        "conversation.item.truncate",
        "conversation.item.delete",
        "conversation.item.retrieve",
        "response.create",
        "response.cancel",
    )


def test_rename_table_and_dialect_detection() -> None:
    assert dialects.BETA_TO_GA is C.BETA_TO_GA
    assert C.to_dialect("response.audio.delta", Dialect.GA) == "response.output_audio.delta"
    assert C.to_dialect("response.output_audio.delta", Dialect.BETA) == "response.audio.delta"
    assert C.to_dialect("transcription_session.updated", Dialect.GA) == "session.updated"
    assert C.to_dialect("session.updated", Dialect.BETA) == "session.updated"
    assert C.to_dialect("conversation.item.created", Dialect.GA) == "conversation.item.added"
    assert C.dialect_of("conversation.item.done") is Dialect.GA
    assert C.dialect_of("conversation.item.created") is Dialect.BETA
    assert C.dialect_of("mcp_list_tools.completed") is None  # too new to judge a beta stream
    assert C.dialect_of("error") is None
    assert C.detect_dialect(["session.created", "response.text.delta"]) is Dialect.BETA
    assert C.detect_dialect(["session.created"]) is None


@pytest.mark.parametrize("dialect", list(Dialect))
def test_names_by_side_and_dialect(dialect: Dialect) -> None:
    server = C.names("server", dialect)
    client = C.names("client", dialect)
    assert "response.done" in server
    assert "response.create" in client
    other = Dialect.BETA if dialect is Dialect.GA else Dialect.GA
    only = C.GA_ONLY if dialect is Dialect.GA else C.BETA_ONLY
    assert only <= server
    assert not only & C.names("server", other)
    assert C.names("server") == C.SERVER_TYPES


def test_every_server_name_has_a_role_in_the_grammar() -> None:
    assert set(rules.SERVER_ROLES) == C.SERVER_TYPES
    assert set(rules.CLIENT_ROLES) == C.CLIENT_TYPES
    for name, (role, stream) in rules.SERVER_ROLES.items():
        assert (stream is not None) == (role in (Role.STREAM_DELTA, Role.STREAM_DONE)), name


def test_catalog_imports_only_enum() -> None:
    """Plain data: importing the catalog loads no pydantic, numpy or typing machinery."""
    code = (
        "import sys; before = set(sys.modules); import realtime_harness.protocol.catalog; "
        "print(sorted(set(sys.modules) - before))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for heavy in ("pydantic", "numpy", "'typing'", "dataclasses"):
        assert heavy not in out
