"""Realtime checks for your own CI (the example of README "Use it in your pytest suite").

By default these run against the embedded mock server; with ``--realtime-live`` and a configured
deployment (``--realtime-url`` or the environment variables in README) they run against it.
"""

import pytest


def test_deployment_answers_a_text_turn(run_probe):
    result = run_probe(text="Say hello in one short sentence.")
    result.assert_clean()  # on failure: the outcome, then every id of every failure, in full


def test_deployment_answers_speech_quickly(run_probe):
    result = run_probe(audio="greeting")
    assert result.responses[0].status == "completed"
    assert result.timings_ms["create_to_first_audio"] < 5_000


@pytest.mark.realtime_faults("server_error:rate=1,after_deltas=2")
def test_a_failed_response_names_its_ids(run_probe, realtime_mock):
    result = run_probe(text="Say hello.")
    assert result.outcome.value == "server_failure"
    failure = result.assert_failed(kind="response_failed")
    assert failure.session_id.startswith("sess_")
    assert failure.response_id.startswith("resp_")
