"""``wagehub bulletin`` and ``wagehub followups``: the daily reports on the command line.

Added to the ``wagehub`` group at the end of :mod:`hub.cli.main`; this module imports nothing
from it (``python -m hub.cli.main`` runs that module as ``__main__``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import unicodedata
from pathlib import Path

import click

from hub.cli.common import fail, open_hub
from hub.contract.errors import HubError


def _day(value: dt.datetime | None, settings) -> dt.date:
    from hub.casework.bulletin import yesterday

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
    from hub.casework import bulletin as bulletins

    try:
        hub = open_hub()
    except HubError as exc:
        fail(exc)
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


@click.group(invoke_without_command=True)
@click.option("--date", "day", type=_DATE, help="The day the matters closed, YYYY-MM-DD. Default: yesterday.")
@click.option("--show-personal-data", is_flag=True, help="Print complainants' names and mobiles unmasked.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def followups(ctx: click.Context, day: dt.datetime | None, show_personal_data: bool, as_json: bool) -> None:
    """The follow-up sample (回头看) of the matters closed on one day, with each call's result.

    `wagehub followups record MATTER ...` records a sampled matter's call."""
    if ctx.invoked_subcommand is not None:
        return
    from hub.casework.followup import followup_sample, mask_contacts, result_view, results_of

    try:
        hub = open_hub()
    except HubError as exc:
        fail(exc)
    try:
        the_day = _day(day, hub.settings)
        with hub.store.sessions() as session:
            items = followup_sample(session, the_day, hub.settings)
            results = results_of(session, the_day)
            for item in items:
                row = results.get(item["matter_id"])
                item["result"] = result_view(row) if row is not None else None
    finally:
        hub.store.dispose()
    if not show_personal_data:
        items = mask_contacts(items)
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    rows = [["matter", "district", "case", "clues", "closed", "employer", "complainant", "mobile", "call"]]
    for i in items:
        person = i["complainant"] or {}
        rows.append([i["matter_id"], f"{i['region_code']} {i['region_name']}", i["case_no"] or "-",
                     ",".join(i["clue_nos"]) or "-", i["closed_on"], i["employer_name"] or "-",
                     person.get("name") or "-", person.get("mobile") or "-", _call(i["result"])])
    for line in _table(rows):
        click.echo(line)
    click.echo(f"{len(items)} matter(s) drawn for follow-up on {the_day.isoformat()}", err=True)


def _call(result: dict | None) -> str:
    """A recorded call in a few characters: reached, then each answer yes/no/unknown."""
    if result is None:
        return "-"
    if not result["reached"]:
        return "not reached"
    marks = {True: "yes", False: "no", None: "?"}
    return " ".join(f"{name}={marks[result[key]]}" for key, name in (
        ("resolved", "resolved"), ("paid_full", "paid"), ("lawful", "lawful"), ("satisfied", "satisfied"))) + \
        (" REOPENED" if result["reopens"] else "")


_ANSWER = click.Choice(["yes", "no", "unknown"])


@followups.command("record")
@click.argument("matter_id")
@click.option("--reached/--not-reached", required=True, help="Whether the complainant was reached.")
@click.option("--resolved", type=_ANSWER, default="unknown", show_default=True, help="Resolved, as the caller says.")
@click.option("--paid", type=_ANSWER, default="unknown", show_default=True,
              help="Wages paid in full, as the caller says ('no' reopens the matter).")
@click.option("--lawful", type=_ANSWER, default="unknown", show_default=True, help="The procedure was lawful.")
@click.option("--satisfied", type=_ANSWER, default="unknown", show_default=True, help="The caller is satisfied.")
@click.option("--remark", help="What the caller said, in a line.")
@click.option("--called-at", help="When the call was made, ISO 8601 with offset. Default: now.")
@click.option("--by", "actor", required=True, help="Who made the call (recorded in the audit log).")
def record(matter_id: str, reached: bool, resolved: str, paid: str, lawful: str, satisfied: str, remark: str | None,
           called_at: str | None, actor: str) -> None:
    """Record the follow-up call (回头看) of a sampled matter; not resolved or not paid reopens it."""
    from hub.casework.followup import load_result, record_result

    answer = {"yes": True, "no": False, "unknown": None}
    payload = {"reached": reached, "remark": remark, "called_at": called_at}
    if reached:
        payload.update(resolved=answer[resolved], paid_full=answer[paid], lawful=answer[lawful],
                       satisfied=answer[satisfied])
    try:
        hub = open_hub()
    except HubError as exc:
        fail(exc)
    try:
        view = record_result(hub, matter_id, load_result(payload), f"linkage:{actor}")
    except HubError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        hub.store.dispose()
    click.echo(json.dumps(view, ensure_ascii=False, indent=2))
    if view["reopens"]:
        click.echo(f"matter {view['matter_id']} reopened; labour inspection is told", err=True)
