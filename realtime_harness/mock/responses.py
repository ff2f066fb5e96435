"""The mock session's responses: what a response says and when, laid out from the grammar.

Sans-I/O. A response is scheduled whole on absolute times when it starts (created, the item, the
content part, paced deltas, closing events, ``response.done``); the event sequence comes from
:mod:`realtime_harness.protocol.grammar`, the JSON shapes from :mod:`realtime_harness.mock.wire`.
Its deltas and its closing events are made when they fall due (a delta stream and a
:class:`~realtime_harness.mock.schedule.Later` entry), while what its end changes in the session
(the item joining the conversation, the tokens counted) is settled when it starts.
A cancel or a fault closes a response from what the client has been sent
(:class:`~realtime_harness.mock.schedule.ResponseProgress`), so it closes exactly what is open.
"""

from __future__ import annotations

import functools
import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from realtime_harness.mock.config import Latency
from realtime_harness.mock.items import Conversation
from realtime_harness.mock.schedule import (
    ArgumentsSent,
    Closed,
    DeltaStream,
    Effect,
    Emit,
    Entry,
    Later,
    Opened,
    ResponseProgress,
    Stream,
    Trailing,
    progress_after,
)
from realtime_harness.mock.voices import Voice
from realtime_harness.mock.wire import Wire, audio_chunks, split_words
from realtime_harness.protocol import session_config as S
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.protocol.grammar import (
    Part,
    ResponseGrammar,
    ResponseKind,
    ResponseShape,
    Step,
)
from realtime_harness.protocol.ids import new_id

__all__ = ["ResponseRun", "ResponseWriter", "arguments_for"]


@dataclass(slots=True, eq=False)
class ResponseRun:
    """One response being generated: what it will say and what the client has seen of it."""

    grammar: ResponseGrammar
    modalities: list[str]
    output_format: str
    metadata: Any
    max_output_tokens: Any
    text: str = ""
    arguments: str = ""
    progress: ResponseProgress = field(default_factory=ResponseProgress)
    done: bool = False

    @property
    def id(self) -> str:
        """The ``resp_…`` id."""
        return self.grammar.shape.response_id

    @property
    def kind(self) -> ResponseKind:
        """audio, text or function_call."""
        return self.grammar.shape.kind

    @property
    def shape(self) -> ResponseShape:
        """Its ids."""
        return self.grammar.shape


def _effect(step: Step) -> Effect | None:
    if step.opens:
        return Opened(step.opens)
    if step.closes is not None:
        return Closed(step.closes)
    return None


class ResponseWriter:
    """Lays out responses for one session.

    Args:
        wire: the session's renderer.
        latency: pacing of the response.
        rng: jitter.
        conversation: the session's items (finished responses join it).
        conversation_id: the ``conv_…`` id.
    """

    def __init__(
        self,
        wire: Wire,
        latency: Latency,
        rng: random.Random,
        conversation: Conversation,
        conversation_id: str,
    ) -> None:
        self.wire = wire
        self.latency = latency
        self.rng = rng
        self.conversation = conversation
        self.conversation_id = conversation_id
        self.session: Mapping[str, Any] = {}
        self._tokens_remaining = 40_000

    # --- objects ----------------------------------------------------------------------------------

    def response_object(
        self,
        run: ResponseRun,
        status: str,
        details: Any,
        output: list[Any],
        usage: Any,
        *,
        session: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The response object of ``run`` in this state (``session``: the configuration it
        was created under, by default the current one)."""
        return self.wire.response_object(
            response_id=run.id,
            status=status,
            details=details,
            output=output,
            usage=usage,
            conversation_id=self.conversation_id if run.shape.in_conversation else None,
            modalities=run.modalities,
            output_format=run.output_format,
            max_output_tokens=run.max_output_tokens,
            metadata=run.metadata,
            session=self.session if session is None else session,
        )

    def assistant_item(
        self, run: ResponseRun, status: str, progress: ResponseProgress | None
    ) -> dict[str, Any]:
        """The response's output item (``in_progress`` is empty; later ones hold what was sent)."""
        shape = run.shape
        if run.kind == "function_call":
            arguments = "".join(progress.arguments) if progress is not None else run.arguments
            return self.wire.item(
                {
                    "id": shape.item_id,
                    "type": "function_call",
                    "status": status,
                    "call_id": shape.call_id,
                    "name": shape.name,
                    "arguments": arguments if status != "in_progress" else "",
                }
            )
        content: list[dict[str, Any]] = []
        if status != "in_progress":
            text = "".join(progress.text) if progress is not None else run.text
            ga = self.wire.ga
            if run.kind == "audio":
                content = [{"type": "output_audio" if ga else "audio", "transcript": text}]
            else:
                content = [{"type": "output_text" if ga else "text", "text": text}]
        return self.wire.item(
            {
                "id": shape.item_id,
                "type": "message",
                "status": status,
                "role": "assistant",
                "content": content,
            }
        )

    def _usage(self, run: ResponseRun, progress: ResponseProgress) -> tuple[int, int, int, int]:
        """Token counts of ``run`` (text in, audio in, words out, audio out), from the
        conversation as it is now."""
        audio_in = self.conversation.input_audio_ms() // 100
        text_in = 20 + 4 * len(self.conversation.items)
        words = len(split_words("".join(progress.text)))
        if run.kind == "function_call":
            words = len(run.arguments) // 4
        audio_out = math.ceil(progress.audio_ms / 50)
        return text_in, audio_in, words, audio_out

    def _spend(self, used: int) -> int:
        """Count ``used`` tokens against the rate limit; the tokens remaining."""
        self._tokens_remaining = max(0, self._tokens_remaining - used)
        return self._tokens_remaining

    def _emit(self, at: float, step: Step, run: ResponseRun) -> Emit:
        event = {"type": step.type, "event_id": self.wire.event_id(), **step.fields}
        return Emit(at, event, run.progress, _effect(step))

    # --- layout -----------------------------------------------------------------------------------

    def created(self, run: ResponseRun, at: float) -> Emit:
        """``response.created``; its effect lets a cancel know whether the client saw it."""
        return self._emit(
            at, run.grammar.created(self.response_object(run, "in_progress", None, [], None)), run
        )

    def schedule(self, run: ResponseRun, voice: Voice, start: float) -> list[Entry]:
        """The whole response on absolute times from ``start``."""
        lat = self.latency
        grammar = run.grammar
        entries: list[Entry] = [self.created(run, start)]
        if self.wire.dialect is Dialect.BETA:
            # beta sends rate_limits.updated right after response.created
            entries.append(Emit(start, self.wire.rate_limits(self._spend(0)), run.progress))
        at = start + lat.first_delta_s
        item = self.assistant_item(run, "in_progress", None)
        entries += [self._emit(at, step, run) for step in grammar.item_added(item)]
        times: list[float] = []
        if run.kind == "function_call":
            for index, piece in enumerate(_chunk_text(run.arguments, 4)):
                times.append(self._delta_time(at, index * lat.text_interval_ms, times))
                event = {
                    "type": grammar.delta_type,
                    "event_id": self.wire.event_id(),
                    **grammar.delta_ids,
                    "delta": piece,
                }
                entries.append(Emit(times[-1], event, run.progress, ArgumentsSent(piece)))
        else:
            entries += [self._emit(at, step, run) for step in grammar.part_added()]
            stream = DeltaStream(grammar.delta_ids)
            words = split_words(run.text)
            if run.kind == "audio" and lat.jitter_s <= 0:
                # no jitter: the stream is the voice's cached layout shifted to this response
                layout = _audio_layout(
                    voice,
                    run.output_format,
                    lat.chunk_ms,
                    grammar.delta_type,
                    grammar.transcript_type,
                    run.text,
                )
                speed = lat.speed
                # the same arithmetic as _delta_time, so the times are the same floats
                if speed > 0:
                    stream.times = [at + offset / 1000.0 / speed for offset in layout.offsets_ms]
                else:
                    stream.times = [at] * len(layout.offsets_ms)
                # shared, never changed: what the voice says is the same in every response
                stream.types = layout.types
                stream.payloads = layout.payloads
                stream.audio_ms = layout.audio_ms
                stream.whole = layout.whole
                if layout.chunks:
                    times.append(stream.times[-1])
            elif run.kind == "audio":
                chunks = audio_chunks(voice, run.output_format, lat.chunk_ms)
                n = max(1, len(chunks))
                word_at = [min(n - 1, (j * n) // max(1, len(words))) for j in range(len(words))]
                offset_ms = 0
                word_index = 0
                transcript_type = grammar.transcript_type
                for index, (b64, ms) in enumerate(chunks):
                    t = self._delta_time(at, offset_ms, times)
                    times.append(t)
                    # each word goes out just before the audio in which it is spoken
                    while word_index < len(words) and word_at[word_index] <= index:
                        stream.add(t, transcript_type, words[word_index], 0)
                        word_index += 1
                    stream.add(t, grammar.delta_type, b64, ms)
                    offset_ms += ms
                end = times[-1] if times else at
                for word in words[word_index:]:
                    stream.add(end, transcript_type, word, 0)
            else:
                for index, word in enumerate(words):
                    times.append(self._delta_time(at, index * lat.text_interval_ms, times))
                    stream.add(times[-1], grammar.delta_type, word, 0)
            if stream.times:
                entries.append(Stream(stream.times[0], stream, run.progress))
        end = times[-1] if times else at
        # The closing events are made when due (see Later); what the end of the response
        # changes in the session (its item joins the conversation, its tokens are counted)
        # is done now, as when they were laid out ahead.
        ending = self._ending(run, progress_after(entries), end, "completed", None)
        entries.append(Later(end, ending.entries, run.progress))
        return entries

    def _delta_time(self, base: float, offset_ms: float, times: list[float]) -> float:
        lat = self.latency
        t = base if lat.speed <= 0 else base + offset_ms / 1000.0 / lat.speed
        if lat.jitter_s > 0:
            t += self.rng.uniform(0.0, lat.jitter_s)
        # jitter may delay a delta but never reorder the stream
        return max(t, times[-1]) if times else t

    def closing(
        self, run: ResponseRun, progress: ResponseProgress, at: float, status: str, details: Any
    ) -> list[Entry]:
        """Everything that closes the response from ``progress`` on, ending with
        ``response.done`` (and GA's ``rate_limits.updated`` after it)."""
        return self._ending(run, progress, at, status, details).entries(progress)

    def _ending(
        self, run: ResponseRun, progress: ResponseProgress, at: float, status: str, details: Any
    ) -> _Ending:
        """Close ``run`` once the client has seen ``progress``: the final item joins the
        conversation and the tokens are counted now; the events come from the result."""
        item = None
        if Part.ITEM in progress.open:
            status_of_item = "completed" if status == "completed" else "incomplete"
            item = self.assistant_item(run, status_of_item, progress)
            if run.shape.in_conversation:
                # the item joins the conversation when it is finished (previous_item_id chain)
                self.conversation.add(item, progress.audio_ms)
        usage = self._usage(run, progress)
        remaining = self._spend(sum(usage)) if self.wire.ga else None
        return _Ending(self, run, at, status, details, item, usage, remaining, self.session)

    def cancel(self, run: ResponseRun, now: float, reason: str) -> list[Entry]:
        """What the client still gets when ``run`` is cancelled at ``now``."""
        details = {"type": "cancelled", "reason": reason}
        closing = self.closing(run, run.progress, now, "cancelled", details)
        if Part.RESPONSE not in run.progress.seen:
            # cancelled before response.created went out: the real service still sends
            # created, then done with output [] (never a done alone)
            closing.insert(0, self.created(run, now))
        return closing

    # --- starting ---------------------------------------------------------------------------------

    def new_run(
        self, params: Mapping[str, Any], voice: Voice, *, last_item_id: str | None
    ) -> ResponseRun:
        """Decide what a new response is (function call, audio or text) and give it ids."""
        session = self.session
        ga = self.wire.ga
        in_conversation = params.get("conversation", "auto") != "none"
        mod_key = "output_modalities" if ga else "modalities"
        modalities = params.get(mod_key, session.get(mod_key, ["audio"]))
        tools = params.get("tools", session.get("tools")) or []
        tool_choice = params.get("tool_choice", session.get("tool_choice", "auto"))
        kind: ResponseKind
        if tools and tool_choice != "none" and not self.conversation.last_is_call_output():
            kind = "function_call"
        elif isinstance(modalities, list) and "audio" in modalities:
            kind = "audio"
        else:
            kind = "text"
        rng = self.rng
        response_id = new_id("resp", rng)
        item_id = new_id("item", rng)
        call_id = name = arguments = ""
        if kind == "function_call":
            tool = next(
                (t for t in tools if isinstance(t, Mapping) and t.get("name")),
                {},
            )
            name = str(tool.get("name", "tool"))
            call_id = new_id("call", rng, 16)
            arguments = json.dumps(arguments_for(tool), separators=(",", ":"))
            self.conversation.call_ids.add(call_id)
        shape = ResponseShape(
            kind=kind,
            response_id=response_id,
            item_id=item_id,
            in_conversation=in_conversation,
            previous_item_id=last_item_id if in_conversation else None,
            call_id=call_id,
            name=name,
        )
        tokens_key = "max_output_tokens" if ga else "max_response_output_tokens"
        run = ResponseRun(
            grammar=ResponseGrammar(self.wire.dialect, shape),
            modalities=list(modalities) if isinstance(modalities, list) else ["audio"],
            output_format=S.output_format(self.wire.dialect, session),
            metadata=params.get("metadata"),
            max_output_tokens=params.get("max_output_tokens", session.get(tokens_key, "inf")),
            text=voice.text,
            arguments=arguments,
        )
        run.progress.response_id = response_id
        run.progress.item_id = item_id
        return run


@dataclass(slots=True, eq=False)
class _Ending:
    """How one response closes, decided: :meth:`entries` makes its closing events.

    Kept while the response streams instead of the events themselves (one object where the
    events are dozens of dicts and lists). It holds the session configuration of its time, so
    events made later describe the response as it was created.
    """

    writer: ResponseWriter
    run: ResponseRun
    at: float
    status: str
    details: Any
    item: dict[str, Any] | None
    usage: tuple[int, int, int, int]
    remaining: int | None
    session: Mapping[str, Any]

    def entries(self, progress: ResponseProgress) -> list[Entry]:
        """The closing events, given what the client has seen of the response."""
        writer, run, item = self.writer, self.run, self.item

        def final_item() -> dict[str, Any]:
            assert item is not None  # the grammar asks for it only when the item is open
            return item

        def response(output: list[dict[str, Any]]) -> dict[str, Any]:
            text_in, audio_in, words, audio_out = self.usage
            usage = writer.wire.usage(
                text_in=text_in, audio_in=audio_in, words=words, audio_out=audio_out
            )
            return writer.response_object(
                run, self.status, self.details, output, usage, session=self.session
            )

        steps = run.grammar.closing(
            progress.open,
            text="".join(progress.text),
            arguments="".join(progress.arguments) if run.kind == "function_call" else "",
            item=final_item,
            response=response,
        )
        entries: list[Entry] = [writer._emit(self.at, step, run) for step in steps]
        if self.remaining is not None:
            # GA sends rate_limits.updated ~43 ms after response.done
            entries.append(
                Emit(
                    self.at + writer.latency.rate_limits_after_s,
                    writer.wire.rate_limits(self.remaining),
                    run.progress,
                    Trailing(),
                )
            )
        return entries


@dataclass(frozen=True, slots=True)
class _AudioLayout:
    """An audio answer's deltas relative to its first one: what each says and when (in ms of
    audio before it), the same for every response that speaks this voice."""

    offsets_ms: tuple[int, ...]
    types: tuple[str, ...]
    payloads: tuple[str, ...]
    audio_ms: tuple[int, ...]  # 0 for transcript deltas
    chunks: int
    #: What the whole layout tells the client: audio ms, deltas, transcript deltas.
    whole: tuple[int, int, tuple[str, ...]]


@functools.lru_cache(maxsize=256)
def _audio_layout(
    voice: Voice, fmt: str, chunk_ms: int, delta_type: str, transcript_type: str, text: str
) -> _AudioLayout:
    """Each word goes out just before the audio in which it is spoken; words left over follow
    the last chunk. Laying this out costs more than the rest of a response's start, and it only
    depends on the voice, so it is done once per voice and format."""
    chunks = audio_chunks(voice, fmt, chunk_ms)
    words = split_words(text)
    n = max(1, len(chunks))
    word_at = [min(n - 1, (j * n) // max(1, len(words))) for j in range(len(words))]
    offsets: list[int] = []
    types: list[str] = []
    payloads: list[str] = []
    audio_ms: list[int] = []
    offset_ms = 0
    word_index = 0
    for index, (b64, ms) in enumerate(chunks):
        while word_index < len(words) and word_at[word_index] <= index:
            offsets.append(offset_ms)
            types.append(transcript_type)
            payloads.append(words[word_index])
            audio_ms.append(0)
            word_index += 1
        offsets.append(offset_ms)
        types.append(delta_type)
        payloads.append(b64)
        audio_ms.append(ms)
        offset_ms += ms
    last = offsets[-1] if chunks else 0
    for word in words[word_index:]:
        offsets.append(last)
        types.append(transcript_type)
        payloads.append(word)
        audio_ms.append(0)
    said = tuple(p for p, ms in zip(payloads, audio_ms, strict=True) if not ms)
    return _AudioLayout(
        tuple(offsets),
        tuple(types),
        tuple(payloads),
        tuple(audio_ms),
        len(chunks),
        (sum(audio_ms), len(audio_ms), said),
    )


def _chunk_text(text: str, pieces: int) -> list[str]:
    if not text:
        return []
    size = max(1, math.ceil(len(text) / pieces))
    return [text[i : i + size] for i in range(0, len(text), size)]


def arguments_for(tool: Mapping[str, Any]) -> dict[str, Any]:
    """Plausible arguments for a function tool: each required property gets a typed value."""
    params = tool.get("parameters")
    if not isinstance(params, Mapping):
        return {}
    props = params.get("properties")
    props = props if isinstance(props, Mapping) else {}
    required = params.get("required")
    names = required if isinstance(required, list) and required else list(props)[:1]
    samples = {
        "string": "Paris",
        "number": 1.5,
        "integer": 1,
        "boolean": True,
        "array": [],
        "object": {},
    }
    out: dict[str, Any] = {}
    for name in names:
        found = props.get(name)
        spec: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        enum = spec.get("enum")
        if isinstance(enum, list) and enum:
            out[str(name)] = enum[0]
        else:
            out[str(name)] = samples.get(str(spec.get("type", "string")), "Paris")
    return out
