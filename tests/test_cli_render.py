"""What people read: each failure once, as a support-ticket block; the timeline as plain lines
when piped and a rich table (colour unless NO_COLOR) on a terminal; what Ctrl-C had seen."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import pytest

from realtime_harness.cli.render import (
    LiveView,
    failure_block,
    interrupted_lines,
    print_result,
    render_result,
)
from realtime_harness.probe.results import ProbeResult, probe_result
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.failures import ErrorInfo, Failure
from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.session import (
    EventNote,
    ProbeHandshake,
    ResponseResult,
    SessionResult,
)

SESSION = "sess_ABC"
RESPONSE = "resp_DEF"


def failed_session(**failure_fields: Any) -> SessionResult:
    """A session whose one response failed with a server_error, ids as given."""
    failure = Failure(
        kind="response_failed",
        status="failed",
        error=ErrorInfo(type="server_error", code="boom", message="it broke", param="voice"),
        t=1.25,
        **failure_fields,
    )
    return SessionResult(
        outcome=Outcome.SERVER_FAILURE,
        dialect=Dialect.GA,
        url="wss://example.invalid/v1/realtime?model=m",
        session_id=SESSION,
        started_at="2026-01-02T03:04:05.000Z",
        responses=[
            ResponseResult(
                response_id=RESPONSE,
                status="failed",
                status_details={"type": "failed", "error": {"type": "server_error"}},
                timings_ms={"created": 50.0, "done": 150.0},
            )
        ],
        failures=[failure],
        timings_ms={"connect": 1.0, "handshake": 2.0, "total": 300.0},
        handshake=ProbeHandshake(
            status=101,
            headers={"x-request-id": "req_1", "x-ms-region": "swedencentral", "Date": "x"},
            client_request_id="crid-1",
        ),
        close_code=1011,
        close_reason="internal error",
        closed_by="server",
        last_events=[EventNote(t=1.2, dir="server", type="response.done", response_id=RESPONSE)],
    )


def result_of(session: SessionResult) -> ProbeResult:
    return probe_result([session], session)


def test_the_block_puts_ids_first_then_error_close_handshake_and_utc_time() -> None:
    session = failed_session(session_id=SESSION, response_id=RESPONSE, event_id="event_1")
    rows = failure_block(session.failures[0], session)
    labels = [label for label, _ in rows]
    assert labels[:3] == ["session_id", "response_id", "event_id"]
    values = dict(rows)
    assert values["error"] == "server_error boom"
    assert values["message"] == "it broke"
    assert values["param"] == "voice"
    assert values["close"] == "1011 internal error"
    assert values["handshake"] == "HTTP 101 x-request-id=req_1 x-ms-region=swedencentral"
    assert values["at"] == "2026-01-02T03:04:06.250Z"
    assert labels.index("error") < labels.index("close") < labels.index("handshake")


def test_absent_ids_are_left_out_never_printed_as_none() -> None:
    session = failed_session(response_id=RESPONSE)  # no event or item id; session id from session
    rows = dict(failure_block(session.failures[0], session))
    assert rows["session_id"] == SESSION
    assert "event_id" not in rows
    assert "item_id" not in rows
    text = render_result(result_of(session))
    assert "None" not in text


def test_a_failure_prints_once_without_a_python_dict() -> None:
    session = failed_session(session_id=SESSION, response_id=RESPONSE, event_id="event_1")
    out, err = io.StringIO(), io.StringIO()
    print_result(result_of(session), out, err)
    both = out.getvalue() + err.getvalue()
    assert both.count("✗ response_failed") == 1
    assert both.count("it broke") == 1
    assert "status_details=" not in both
    assert "{'" not in both


def test_piped_output_is_plain_timeline_on_stdout_and_the_block_on_stderr() -> None:
    session = failed_session(session_id=SESSION, response_id=RESPONSE)
    out, err = io.StringIO(), io.StringIO()
    print_result(result_of(session), out, err)
    assert "\x1b[" not in out.getvalue() + err.getvalue()
    assert "create → response.created" in out.getvalue()
    assert f"response 1: {RESPONSE}  status=failed" in out.getvalue()
    assert out.getvalue().rstrip().endswith(f"exit=1 session_id={SESSION}")
    assert "✗ response_failed" in err.getvalue()
    assert "last events:" in err.getvalue()


class Tty(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_coloured_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out, err = Tty(), Tty()
    print_result(result_of(failed_session(response_id=RESPONSE)), out, err)
    assert "\x1b[" in out.getvalue()
    assert "\x1b[" in err.getvalue()
    assert "create → response.created" in out.getvalue()
    assert RESPONSE in err.getvalue()


def test_no_color_turns_colour_off_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out, err = Tty(), Tty()
    print_result(result_of(failed_session(response_id=RESPONSE)), out, err)
    assert "\x1b[3" not in out.getvalue() + err.getvalue()  # no colour codes
    assert "✗ response_failed" in err.getvalue()


def test_a_clean_result_prints_no_block_and_no_stderr() -> None:
    session = failed_session().model_copy(update={"failures": [], "outcome": Outcome.CLEAN})
    out, err = io.StringIO(), io.StringIO()
    print_result(result_of(session), out, err)
    assert err.getvalue() == ""
    assert "verdict: clean exit=0" in out.getvalue()


@dataclass
class _Context:
    url: str = "wss://example.invalid/v1/realtime"
    dialect: Dialect = Dialect.GA
    attempt: int = 1
    step: str | None = None
    started_at: str = "2026-01-02T03:04:05.000Z"


@dataclass
class _Script:
    session_id: str | None = SESSION


@dataclass
class _Session:
    """What interrupted_lines reads from a running ClientSession."""

    context: _Context = field(default_factory=_Context)
    script: _Script = field(default_factory=_Script)
    notes: list[EventNote] = field(default_factory=list)

    def progress(self) -> tuple[int, int]:
        return (16, 248)

    def last_events(self, limit: int = 12) -> list[EventNote]:
        return self.notes[-limit:]


def test_interrupted_shows_the_session_audio_sent_and_last_events_without_the_appends() -> None:
    notes = [
        EventNote(t=0.01, dir="server", type="session.created", event_id="event_1"),
        *(EventNote(t=0.1 * i, dir="client", type="input_audio_buffer.append") for i in range(40)),
    ]
    lines = interrupted_lines(_Session(notes=notes))  # type: ignore[arg-type]
    assert lines[0] == f"interrupted: session {SESSION}"
    assert "  audio sent 16/248 chunks" in lines
    assert any("session.created event_id=event_1" in line for line in lines)
    assert not any("input_audio_buffer.append" in line for line in lines)


def test_interrupted_before_anything_started() -> None:
    assert interrupted_lines(None) == ["interrupted before any session started"]
    lines = interrupted_lines(_Session(script=_Script(session_id=None)))  # type: ignore[arg-type]
    assert lines[0] == "interrupted before session.created"


def test_the_live_view_draws_no_bar_off_a_terminal_and_remembers_the_session() -> None:
    stream = io.StringIO()
    view = LiveView(stream, bar=False)
    view("stream", 3, 10)
    view.watch(_Session())  # type: ignore[arg-type]
    view.stop()
    assert stream.getvalue() == ""
    assert view.session is not None


def test_the_live_view_draws_a_bar_on_a_terminal_and_removes_it() -> None:
    stream = Tty()
    view = LiveView(stream, bar=True)
    view("stream", 5, 10)
    view("stream", 10, 10)
    view.stop()
    assert "streaming audio" in stream.getvalue()
