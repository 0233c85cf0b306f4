"""Canonical schema versions: which plugin can run on which hub.

The canonical schemas carry one version, ``major.minor`` (``schemas.SCHEMA_VERSION``).
A minor version only adds (an optional field, a record type); a major version may
change or remove anything. A plugin declares what it needs in
``AgencyInfo.schema_version``: the major alone (``"1"``: any 1.x) or the lowest
major.minor it uses (``"1.1"``: 1.1 or later 1.x). It runs on a hub of the same major
whose minor is at least the one it needs.
"""

from __future__ import annotations

import re

from schemas import records

_VERSION_RE = re.compile(r"^(\d+)(?:\.(\d+))?$")


def parse_version(text: str) -> tuple[int, int | None]:
    """``"1"`` -> (1, None); ``"1.2"`` -> (1, 2). ValueError for anything else."""
    match = _VERSION_RE.match(str(text).strip())
    if not match:
        raise ValueError(f"schema version {text!r} is not MAJOR or MAJOR.MINOR")
    major, minor = match.groups()
    return int(major), None if minor is None else int(minor)


def hub_schema_version() -> str:
    """The version of the canonical schemas this process has (read at call time)."""
    return records.SCHEMA_VERSION


def version_problem(needed: str, available: str | None = None) -> str | None:
    """Why a plugin needing schema ``needed`` cannot run on schemas ``available``; None if it can."""
    available = available or hub_schema_version()
    try:
        want_major, want_minor = parse_version(needed)
    except ValueError as exc:
        return f"{exc} (declare it in AgencyInfo.schema_version, e.g. \"1\" or \"1.1\")"
    have_major, have_minor = parse_version(available)
    have_minor = have_minor or 0
    if want_major != have_major:
        return (f"needs canonical schema {needed} (major {want_major}), but this hub has canonical schema "
                f"{available} (major {have_major}): install a version of the plugin written for "
                f"schema {have_major}.x, or a hub with schema {want_major}.x")
    if want_minor is not None and want_minor > have_minor:
        return (f"needs canonical schema {needed} or later, but this hub has canonical schema {available}: "
                f"upgrade the hub (wage-arrears-hub) to one with schema {needed}")
    return None
