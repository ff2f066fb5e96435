"""The mock learns the users' mistakes and answers each as the real service does: an unknown
deployment, an unknown model, GA events on the preview route, a retired api-version, a regional
incident."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from mock_testkit import FAST, KEY, SHORT, Client, manual_update, open_client
from websockets.exceptions import ConnectionClosed, InvalidStatus

from realtime_harness.mock import MockServer
from realtime_harness.mock.config import ANY, REALTIME_API_VERSIONS, REALTIME_MODELS
from realtime_harness.protocol.dialects import Dialect

AZURE = {"api-key": KEY}


def server(**kw: object) -> MockServer:
    """A fast mock that answers with a short tone."""
    return MockServer(latency=FAST, voices=SHORT, **kw)  # type: ignore[arg-type]


async def refused(
    mock: MockServer, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The status, JSON body and headers of a refused upgrade."""
    with pytest.raises(InvalidStatus) as caught:
        async with open_client(mock.url, path, headers=headers):
            pass
    response = caught.value.response
    return response.status_code, orjson.loads(response.body), dict(response.headers)


def test_the_default_names_are_todays_realtime_models() -> None:
    """The known names default list: the realtime models and their dated variants."""
    for name in ("gpt-realtime", "gpt-realtime-mini", "gpt-4o-realtime-preview"):
        assert name in REALTIME_MODELS
    assert "gpt-4o-mini-realtime-preview-2024-12-17" in REALTIME_MODELS
    assert "gpt-4o" not in REALTIME_MODELS
    assert "2025-04-01-preview" in REALTIME_API_VERSIONS


@pytest.mark.parametrize(
    "path",
    [
        "/openai/v1/realtime?model=my-gpt4o",
        "/openai/realtime?api-version=2025-04-01-preview&deployment=my-gpt4o",
    ],
)
@pytest.mark.asyncio
async def test_an_unknown_azure_deployment_is_404_deployment_not_found(path: str) -> None:
    """Azure, either route: a deployment that does not exist is HTTP 404 DeploymentNotFound,
    with the request id and region headers."""
    async with server(deployments=REALTIME_MODELS) as mock:
        status, body, headers = await refused(mock, path, AZURE)
        async with open_client(mock.url, "/openai/v1/realtime?model=gpt-realtime", headers=AZURE):
            pass  # a known one is served
    assert status == 404
    assert body["error"]["code"] == "DeploymentNotFound"
    assert "does not exist" in body["error"]["message"]
    assert headers["apim-request-id"] == headers["x-request-id"]
    assert headers["x-ms-region"]


@pytest.mark.asyncio
async def test_an_unknown_openai_model_is_invalid_model_then_close_4000() -> None:
    """OpenAI's route: the upgrade succeeds, then invalid_model and close 4000."""
    async with (
        server(models=REALTIME_MODELS) as mock,
        open_client(mock.url, "/v1/realtime?model=gpt-4o") as ws,
    ):
        client = Client(ws)
        event = await client.recv()
        with pytest.raises(ConnectionClosed):
            await client.recv()
    assert event["error"]["code"] == "invalid_model"
    assert "gpt-4o" in event["error"]["message"]
    assert ws.close_code == 4000
    assert ws.close_reason == "invalid_request_error.invalid_model"


@pytest.mark.asyncio
async def test_any_name_is_served_with_any() -> None:
    """With deployments/models ANY every name exists (tests that name their own deployment)."""
    async with server(models=ANY, deployments=ANY) as mock:
        for path, headers in (
            ("/openai/v1/realtime?model=anything", AZURE),
            ("/v1/realtime?model=anything", None),
        ):
            async with open_client(mock.url, path, headers=headers) as ws:
                event = await Client(ws).recv()
                assert event["type"] == "session.created"


class TestKnownNamesByDefault:
    """Without deployments/models the mock knows today's realtime model names, as the services
    do, and refuses every other name; ANY serves every name."""

    @pytest.mark.asyncio
    async def test_an_unknown_model_is_invalid_model_then_close(self) -> None:
        """MockServer() with no names: ?model=gpt-4o is invalid_model and close 4000."""
        async with server() as mock, open_client(mock.url, "/v1/realtime?model=gpt-4o") as ws:
            client = Client(ws)
            event = await client.recv()
            with pytest.raises(ConnectionClosed):
                await client.recv()
        assert event["type"] == "error"
        assert event["error"]["code"] == "invalid_model"
        assert ws.close_code == 4000

    @pytest.mark.parametrize(
        "path",
        [
            "/openai/v1/realtime?model=my-deployment",
            "/openai/realtime?api-version=2025-04-01-preview&deployment=my-deployment",
        ],
    )
    @pytest.mark.asyncio
    async def test_an_unknown_azure_deployment_is_404_deployment_not_found(self, path: str) -> None:
        """MockServer() with no names: a deployment named otherwise is HTTP 404."""
        async with server() as mock:
            status, body, _headers = await refused(mock, path, AZURE)
        assert status == 404
        assert body["error"]["code"] == "DeploymentNotFound"

    @pytest.mark.asyncio
    async def test_every_default_name_is_served_as_a_model_and_a_deployment(self) -> None:
        """Each of today's realtime model names opens a session on OpenAI's route and, as a
        deployment, on Azure's GA route."""
        async with server() as mock:
            for name in REALTIME_MODELS:
                for path, headers in (
                    (f"/v1/realtime?model={name}", None),
                    (f"/openai/v1/realtime?model={name}", AZURE),
                ):
                    async with open_client(mock.url, path, headers=headers) as ws:
                        event = await Client(ws).recv()
                        assert event["type"] == "session.created", (path, event)

    @pytest.mark.asyncio
    async def test_the_preview_route_serves_a_default_deployment(self) -> None:
        """The Azure preview route's deployment= is checked against the same names."""
        path = "/openai/realtime?api-version=2025-04-01-preview&deployment=gpt-4o-realtime-preview"
        async with server() as mock, open_client(mock.url, path, headers=AZURE) as ws:
            assert (await Client(ws).recv())["type"] == "session.created"

    def test_any_holds_every_name_and_says_so(self) -> None:
        """ANY is a set of names that holds every name; its repr names it."""
        assert "anything" in ANY
        assert "" in ANY
        assert repr(ANY) == "ANY"
        assert server(models=ANY).models is ANY
        assert server().models == frozenset(REALTIME_MODELS)
        assert server(deployments=["my-dep"]).deployments == frozenset({"my-dep"})


@pytest.mark.asyncio
async def test_ga_events_on_the_preview_route_are_unknown_parameter_session_type() -> None:
    """The openai package's AzureOpenAI(...).realtime trap: a GA session.update on the preview
    route is refused with unknown_parameter, param session.type."""
    path = "/openai/realtime?api-version=2025-04-01-preview&deployment=gpt-realtime"
    async with server() as mock, open_client(mock.url, path, headers=AZURE) as ws:
        client = Client(ws)
        await client.until("session.created")
        await client.send(manual_update(Dialect.GA))
        error = (await client.until("error"))[-1]
    assert error["error"]["code"] == "unknown_parameter"
    assert error["error"]["param"] == "session.type"


@pytest.mark.parametrize("version", ["2024-10-01-preview", "2023-05-15", "bogus"])
@pytest.mark.asyncio
async def test_a_retired_or_unknown_api_version_is_400_not_supported(version: str) -> None:
    """The preview route with an api-version Azure does not serve: HTTP 400, as Azure says it."""
    path = f"/openai/realtime?api-version={version}&deployment=gpt-realtime"
    async with server() as mock:
        status, body, _ = await refused(mock, path, AZURE)
    assert status == 400
    assert body["error"] == {"code": "BadRequest", "message": "API version not supported"}


@pytest.mark.asyncio
async def test_a_regional_incident_refuses_with_503_and_the_ids() -> None:
    """handshake_503: HTTP 503 carrying the request id and region a support ticket needs."""
    async with server(faults=["handshake_503"]) as mock:
        status, body, headers = await refused(mock, "/openai/v1/realtime?model=gpt-realtime", AZURE)
    assert status == 503
    assert body["error"]["code"] == "ServiceUnavailable"
    assert headers["apim-request-id"]
    assert headers["x-ms-region"]
