"""``realtime-harness samples``: list the bundled speech samples with their format and text."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import orjson
import typer

from realtime_harness.cli._app import SCHEMA_VERSION, app, one_line_errors
from realtime_harness.media.samples import list_samples

__all__ = ["samples"]


def _rows() -> list[dict[str, Any]]:
    rows = []
    for sample in list_samples():
        info = sample.info()
        rows.append(
            {
                "name": sample.name,
                "file": str(sample.path),
                "duration_s": round(info.duration_s, 3),
                "rate": info.rate,
                "channels": info.channels,
                "container": info.container,
                "subtype": info.subtype,
                "text": sample.text,
                "description": sample.description,
            }
        )
    return rows


@app.command()
def samples(
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object per sample instead of a table "
            "(schema: 'realtime-harness schema samples').",
        ),
    ] = False,
) -> None:
    """List the bundled speech samples: name, duration, rate, channels, file format and text.

    Use a sample's name wherever an audio file is accepted (for example --audio weather).
    """
    with one_line_errors():
        rows = _rows()
    if json_output:
        for row in rows:
            document = {"schema_version": SCHEMA_VERSION, **row}
            sys.stdout.write(orjson.dumps(document).decode() + "\n")
        return
    width = max(len(r["name"]) for r in rows) if rows else 4
    for r in rows:
        ch = {1: "mono", 2: "stereo"}.get(r["channels"], f"{r['channels']}ch")
        fmt = f"{r['rate']} Hz {ch} {r['container']} {r['subtype']}"
        print(f"{r['name']:<{width}}  {r['duration_s']:5.1f} s  {fmt:<30}  {r['text']}")
