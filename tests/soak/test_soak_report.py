"""report.html: self-contained, rendered only from written results, also for killed runs."""

from __future__ import annotations

import re
from pathlib import Path

from soak_testkit import KEY, STARTED_AT, session, sessions, write_run

from realtime_harness.protocol.stats import FailureRecord, RunStats, SessionRecord
from realtime_harness.soak.report import render_report, write_report
from realtime_harness.soak.results import (
    REPORT_FILE,
    SESSIONS_FILE,
    ResultsWriter,
    SoakResults,
    load_results,
)


def _results(stats: RunStats, **config: object) -> SoakResults:
    return SoakResults(
        stats=stats,
        config=dict(config),
        run={"started_at_utc": "2026-11-30T04:00:00.000Z", "elapsed_s": 600.0},
        fail_if=["ttfa_p95>100ms"],
        source="summary",
    )


def test_the_page_fetches_nothing_and_needs_nothing_but_itself(tmp_path: Path) -> None:
    write_run(tmp_path, sessions(60))
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert "Content-Security-Policy" in page
    assert "default-src 'none'" in page
    for banned in ("<script", "<link", "@import", "url(", "<img", "<iframe", "src="):
        assert banned not in page.lower(), banned
    # The only address in the page is the SVG namespace, which is a name, not a fetch.
    addresses = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert addresses <= {"http://www.w3.org/2000/svg"}


def test_the_page_has_every_section_and_the_failure_ids(tmp_path: Path) -> None:
    write_run(tmp_path, sessions(60), fail_if=("ttfa_p95>100ms", "failure_rate>0.5"))
    page = write_report(tmp_path).read_text(encoding="utf-8")
    for heading in (
        "Verdict",
        "Latency percentiles over time",
        "Failures over time",
        "Sessions over time",
        "Latency distributions",
        "Failure groups",
        "Configuration",
    ):
        assert f"<h2>{heading}</h2>" in page
    assert page.count("<svg") >= 8  # six phases with samples, failures, sessions, distributions
    for ids in ("sess_0", "resp_0", "event_0", "sess_40"):
        assert f"<code>{ids}</code>" in page
    assert "1 of 2 thresholds crossed: the run fails" in page
    assert "harness kept up" in page


def test_the_configuration_shown_is_redacted(tmp_path: Path) -> None:
    write_run(tmp_path, sessions(3))
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert KEY not in page
    assert "api-key=***" in page


def test_secrets_handed_straight_to_the_renderer_are_masked_too() -> None:
    page = render_report(_results(RunStats(), api_key=KEY, url=f"wss://x.test/?key={KEY}"))
    assert KEY not in page


def test_text_from_the_server_is_escaped() -> None:
    stats = RunStats()
    stats.add_session(
        SessionRecord(
            start_s=0.0,
            outcome="server_failure",
            session_id="sess_<script>alert(1)</script>",
            failures=(FailureRecord(kind="error_event", code="<b>bold</b>"),),
        )
    )
    page = render_report(_results(stats))
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def test_a_killed_run_still_renders_every_completed_session(tmp_path: Path) -> None:
    write_run(tmp_path, sessions(25), finish=False)
    with (tmp_path / SESSIONS_FILE).open("ab") as out:
        out.write(b'{"record": "session", "sta')
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert "Partial results" in page
    assert '<tr><th>sessions finished</th><td class="n">25</td></tr>' in page
    assert "last line cut short" in page


def test_the_report_is_rebuilt_from_the_written_files_alone(tmp_path: Path) -> None:
    write_run(tmp_path, sessions(10))
    first = write_report(tmp_path).read_text(encoding="utf-8")
    (tmp_path / REPORT_FILE).unlink()
    assert write_report(tmp_path, load_results(tmp_path)).read_text(encoding="utf-8") == first


def test_an_empty_run_renders(tmp_path: Path) -> None:
    with ResultsWriter(tmp_path, started_at=STARTED_AT) as writer:
        writer.finish(RunStats(started_at=STARTED_AT))
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert "no sessions recorded" in page
    assert "no failures" in page


def test_a_day_long_run_plots_a_bounded_number_of_points() -> None:
    stats = RunStats()
    for minute in range(0, 24 * 60, 10):
        stats.add_session(session(minute, start_s=minute * 60.0, failed=minute % 90 == 0))
    page = render_report(_results(stats))
    # Bars of the failure plot: one rect per non-empty group and point, at most 360 points.
    assert 0 < page.count("<rect") <= 360
    assert len(page) < 2_000_000


def test_the_harness_bottleneck_is_shown_as_a_warning() -> None:
    from realtime_harness.protocol.stats import HarnessWindow

    stats = RunStats()
    window = HarnessWindow()
    for _ in range(50):
        window.send_lateness(40.0)
    stats.add_harness(window.flush(60.0))
    page = render_report(_results(stats))
    assert 'class="banner bad">send lateness p99' in page
    assert "latencies not trusted" in page
