"""Configuration checks: each mistake named by its check, before any traffic, never with a key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from realtime_harness.doctor.checks import Report, Status
from realtime_harness.doctor.config import (
    ConfigInputs,
    KeyShape,
    UrlForm,
    check_config,
    classify_url,
    key_shape,
    resolve_inputs,
)
from realtime_harness.protocol.dialects import Dialect
from realtime_harness.target import resolve_target

OPENAI_KEY = "sk-proj-" + "A1b2C3d4" * 6
AZURE_HEX = "0123456789abcdef0123456789abcdef"
AZURE_84 = "7" * 20 + "AAAAACOG" + "x9" * 28
ENTRA = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJjb2duaXRpdmUifQ.c2lnbmF0dXJl"
SECRETS = (OPENAI_KEY, AZURE_HEX, AZURE_84, ENTRA)

OPENAI_URL = "wss://api.openai.com/v1/realtime?model=gpt-realtime"
AZURE_GA = "wss://res.openai.azure.com/openai/v1/realtime?model=my-realtime"
AZURE_PREVIEW = (
    "wss://res.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment=rt"
)
BEARER = {"Authorization": f"Bearer {OPENAI_KEY}"}
AZKEY = {"api-key": AZURE_HEX}


def statuses(inputs: ConfigInputs) -> dict[str, str]:
    return {c.name: c.status.value for c in check_config(inputs)}


def failing(inputs: ConfigInputs) -> dict[str, str]:
    """The checks that did not pass, and their status."""
    return {k: v for k, v in statuses(inputs).items() if v != "pass"}


@pytest.mark.parametrize(
    ("url", "form"),
    [
        (OPENAI_URL, UrlForm.OPENAI),
        (AZURE_GA, UrlForm.AZURE_GA),
        (AZURE_PREVIEW, UrlForm.AZURE_PREVIEW),
        ("wss://res.cognitiveservices.azure.com/openai/v1/realtime?model=x", UrlForm.AZURE_GA),
        ("ws://127.0.0.1:8765/v1/realtime", UrlForm.CUSTOM),
        ("wss://gateway.example.com/realtime", UrlForm.CUSTOM),
        ("not a url", UrlForm.CUSTOM),
    ],
)
def test_the_four_url_forms_are_told_apart(url: str, form: UrlForm) -> None:
    """OpenAI, Azure GA, Azure preview, and custom for anything else."""
    assert classify_url(url) is form


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        (OPENAI_KEY, KeyShape.OPENAI_KEY),
        ("ek_68af296e8e408191a1120ab6383263c2", KeyShape.OPENAI_EPHEMERAL),
        (AZURE_HEX, KeyShape.AZURE_KEY),
        (AZURE_84, KeyShape.AZURE_KEY),
        (ENTRA, KeyShape.ENTRA_TOKEN),
        (f'"{OPENAI_KEY}"', KeyShape.PADDED),
        (f"{AZURE_HEX}\n", KeyShape.PADDED),
        ("my-key", KeyShape.UNKNOWN),
    ],
)
def test_key_shapes(value: str, shape: KeyShape) -> None:
    """Keys are recognised by shape: sk-, ek_, Azure 32-hex or 84 chars, JWT, padded, unknown."""
    assert key_shape(value) is shape


#: One row per configuration mistake: the inputs and the only checks that do not pass.
MISTAKES = [
    pytest.param(ConfigInputs(url=OPENAI_URL, headers=BEARER), {}, id="clean-openai"),
    pytest.param(ConfigInputs(url=AZURE_GA, headers=AZKEY), {}, id="clean-azure-ga"),
    pytest.param(
        ConfigInputs(url=AZURE_GA, headers={"api-key": AZURE_84}, dialect=Dialect.GA),
        {},
        id="clean-azure-ga-84-char-key",
    ),
    pytest.param(
        ConfigInputs(url=AZURE_GA, headers={"Authorization": f"Bearer {ENTRA}"}),
        {},
        id="clean-azure-entra",
    ),
    pytest.param(
        ConfigInputs(url="ws://127.0.0.1:9000/v1/realtime?model=m"),
        {"key-kind": "skipped"},
        id="clean-local-mock",
    ),
    pytest.param(
        ConfigInputs(url=AZURE_GA + "&api-version=2025-04-01-preview", headers=AZKEY),
        {"api-version": "fail"},
        id="api-version-on-ga-url",
    ),
    pytest.param(
        ConfigInputs(url=AZURE_PREVIEW, headers=AZKEY, dialect=Dialect.BETA),
        {"preview-protocol": "warn"},
        id="azure-preview-route",
    ),
    pytest.param(
        ConfigInputs(url=OPENAI_URL, headers={**BEARER, "OpenAI-Beta": "realtime=v1"}),
        {"preview-protocol": "fail"},
        id="openai-beta-header",
    ),
    pytest.param(
        ConfigInputs(url=AZURE_GA, headers={**AZKEY, "OpenAI-Beta": "realtime=v1"}),
        {"preview-protocol": "warn"},
        id="beta-header-on-azure-ga",
    ),
    pytest.param(
        ConfigInputs(
            url=AZURE_PREVIEW.replace("2025-04-01-preview", "2024-10-01-preview"),
            headers=AZKEY,
            dialect=Dialect.BETA,
        ),
        {"preview-protocol": "warn", "api-version": "fail"},
        id="retired-api-version",
    ),
    pytest.param(
        ConfigInputs(
            url=AZURE_PREVIEW.replace("2025-04-01-preview", "2024-12-17"),
            headers=AZKEY,
            dialect=Dialect.BETA,
        ),
        {"preview-protocol": "warn", "api-version": "warn"},
        id="model-version-as-api-version",
    ),
    pytest.param(
        ConfigInputs(
            url=AZURE_PREVIEW.replace("2025-04-01-preview", "2031-01-01"),
            headers=AZKEY,
            dialect=Dialect.BETA,
        ),
        {"preview-protocol": "warn", "api-version": "warn"},
        id="unknown-api-version",
    ),
    pytest.param(
        ConfigInputs(
            url="wss://res.openai.azure.com/openai/realtime?deployment=rt",
            headers=AZKEY,
            dialect=Dialect.BETA,
        ),
        {"preview-protocol": "warn", "api-version": "fail"},
        id="preview-without-api-version",
    ),
    pytest.param(
        ConfigInputs(url=AZURE_GA, headers=AZKEY, api_version="2025-04-01-preview"),
        {"api-version": "warn"},
        id="api-version-given-with-a-ga-url",
    ),
    pytest.param(
        ConfigInputs(url=OPENAI_URL, headers=BEARER, api_version="2025-04-01-preview"),
        {"api-version": "warn"},
        id="api-version-for-openai",
    ),
    pytest.param(
        ConfigInputs(url=AZURE_PREVIEW, headers=AZKEY, dialect=Dialect.GA),
        {"preview-protocol": "warn", "dialect-route": "fail"},
        id="sdk-trap-ga-events-on-preview-route",
    ),
    pytest.param(
        ConfigInputs(url=AZURE_PREVIEW, headers=AZKEY),
        {"preview-protocol": "warn", "dialect-route": "warn"},
        id="preview-route-unknown-client",
    ),
    pytest.param(
        ConfigInputs(url=AZURE_GA, headers=AZKEY, dialect=Dialect.BETA),
        {"dialect-route": "fail"},
        id="beta-events-on-ga-route",
    ),
    pytest.param(
        ConfigInputs(url=AZURE_GA),
        {"credentials": "fail", "key-kind": "skipped"},
        id="missing-credentials-azure",
    ),
    pytest.param(
        ConfigInputs(url=OPENAI_URL),
        {"credentials": "fail", "key-kind": "skipped"},
        id="missing-credentials-openai",
    ),
    pytest.param(
        ConfigInputs(url="wss://gateway.example.com/realtime"),
        {"credentials": "warn", "key-kind": "skipped"},
        id="no-credential-for-a-gateway",
    ),
    pytest.param(
        ConfigInputs(url=AZURE_GA, headers={"api-key": OPENAI_KEY}),
        {"key-kind": "fail"},
        id="openai-key-on-azure",
    ),
    pytest.param(
        ConfigInputs(url=OPENAI_URL, headers={"Authorization": f"Bearer {AZURE_HEX}"}),
        {"key-kind": "fail"},
        id="azure-32-hex-key-on-openai",
    ),
    pytest.param(
        ConfigInputs(url=OPENAI_URL, headers={"Authorization": f"Bearer {AZURE_84}"}),
        {"key-kind": "fail"},
        id="azure-84-char-key-on-openai",
    ),
    pytest.param(
        ConfigInputs(url=OPENAI_URL, headers={"api-key": OPENAI_KEY}),
        {"key-kind": "fail"},
        id="api-key-header-on-openai",
    ),
    pytest.param(
        ConfigInputs(url=AZURE_GA, headers={"api-key": f"'{AZURE_HEX}'"}),
        {"key-kind": "fail"},
        id="quoted-key",
    ),
    pytest.param(
        ConfigInputs(url=AZURE_GA, headers={"Authorization": f"Bearer {AZURE_HEX}"}),
        {"key-kind": "warn"},
        id="azure-key-as-bearer",
    ),
    pytest.param(
        ConfigInputs(url=OPENAI_URL, headers={"Authorization": "Bearer OPENAI_API_KEY"}),
        {"key-kind": "warn"},
        id="unknown-key-shape",
    ),
    pytest.param(
        ConfigInputs(url=AZURE_GA + f"&api-key={AZURE_HEX}"),
        {"credentials": "warn"},
        id="key-in-query-string",
    ),
    pytest.param(
        ConfigInputs(url=AZURE_GA.replace("wss://", "https://"), headers=AZKEY),
        {"url-scheme": "warn"},
        id="https-where-wss-belongs",
    ),
    pytest.param(
        ConfigInputs(url=AZURE_GA, headers=AZKEY, endpoint="wss://res.openai.azure.com"),
        {"url-scheme": "warn"},
        id="wss-endpoint-where-https-belongs",
    ),
    pytest.param(
        ConfigInputs(url=AZURE_GA.replace("wss://", "ws://"), headers=AZKEY),
        {"url-scheme": "fail"},
        id="plain-ws-off-host",
    ),
    pytest.param(
        ConfigInputs(url="ftp://res.openai.azure.com/openai/v1/realtime?model=x", headers=AZKEY),
        {"url-scheme": "fail"},
        id="not-a-websocket-scheme",
    ),
    pytest.param(
        ConfigInputs(url="wss://api.openai.com/v1/realtime", headers=BEARER),
        {"url-form": "fail"},
        id="openai-without-model",
    ),
    pytest.param(
        ConfigInputs(url="wss://api.openai.com/v1/realtime?intent=transcription", headers=BEARER),
        {},
        id="openai-transcription-needs-no-model",
    ),
    pytest.param(
        ConfigInputs(url="wss://api.openai.com/v1/realtime?call_id=rtc_1", headers=BEARER),
        {},
        id="openai-sideband-call-needs-no-model",
    ),
    pytest.param(
        ConfigInputs(
            url="wss://res.openai.azure.com/openai/realtime?api-version=2025-04-01-preview",
            headers=AZKEY,
            dialect=Dialect.BETA,
        ),
        {"url-form": "fail", "preview-protocol": "warn"},
        id="preview-without-deployment",
    ),
    pytest.param(
        ConfigInputs(url="wss://res.openai.azure.com/openai/deployments/x/chat", headers=AZKEY),
        {"url-form": "warn"},
        id="azure-host-wrong-path",
    ),
]


@pytest.mark.parametrize(("inputs", "expected"), MISTAKES)
def test_each_mistake_is_named_by_its_check_and_no_other(
    inputs: ConfigInputs, expected: dict[str, str]
) -> None:
    """Every row's mistake shows in exactly the checks listed; everything else passes."""
    assert failing(inputs) == expected


@pytest.mark.parametrize(("inputs", "expected"), MISTAKES)
def test_no_output_holds_a_credential(inputs: ConfigInputs, expected: dict[str, str]) -> None:
    """Shapes and lengths only: no key or token reaches the report, its JSON or its text."""
    report = Report(target=inputs.url, checks=check_config(inputs))
    text = json.dumps(report.to_json_dict())
    assert not any(secret in text for secret in SECRETS)


def test_every_non_passing_check_says_how_to_fix_it() -> None:
    """A warn or fail row always carries a fix."""
    for param in MISTAKES:
        for check in check_config(param.values[0]):  # type: ignore[arg-type]
            if check.status in (Status.WARN, Status.FAIL):
                assert check.fix, check.name


class TestDetails:
    def test_the_api_version_on_the_ga_url_says_401(self) -> None:
        """The evidence names the service's answer."""
        inputs = ConfigInputs(url=AZURE_GA + "&api-version=2025-04-01-preview", headers=AZKEY)
        check = next(c for c in check_config(inputs) if c.name == "api-version")
        assert "401" in check.evidence
        assert "remove api-version" in check.fix

    def test_the_openai_beta_header_names_beta_api_shape_disabled(self) -> None:
        """The evidence names the error code OpenAI answers with."""
        inputs = ConfigInputs(url=OPENAI_URL, headers={**BEARER, "openai-beta": "realtime=v1"})
        check = next(c for c in check_config(inputs) if c.name == "preview-protocol")
        assert "beta_api_shape_disabled" in check.evidence

    def test_the_sdk_trap_gives_the_websocket_base_url_fix(self) -> None:
        """GA events on the preview route: the fix is the openai package's websocket_base_url."""
        inputs = ConfigInputs(url=AZURE_PREVIEW, headers=AZKEY, dialect=Dialect.GA)
        check = next(c for c in check_config(inputs) if c.name == "dialect-route")
        assert "unknown_parameter 'session.type'" in check.evidence
        assert "websocket_base_url=https://NAME.openai.azure.com/openai/v1" in check.fix

    @pytest.mark.parametrize(
        "path",
        [
            "/openai/threads/thread_1/runs?api-version=2024-06-01-preview",
            "/openai/assistants?api-version=2024-05-01-preview",
            "/v1/threads/runs",
        ],
    )
    def test_an_assistants_url_is_retired_and_names_the_replacement(self, path: str) -> None:
        """The Assistants API was retired on 2026-08-26; the fix names Responses and Realtime."""
        inputs = ConfigInputs(url=f"https://res.openai.azure.com{path}", headers=AZKEY)
        checks = {c.name: c for c in check_config(inputs)}
        assistants = checks["assistants-api"]
        assert assistants.status is Status.FAIL
        assert "2026-08-26" in assistants.evidence
        assert "Responses API" in assistants.fix
        assert "Realtime" in assistants.fix
        for later in ("url-scheme", "preview-protocol", "api-version", "dialect-route"):
            assert checks[later].status is Status.SKIPPED
            assert checks[later].skipped_because == "assistants-api"

    def test_an_unparseable_url_skips_the_url_checks_and_still_checks_credentials(self) -> None:
        """A URL that does not parse fails url-form; the URL checks are skipped with its name."""
        checks = check_config(ConfigInputs(url="wss://host:notaport/x", headers=BEARER))
        assert checks[0].status is Status.FAIL
        skipped = [c for c in checks if c.status is Status.SKIPPED]
        assert len(skipped) == 5
        assert {c.skipped_because for c in skipped} == {"url-form"}
        Report(checks=checks)  # the skips name an earlier check

    def test_from_target_reads_a_resolved_target(self) -> None:
        """A target resolved as the probe does is checked as is."""
        target = resolve_target(
            endpoint="https://res.openai.azure.com",
            deployment="rt",
            env={"AZURE_OPENAI_API_KEY": AZURE_HEX},
        )
        assert target is not None
        inputs = ConfigInputs.from_target(target)
        assert failing(inputs) == {}
        assert inputs.dialect is Dialect.GA


class TestResolveInputs:
    """The probe's options resolved without stopping at a missing key."""

    def env_file(self, tmp_path: Path) -> Path:
        path = tmp_path / ".env"
        path.write_text("")
        return path

    def test_a_missing_key_still_checks_the_url(self, tmp_path: Path) -> None:
        """No key: the URL is resolved anyway and the credentials check fails."""
        inputs = resolve_inputs(
            endpoint="https://res.openai.azure.com",
            deployment="rt",
            env={},
            env_file=self.env_file(tmp_path),
        )
        assert isinstance(inputs, ConfigInputs)
        assert classify_url(inputs.url) is UrlForm.AZURE_GA
        assert failing(inputs) == {"credentials": "fail", "key-kind": "skipped"}

    def test_a_key_from_the_environment_is_checked_by_shape(self, tmp_path: Path) -> None:
        """An OpenAI key in the Azure variable is caught by key-kind."""
        inputs = resolve_inputs(
            endpoint="https://res.openai.azure.com",
            deployment="rt",
            api_version="2024-10-01-preview",
            env={"AZURE_OPENAI_API_KEY": OPENAI_KEY},
            env_file=self.env_file(tmp_path),
        )
        assert isinstance(inputs, ConfigInputs)
        assert inputs.api_version == "2024-10-01-preview"
        assert failing(inputs) == {
            "preview-protocol": "warn",
            "api-version": "fail",
            "key-kind": "fail",
        }
        report = Report(checks=check_config(inputs))
        assert OPENAI_KEY not in json.dumps(report.to_json_dict())

    @pytest.mark.parametrize(
        ("options", "needle"),
        [
            ({}, "nothing configured"),
            ({"url": "wss://host:notaport/x"}, "not a valid URL"),
            ({"endpoint": "https://res.openai.azure.com"}, "deployment"),
        ],
    )
    def test_options_that_form_no_url_give_a_failing_target_check(
        self, tmp_path: Path, options: dict[str, str], needle: str
    ) -> None:
        """Nothing configured, a malformed URL or a missing deployment: one failing row."""
        result = resolve_inputs(env={}, env_file=self.env_file(tmp_path), **options)  # type: ignore[arg-type]
        assert not isinstance(result, ConfigInputs)
        assert (result.name, result.status) == ("target", Status.FAIL)
        assert needle in result.evidence
