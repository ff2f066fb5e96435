"""Doctor verdicts: checks, skips naming their reason, exit codes, JSON and the two renderings."""

from __future__ import annotations

import io
import json

import pytest
from pydantic import ValidationError

from realtime_harness.doctor.checks import (
    SCHEMA_VERSION,
    Check,
    Report,
    Stage,
    Status,
    print_report,
    render_plain,
    render_rich,
)

SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"


def check(name: str, status: Status, stage: Stage = Stage.CONFIG, **kw: object) -> Check:
    return Check(name=name, stage=stage, status=status, evidence=f"{name} evidence", **kw)  # type: ignore[arg-type]


class TestExitCode:
    def test_nothing_failing_exits_0(self) -> None:
        """Passes, warnings and skips exit 0."""
        first = check("a", Status.WARN)
        report = Report(
            checks=[check("ok", Status.PASS), first, Check.skipped("b", Stage.SESSION, first)]
        )
        assert report.exit_code == 0

    def test_a_failing_check_exits_1(self) -> None:
        """A failure anywhere but the network stage exits 1."""
        report = Report(
            checks=[check("ok", Status.PASS), check("handshake", Status.FAIL, Stage.HANDSHAKE)]
        )
        assert report.exit_code == 1
        assert [c.name for c in report.failed()] == ["handshake"]

    def test_an_unreachable_server_exits_4(self) -> None:
        """A failing network check (DNS, TCP, TLS) means nothing was reached: exit 4."""
        dns = check("dns", Status.FAIL, Stage.NETWORK)
        report = Report(
            checks=[
                check("url-form", Status.FAIL),
                dns,
                Check.skipped("handshake", Stage.HANDSHAKE, dns),
            ]
        )
        assert report.exit_code == 4


class TestSkips:
    def test_a_skip_names_the_earlier_check_and_its_status(self) -> None:
        """The skipped row says which check made it meaningless."""
        tcp = check("tcp", Status.FAIL, Stage.NETWORK)
        skipped = Check.skipped("tls", Stage.NETWORK, tcp)
        assert skipped.skipped_because == "tcp"
        assert skipped.evidence == "skipped: tcp fail"
        assert Check.skipped("tls", Stage.NETWORK, tcp, "no socket").evidence == (
            "skipped: tcp fail (no socket)"
        )

    def test_a_skip_must_name_an_earlier_check(self) -> None:
        """A skip reason pointing nowhere (or later) is refused."""
        with pytest.raises(ValidationError, match="not an earlier check"):
            Report(checks=[Check.skipped("tls", Stage.NETWORK, "tcp"), check("tcp", Status.FAIL)])

    def test_only_skipped_checks_carry_a_skip_reason(self) -> None:
        """status skipped and skipped_because go together."""
        with pytest.raises(ValidationError):
            Check(name="x", stage=Stage.CONFIG, status=Status.SKIPPED)
        with pytest.raises(ValidationError):
            Check(name="x", stage=Stage.CONFIG, status=Status.PASS, skipped_because="y")


class TestContent:
    def test_evidence_and_fix_are_one_line_and_never_hold_a_key(self) -> None:
        """Newlines collapse; key-shaped text and credential headers are masked."""
        c = Check(
            name="x",
            stage=Stage.HANDSHAKE,
            status=Status.FAIL,
            evidence=f"refused\nwith key {SECRET}",
            fix="use\n another",
            seen={"api-key": "0123456789abcdef0123456789abcdef", "x-ms-region": "Sweden Central"},
        )
        assert "\n" not in c.evidence
        assert SECRET not in c.evidence
        assert c.fix == "use another"
        assert c.seen == {"api-key": "***", "x-ms-region": "Sweden Central"}

    def test_the_json_form_has_a_schema_version_and_the_exit_code(self) -> None:
        """--json: schema_version, target, checks (every field) and exit_code."""
        report = Report(
            target="azure wss://r.openai.azure.com/openai/v1/realtime?model=d",
            checks=[check("a", Status.FAIL)],
        )
        data = json.loads(json.dumps(report.to_json_dict()))
        assert data["schema_version"] == SCHEMA_VERSION == 1
        assert data["exit_code"] == 1
        assert data["checks"][0] == {
            "name": "a",
            "stage": "config",
            "status": "fail",
            "evidence": "a evidence",
            "fix": "",
            "seen": {},
            "skipped_because": None,
            "cause": None,
        }
        assert report.check("a") is report.checks[0]
        assert report.check("zzz") is None

    def test_with_checks_appends(self) -> None:
        """Reports are immutable; with_checks returns a longer one."""
        report = Report(target="t").with_checks([check("a", Status.PASS)])
        assert [c.name for c in report.checks] == ["a"]
        assert report.target == "t"


class TestRendering:
    def report(self) -> Report:
        first = check("url-form", Status.PASS, seen={"form": "azure-ga"})
        fail = check("handshake", Status.FAIL, Stage.HANDSHAKE, fix="check the key")
        return Report(
            target="azure wss://r.openai.azure.com/openai/v1/realtime?model=d",
            checks=[first, fail, Check.skipped("session", Stage.SESSION, fail)],
        )

    def test_plain_lines_name_status_check_evidence_fix_and_seen(self) -> None:
        """Off a terminal, one line per check plus fix and seen lines, then the total."""
        text = render_plain(self.report())
        assert text.splitlines() == [
            "doctor azure wss://r.openai.azure.com/openai/v1/realtime?model=d",
            "PASS url-form: url-form evidence",
            "     seen: form=azure-ga",
            "FAIL handshake: handshake evidence",
            "     fix: check the key",
            "SKIP session: skipped: handshake fail",
            "1 pass, 1 fail, 1 skipped; exit 1",
        ]

    def test_a_rich_table_has_one_row_per_check(self) -> None:
        """On a terminal, a rich table with the same content."""
        text = render_rich(self.report(), width=160, color=False)
        for needle in ("status", "evidence", "url-form", "FAIL", "check the key", "SKIP", "exit 1"):
            assert needle in text
        assert "\x1b[" not in text
        assert "\x1b[" in render_rich(self.report(), width=160, color=True)

    def test_print_report_picks_plain_lines_off_a_terminal(self) -> None:
        """A pipe or file gets plain lines."""
        out = io.StringIO()
        print_report(self.report(), out)
        assert out.getvalue() == render_plain(self.report())

    def test_print_report_picks_the_table_on_a_terminal(self) -> None:
        """A terminal gets the rich table."""

        class Tty(io.StringIO):
            def isatty(self) -> bool:
                return True

        out = Tty()
        print_report(self.report(), out, width=150)
        assert "┃" in out.getvalue() or "|" in out.getvalue()
        assert "check the key" in out.getvalue()

    def test_an_empty_report_says_so(self) -> None:
        """No checks is stated, not left blank."""
        assert render_plain(Report()).splitlines()[-1] == "no checks; exit 0"
