"""A session driven by hand (the example of docs/pytest.md "Drive a session yourself").

Runs against the embedded mock server by default, like README's example; with
``--realtime-live`` and a configured deployment the first test runs against that deployment and
the second, which asks for ``realtime_mock``, is skipped.
"""

import pytest


@pytest.mark.asyncio
async def test_session_by_hand(realtime_session):
    async with realtime_session() as session:
        item = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "What is the capital of France?"}],
        }
        await session.send({"type": "conversation.item.create", "item": item})
        await session.send({"type": "response.create"})
        done = await session.wait_for("response.done", max_wait=30)
        assert done["response"]["status"] == "completed"


@pytest.fixture(params=["ga", "beta"])
def realtime_dialect(request):
    return request.param


def test_the_mock_answers_in_both_dialects(run_probe, realtime_mock, realtime_dialect):
    result = run_probe(text="Say hello.")
    result.assert_clean()
    assert result.dialect.value == realtime_dialect
