"""The validator's results are plain slotted dataclasses that pydantic models hold unchanged.

``Violation`` and ``Report`` are not pydantic models (``validate`` starts without pydantic), but
the probe's and the session's results, and the ``--json`` schemas, hold violations in pydantic
models: these tests say that pydantic validates, dumps and describes them as before.
"""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from realtime_harness.protocol.outcome import Outcome
from realtime_harness.protocol.validator import Report, Violation, validate_events
from realtime_harness.testing import TraceBuilder

VIOLATION = Violation(
    rule="event-id-unique",
    message="event_id e1 was used before",
    line=7,
    t=1.5,
    event_type="response.created",
    event_id="e1",
    response_id="resp_1",
)


class Holder(BaseModel):
    """A pydantic model holding violations, as the probe's and the session's results do."""

    violations: list[Violation]


def test_a_violation_is_a_frozen_slotted_dataclass() -> None:
    """Plain data: fields by name, equality by value, hashable, no per-instance dict."""
    assert dataclasses.is_dataclass(VIOLATION)
    assert not hasattr(VIOLATION, "__dict__")
    assert dataclasses.replace(VIOLATION) == VIOLATION
    assert hash(dataclasses.replace(VIOLATION)) == hash(VIOLATION)
    with pytest.raises(dataclasses.FrozenInstanceError):
        VIOLATION.rule = "other"  # type: ignore[misc]


def test_to_json_dict_is_what_pydantic_dumps() -> None:
    """The --json object of a violation equals pydantic's JSON dump, key for key, in order."""
    dumped = TypeAdapter(Violation).dump_python(VIOLATION, mode="json")
    assert VIOLATION.to_json_dict() == dumped
    assert list(VIOLATION.to_json_dict()) == list(dumped)
    assert VIOLATION.to_json_dict() == dataclasses.asdict(VIOLATION)


def test_a_pydantic_model_validates_and_dumps_violations() -> None:
    """A model holding violations takes them or their JSON objects, and dumps them back."""
    from_objects = Holder(violations=[VIOLATION])
    from_json = Holder.model_validate({"violations": [VIOLATION.to_json_dict()]})
    assert from_objects.violations == from_json.violations == [VIOLATION]
    assert from_json.model_dump(mode="json") == {"violations": [VIOLATION.to_json_dict()]}
    with pytest.raises(ValidationError):
        Holder.model_validate({"violations": [{"rule": "x", "message": "m", "side": "up"}]})


def test_the_json_schema_of_a_violation_keeps_its_description_and_defaults() -> None:
    """pydantic describes the dataclass as it described the model: docstring, required fields."""
    schema = TypeAdapter(Violation).json_schema()
    assert schema["title"] == "Violation"
    assert schema["description"] == Violation.__doc__
    assert schema["required"] == ["rule", "message"]
    assert schema["properties"]["side"] == {
        "default": "server",
        "enum": ["server", "client"],
        "title": "Side",
        "type": "string",
    }


def test_a_report_is_plain_data_with_its_json_keys() -> None:
    """A report is a frozen dataclass; to_json_dict gives the --json keys."""
    build = TraceBuilder()
    report = validate_events([*build.session_created(), *build.response("text")])
    assert isinstance(report, Report)
    assert report.outcome is Outcome.CLEAN
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.events = 0  # type: ignore[misc]
    assert list(report.to_json_dict()) == [
        "outcome",
        "dialect",
        "session_id",
        "events",
        "failures",
        "violations",
        "incomplete",
        "violations_dropped",
    ]
