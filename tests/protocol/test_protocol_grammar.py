"""The response grammar: one response's event sequence per dialect, and closing what is open."""

from __future__ import annotations

from typing import Any

import pytest

from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.grammar import Part, ResponseGrammar, ResponseShape, Step

DIALECTS = pytest.mark.parametrize("dialect", list(Dialect), ids=lambda d: d.value)


def grammar(dialect: Dialect, kind: Any, *, in_conversation: bool = True) -> ResponseGrammar:
    shape = ResponseShape(
        kind=kind,
        response_id="resp_1",
        item_id="item_1",
        in_conversation=in_conversation,
        previous_item_id="item_0",
        call_id="call_1",
        name="lookup",
    )
    return ResponseGrammar(dialect, shape)


def whole(g: ResponseGrammar, pieces: list[str]) -> list[Step]:
    steps = g.opening({"id": "resp_1"}, {"id": "item_1"})
    steps += [g.delta(p) for p in pieces]
    steps += g.closing(
        g.parts,
        text="".join(pieces),
        arguments="".join(pieces),
        item=lambda: {"id": "item_1", "status": "completed"},
        response=lambda output: {"id": "resp_1", "output": output},
    )
    return steps


def test_ga_audio_response_has_the_documented_order() -> None:
    """A GA audio response: created, item, part, deltas, audio and transcript done, part done,
    conversation item done, output item done, response done."""
    types = [s.type for s in whole(grammar(Dialect.GA, "audio"), ["AAAA"])]
    assert types == [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        "response.output_audio.delta",
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "conversation.item.done",
        "response.output_item.done",
        "response.done",
    ]


def test_beta_text_response_uses_beta_names_and_no_item_done() -> None:
    """Beta names its events the beta way and has no conversation.item.done."""
    types = [s.type for s in whole(grammar(Dialect.BETA, "text"), ["Hi", " there"])]
    assert types == [
        "response.created",
        "response.output_item.added",
        "conversation.item.created",
        "response.content_part.added",
        "response.text.delta",
        "response.text.delta",
        "response.text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.done",
    ]


@DIALECTS
def test_function_call_has_no_content_part_and_closes_its_arguments(dialect: Dialect) -> None:
    """A function call streams arguments with its call id and closes them with the full text."""
    steps = whole(grammar(dialect, "function_call"), ['{"a":', "1}"])
    types = [s.type for s in steps]
    assert not any("content_part" in t for t in types)
    done = steps[types.index("response.function_call_arguments.done")]
    assert done.fields["arguments"] == '{"a":1}'
    assert done.fields["call_id"] == "call_1"
    assert done.fields["name"] == "lookup"


@DIALECTS
def test_out_of_band_response_has_no_conversation_events(dialect: Dialect) -> None:
    """conversation: none keeps the response's item out of the conversation events."""
    types = [s.type for s in whole(grammar(dialect, "text", in_conversation=False), ["x"])]
    assert not any(t.startswith("conversation.") for t in types)


@DIALECTS
def test_closing_closes_only_what_is_open(dialect: Dialect) -> None:
    """Cancelled after the item was added but before the content part: the item is closed with
    output, and no part or stream event is invented."""
    g = grammar(dialect, "audio")
    steps = g.closing(
        {Part.RESPONSE, Part.ITEM},
        text="",
        arguments="",
        item=lambda: {"id": "item_1", "status": "incomplete"},
        response=lambda output: {"output": output},
    )
    types = [s.type for s in steps]
    assert "response.content_part.done" not in types
    assert types[-2:] == ["response.output_item.done", "response.done"]
    assert steps[-1].fields["response"]["output"] == [{"id": "item_1", "status": "incomplete"}]


@DIALECTS
def test_closing_before_the_item_is_just_done_with_empty_output(dialect: Dialect) -> None:
    """Cancelled before anything but response.created: response.done with output []."""
    steps = grammar(dialect, "audio").closing(
        {Part.RESPONSE},
        text="",
        arguments="",
        item=lambda: pytest.fail("no item to close"),
        response=lambda output: {"output": output},
    )
    assert [s.type for s in steps] == ["response.done"]
    assert steps[0].fields["response"]["output"] == []


def test_steps_say_what_they_open_and_close() -> None:
    """Each step carries the parts it opens or closes, which is how a session tracks them."""
    steps = whole(grammar(Dialect.GA, "text"), ["x"])
    opened = [p for s in steps for p in s.opens]
    closed = [s.closes for s in steps if s.closes is not None]
    assert set(opened) == set(Part)
    assert sorted(closed) == sorted(Part)
