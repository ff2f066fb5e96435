"""The response event sequence of the Realtime API, in either dialect (pure).

What a server emits for one response, in order (OpenAI Realtime API reference, "Server events";
the project's ``docs/`` describe the same grammar)::

    response.created
    response.output_item.added            (item in_progress)
    conversation.item.added               (in the conversation only; beta: .created)
    ┌ audio / text:
    │ response.content_part.added         (empty part)
    │ *.delta …                           (audio + transcript, or text)
    │ response.output_audio.done + response.output_audio_transcript.done   (or output_text.done)
    │ response.content_part.done          (full part)
    └ function call:
      response.function_call_arguments.delta …
      response.function_call_arguments.done
    conversation.item.done                (GA, in the conversation only)
    response.output_item.done
    response.done

A cancelled or failed response closes only what was opened (its item may stay open on failure),
so :meth:`ResponseGrammar.closing` takes the set of parts that are open. The grammar builds event
*shapes* (type and fields, no ``event_id``): the mock server and the test
:class:`~realtime_harness.testing.TraceBuilder` stamp ids and supply the item and response
objects, which differ between a live-like mock and a minimal test trace.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal

from realtime_harness.protocol import catalog as C
from realtime_harness.protocol.dialects import Dialect, to_dialect

__all__ = ["Part", "ResponseGrammar", "ResponseKind", "ResponseShape", "Step"]

ResponseKind = Literal["audio", "text", "function_call"]


class Part(enum.StrEnum):
    """A structure of a response that is opened and later closed."""

    RESPONSE = "response"  # response.created … response.done
    ITEM = "item"  # output_item.added … output_item.done
    CONTENT = "content"  # content_part.added … content_part.done (audio and text only)
    STREAM = "stream"  # the deltas, closed by their *.done event


@dataclass(frozen=True, slots=True)
class ResponseShape:
    """The ids and the kind that fix a response's events."""

    kind: ResponseKind
    response_id: str
    item_id: str
    in_conversation: bool = True
    previous_item_id: str | None = None
    call_id: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    """One event of the sequence: its wire type and fields (no ``event_id`` yet)."""

    type: str
    fields: dict[str, Any]
    opens: tuple[Part, ...] = ()
    closes: Part | None = None


class ResponseGrammar:
    """The events of one response in one dialect.

    Args:
        dialect: the wire dialect (event names, GA's ``conversation.item.done``).
        shape: the response's ids and kind.
    """

    def __init__(self, dialect: Dialect, shape: ResponseShape) -> None:
        self.dialect = dialect
        self.shape = shape
        ga = dialect is Dialect.GA
        self._ga = ga
        #: Wire type of the main deltas (audio, text or function-call arguments).
        self.delta_type = {
            "audio": to_dialect(C.RESPONSE_OUTPUT_AUDIO_DELTA, dialect),
            "text": to_dialect(C.RESPONSE_OUTPUT_TEXT_DELTA, dialect),
            "function_call": C.RESPONSE_FUNCTION_CALL_ARGUMENTS_DELTA,
        }[shape.kind]
        #: Wire type of the transcript deltas that accompany audio.
        self.transcript_type = to_dialect(C.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA, dialect)
        #: Fields that locate a delta: content part for audio/text, call id for a function call.
        self.delta_ids: dict[str, Any] = {
            "response_id": shape.response_id,
            "item_id": shape.item_id,
            "output_index": 0,
        }
        if shape.kind == "function_call":
            self.delta_ids["call_id"] = shape.call_id
        else:
            self.delta_ids["content_index"] = 0

    @property
    def parts(self) -> frozenset[Part]:
        """Every part this response opens (a function call has no content part)."""
        if self.shape.kind == "function_call":
            return frozenset({Part.RESPONSE, Part.ITEM, Part.STREAM})
        return frozenset(Part)

    # --- opening --------------------------------------------------------------------------------

    def created(self, response: dict[str, Any]) -> Step:
        """``response.created`` carrying the in-progress response object."""
        return Step(C.RESPONSE_CREATED, {"response": response}, opens=(Part.RESPONSE,))

    def item_added(self, item: dict[str, Any]) -> list[Step]:
        """The output item appears: in the response, then in the conversation."""
        # a function call's arguments stream opens with its item (there is no content part)
        opens = (Part.ITEM, Part.STREAM) if self.shape.kind == "function_call" else (Part.ITEM,)
        steps = [
            Step(
                C.RESPONSE_OUTPUT_ITEM_ADDED,
                {"response_id": self.shape.response_id, "output_index": 0, "item": item},
                opens=opens,
            )
        ]
        if self.shape.in_conversation:
            steps.append(
                Step(
                    to_dialect(C.CONVERSATION_ITEM_ADDED, self.dialect),
                    {"previous_item_id": self.shape.previous_item_id, "item": item},
                )
            )
        return steps

    def part_added(self) -> list[Step]:
        """``response.content_part.added`` with the empty part (none for a function call)."""
        if self.shape.kind == "function_call":
            return []
        return [
            Step(
                C.RESPONSE_CONTENT_PART_ADDED,
                {**self._content_ids(), "part": self.part("")},
                opens=(Part.CONTENT, Part.STREAM),
            )
        ]

    def opening(self, response: dict[str, Any], item: dict[str, Any]) -> list[Step]:
        """Everything before the first delta."""
        return [self.created(response), *self.item_added(item), *self.part_added()]

    # --- deltas ---------------------------------------------------------------------------------

    def delta(self, piece: str) -> Step:
        """One main delta (base64 audio, text, or a piece of the arguments)."""
        return Step(self.delta_type, {**self.delta_ids, "delta": piece})

    def transcript_delta(self, piece: str) -> Step:
        """One transcript delta of an audio response."""
        return Step(self.transcript_type, {**self.delta_ids, "delta": piece})

    # --- closing --------------------------------------------------------------------------------

    def part(self, text: str) -> dict[str, Any]:
        """The content part of an audio or text response holding ``text``."""
        if self.shape.kind == "audio":
            return {"type": "audio", "transcript": text}
        return {"type": "text", "text": text}

    def closing(
        self,
        open_parts: Collection[Part],
        *,
        text: str,
        arguments: str,
        item: Callable[[], dict[str, Any]],
        response: Callable[[list[dict[str, Any]]], dict[str, Any]],
    ) -> list[Step]:
        """The events that close what is open, ending with ``response.done``.

        Args:
            open_parts: the parts the client has seen opened and not closed.
            text: the text or transcript sent so far (for the ``*.done`` events).
            arguments: the function-call arguments sent so far.
            item: builds the final output item (called only when the item is open).
            response: builds the final response object from its ``output`` list.
        """
        steps: list[Step] = []
        kind = self.shape.kind
        if Part.STREAM in open_parts:
            if kind == "function_call":
                steps.append(
                    Step(
                        C.RESPONSE_FUNCTION_CALL_ARGUMENTS_DONE,
                        {**self.delta_ids, "name": self.shape.name, "arguments": arguments},
                        closes=Part.STREAM,
                    )
                )
            elif kind == "audio":
                steps.append(
                    Step(
                        to_dialect(C.RESPONSE_OUTPUT_AUDIO_DONE, self.dialect),
                        self._content_ids(),
                        closes=Part.STREAM,
                    )
                )
                steps.append(
                    Step(
                        to_dialect(C.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DONE, self.dialect),
                        {**self._content_ids(), "transcript": text},
                    )
                )
            else:
                steps.append(
                    Step(
                        to_dialect(C.RESPONSE_OUTPUT_TEXT_DONE, self.dialect),
                        {**self._content_ids(), "text": text},
                        closes=Part.STREAM,
                    )
                )
        if Part.CONTENT in open_parts and kind != "function_call":
            steps.append(
                Step(
                    C.RESPONSE_CONTENT_PART_DONE,
                    {**self._content_ids(), "part": self.part(text)},
                    closes=Part.CONTENT,
                )
            )
        output: list[dict[str, Any]] = []
        if Part.ITEM in open_parts:
            final = item()
            if self.shape.in_conversation and self._ga:
                steps.append(
                    Step(
                        C.CONVERSATION_ITEM_DONE,
                        {"previous_item_id": self.shape.previous_item_id, "item": final},
                    )
                )
            steps.append(
                Step(
                    C.RESPONSE_OUTPUT_ITEM_DONE,
                    {"response_id": self.shape.response_id, "output_index": 0, "item": final},
                    closes=Part.ITEM,
                )
            )
            output.append(final)
        steps.append(Step(C.RESPONSE_DONE, {"response": response(output)}, closes=Part.RESPONSE))
        return steps

    def _content_ids(self) -> dict[str, Any]:
        return {
            "response_id": self.shape.response_id,
            "item_id": self.shape.item_id,
            "output_index": 0,
            "content_index": 0,
        }
