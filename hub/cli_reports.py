"""``wagehub bulletin`` and ``wagehub followups``: the daily reports on the command line.

Added to the ``wagehub`` group at the end of :mod:`hub.cli`; this module imports nothing
from it (``python -m hub.cli`` runs that module as ``__main__``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import unicodedata
from pathlib import Path

import click

from hub.errors import HubError


def _hub():
    from hub.runtime import Hub

    return Hub()


def _day(value: dt.datetime | None, settings) -> dt.date:
    from hub.bulletin import yesterday

    return value.date() if value is not None else yesterday(settings)


_DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.command()
@click.option("--date", "day", type=_DATE, help="The day, YYYY-MM-DD (Beijing time). Default: yesterday.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx"]), default="json", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="File to write ('-': standard output). Default: standard output for json and csv, "
                   "bulletin-<date>.xlsx for xlsx.")
def bulletin(day: dt.datetime | None, fmt: str, output: Path | None) -> None:
    """The daily bulletin (日通报) of one day, by district."""
    from hub import bulletin as bulletins

    try:
        hub = _hub()
    except HubError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    try:
        the_day = _day(day, hub.settings)
        with hub.store.sessions() as session:
            body = bulletins.WRITERS[fmt](bulletins.build_bulletin(session, the_day, hub.settings))
    finally:
        hub.store.dispose()
    if output is None and fmt == "xlsx":
        output = Path(f"bulletin-{the_day.isoformat()}.xlsx")
    if output is None or str(output) == "-":
        stream = click.get_binary_stream("stdout")
        stream.write(body)
        stream.flush()
        return
    output.write_bytes(body)
    click.echo(str(output), err=True)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(r, widths)).rstrip() for r in rows]


@click.command()
@click.option("--date", "day", type=_DATE, help="The day the matters closed, YYYY-MM-DD. Default: yesterday.")
@click.option("--show-personal-data", is_flag=True, help="Print complainants' names and mobiles unmasked.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def followups(day: dt.datetime | None, show_personal_data: bool, as_json: bool) -> None:
    """The follow-up sample (回头看) of the matters closed on one day."""
    from hub.followup import followup_sample, mask_contacts

    try:
        hub = _hub()
    except HubError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    try:
        the_day = _day(day, hub.settings)
        with hub.store.sessions() as session:
            items = followup_sample(session, the_day, hub.settings)
    finally:
        hub.store.dispose()
    if not show_personal_data:
        items = mask_contacts(items)
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    rows = [["matter", "district", "case", "clues", "closed", "employer", "complainant", "mobile"]]
    for i in items:
        person = i["complainant"] or {}
        rows.append([i["matter_id"], f"{i['region_code']} {i['region_name']}", i["case_no"] or "-",
                     ",".join(i["clue_nos"]) or "-", i["closed_on"], i["employer_name"] or "-",
                     person.get("name") or "-", person.get("mobile") or "-"])
    for line in _table(rows):
        click.echo(line)
    click.echo(f"{len(items)} matter(s) drawn for follow-up on {the_day.isoformat()}", err=True)
