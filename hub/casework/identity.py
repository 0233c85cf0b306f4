"""How the hub tells records apart and together: identity numbers hashed for joining,
employers as keys, the keys that may reveal the same arrears, and duplicate complaints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.validators import id_hash


def hashed(id_number: str) -> str:
    """An identity number as joining keys hold it: hashed (personal data)."""
    return id_hash(id_number)


def employer_key(employer: Mapping[str, Any] | None) -> str | None:
    """An employer as a key: its credit code, or (an individual, 2013 interpretation Art. 7)
    its hashed identity number."""
    employer = employer or {}
    if employer.get("uscc"):
        return employer["uscc"]
    if employer.get("id_number"):
        return "p" + hashed(employer["id_number"])
    return None


def soft_keys(record: Mapping[str, Any]) -> list[str]:
    """Keys that may reveal the same arrears: for a clue, the complainant (hashed: personal
    data), the employer plus project (joined only when the periods overlap), and the project
    (or, with none, the employer) its early warnings are about; for an early warning, the
    employer of its project."""
    rtype = record.get("type")
    if rtype == "project":
        uscc = (record.get("contractor") or {}).get("uscc")
        return [f"employer:{uscc}"] if uscc else []
    if rtype != "clue":
        return []
    keys = []
    person = (record.get("complainant") or {}).get("id_number")
    if person:
        keys.append("person:" + hashed(person))
    employer = employer_key(record.get("employer"))
    if employer and record.get("project_code"):
        keys.append(f"employer-project:{employer}:{record['project_code']}")
    if record.get("project_code"):
        keys.append(f"project:{record['project_code']}")
    elif employer:
        keys.append(f"employer:{employer}")
    return keys


def duplicates(records: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Clues of one matter that report the same arrears, and why they were joined."""
    clues = [r for r in records if r["type"] == "clue"]
    out = []
    for i, later in enumerate(clues[1:], start=1):
        for first in clues[:i]:
            reason = duplicate_reason(first, later)
            if reason:
                out.append({"clue_no": later["clue_no"], "duplicate_of": first["clue_no"],
                            "channel": later.get("channel"), "reason": reason})
                break
    return out


def duplicate_reason(a: Mapping[str, Any], b: Mapping[str, Any]) -> str | None:
    ida = (a.get("complainant") or {}).get("id_number")
    idb = (b.get("complainant") or {}).get("id_number")
    if ida and ida == idb:
        return "same complainant identity number"
    ea, eb = employer_key(a.get("employer")), employer_key(b.get("employer"))
    if ea and ea == eb and a.get("project_code") and a.get("project_code") == b.get("project_code") \
            and periods_overlap(a, b):
        return "same employer and project, overlapping period"
    return None


def periods_overlap(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if not (a.get("period_from") and a.get("period_to") and b.get("period_from") and b.get("period_to")):
        return False
    return a["period_from"] <= b["period_to"] and b["period_from"] <= a["period_to"]
