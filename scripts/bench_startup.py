"""Benchmark: wall time of ``realtime-harness --help`` and of ``validate`` on a one-line file.

Usage::

    python scripts/bench_startup.py             # 15 runs of each (~15 s)
    python scripts/bench_startup.py --runs 30

Each command is a fresh process, as a user or a CI step runs it. Baselines measured in the same
run, alternating with the commands so machine noise hits all of them alike:

* ``python -c pass``: the interpreter alone (with this environment's ``site``);
* ``python -c "import typer"``: the least any typer CLI imports;
* ``python -c "import typer, orjson"``: the floor of a typer CLI that reads JSON (what
  ``validate`` cannot start without);
* an empty typer command run the way typer 0.29 runs any command: it builds a pydantic adapter
  per parameter, so this is what a plain typer CLI costs before doing anything.

It prints min and median wall time of each, the commands' ratios to the baselines, whether the
best (minimum) run meets the 0.25 s goal, and the top entries of ``python -X importtime`` for
both commands (cumulative and self time), so what bounds start-up is visible. The goal is judged
on the best run because other processes on a shared machine only ever add time; the medians and
the baselines measured beside them show how loaded the machine was.

Every process runs with the bytecode cache on, as an installed package has it (pip compiles
it): an environment that sets ``PYTHONDONTWRITEBYTECODE`` would otherwise compile the
harness's modules from source on every start (``--no-bytecode`` measures that case).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_S = 0.25
ONE_LINE = (
    '{"type":"session.created","event_id":"event_1","session":{"id":"sess_1",'
    '"object":"realtime.session","model":"gpt-realtime"}}\n'
)


def cli_prefix() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("realtime-harness")
    if script.exists():
        return [str(script)]
    found = shutil.which("realtime-harness")
    return [found] if found else [sys.executable, "-m", "realtime_harness"]


PLAIN_TYPER = (
    "import typer\n"
    "app = typer.Typer(add_completion=False)\n"
    "@app.command()\n"
    "def main(json_output: bool = False) -> None:\n"
    "    pass\n"
    "app([], standalone_mode=False)\n"
)


def environment(bytecode: bool) -> dict[str, str]:
    """This process's environment, with or without Python's bytecode cache."""
    env = dict(os.environ)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def wall(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning ``argv`` to its exit (output discarded)."""
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env)
    return time.perf_counter() - start


def import_profile(cli_args: list[str], top: int, env: dict[str, str]) -> list[str]:
    """The ``top`` slowest imports (cumulative, then self time) running the CLI in-process."""
    code = (
        "import sys\n"
        "from realtime_harness.cli import main\n"
        f"sys.argv = ['realtime-harness', *{cli_args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
    )
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    rows: list[tuple[int, int, str]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cum_us, name = line[len("import time:") :].split("|")
        rows.append((int(cum_us), int(self_us), name.rstrip()))
    total = sum(s for _, s, _ in rows)
    lines = [f"  all imports: {total / 1000:6.1f} ms self time in {len(rows)} modules"]
    lines.append("  by cumulative time:")
    for cum, self_, name in sorted(rows, reverse=True)[:top]:
        lines.append(f"    {cum / 1000:7.1f} ms cum {self_ / 1000:6.1f} ms self  {name}")
    lines.append("  by self time:")
    for cum, self_, name in sorted(rows, key=lambda r: r[1], reverse=True)[:top]:
        lines.append(f"    {self_ / 1000:7.1f} ms self {cum / 1000:6.1f} ms cum  {name.strip()}")
    return lines


def main() -> int:
    """Measure, print the table, the ratios and import profiles; exit 1 if the goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (default 15)")
    parser.add_argument("--top", type=int, default=12, help="import-time rows to print")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="compile from source every run (no .pyc)"
    )
    args = parser.parse_args()
    env = environment(bytecode=not args.no_bytecode)
    cli = cli_prefix()
    with tempfile.TemporaryDirectory() as tmp:
        one_line = Path(tmp) / "one-line.jsonl"
        one_line.write_text(ONE_LINE, encoding="utf-8")
        cases: dict[str, list[str]] = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import typer'": [sys.executable, "-c", "import typer"],
            "floor: import typer, orjson": [sys.executable, "-c", "import typer, orjson"],
            "an empty plain typer command": [sys.executable, "-c", PLAIN_TYPER],
            "realtime-harness --help": [*cli, "--help"],
            "realtime-harness validate 1-line": [*cli, "validate", str(one_line)],
        }
        for argv in cases.values():  # warm the page cache and the bytecode caches
            wall(argv, env)
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, argv in cases.items():
                times[name].append(wall(argv, env))
        profiles = {
            "--help": import_profile(["--help"], args.top, env),
            "validate 1-line": import_profile(["validate", str(one_line)], args.top, env),
        }
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    cache = "off (compiled from source)" if args.no_bytecode else "on"
    print(f"{args.runs} runs each, alternating; CLI: {' '.join(cli)}; bytecode cache {cache}")
    print(f"load average before the profiles: {load}")
    med = {name: statistics.median(ts) for name, ts in times.items()}
    for name, ts in times.items():
        print(f"  {name:36} min {min(ts) * 1000:6.1f} ms  median {med[name] * 1000:6.1f} ms")
    best = {name: min(ts) for name, ts in times.items()}
    base, typer_base = best["python -c pass"], best["python -c 'import typer'"]
    med_base, med_typer = med["python -c pass"], med["python -c 'import typer'"]
    floor = best["floor: import typer, orjson"]
    print(
        f"floor (import typer, orjson): best {floor * 1000:.1f} ms, "
        f"{'under' if floor < GOAL_S else 'ABOVE'} the {GOAL_S:.2f} s goal; an empty plain typer "
        f"command: best {best['an empty plain typer command'] * 1000:.1f} ms"
    )
    ok = True
    for name in ("realtime-harness --help", "realtime-harness validate 1-line"):
        met = best[name] < GOAL_S
        ok &= met
        print(
            f"ratio {name:34} {best[name] / base:5.2f}x python  {best[name] / typer_base:5.2f}x "
            f"typer  {best[name] / floor:5.2f}x floor  (best runs; medians "
            f"{med[name] / med_base:5.2f}x / {med[name] / med_typer:5.2f}x)  "
            f"(goal best < {GOAL_S:.2f} s: {'met' if met else 'MISSED'})"
        )
    for label, lines in profiles.items():
        print(f"python -X importtime, {label}:")
        print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
