"""Validators for the identifiers the law defines (see docs/formats/README.md).

Each ``check_*`` returns the normalised value or raises ``ValueError`` whose message
names the rule broken. None of them ever puts the checked value in its message:
identity numbers and mobiles are personal data.
"""

from __future__ import annotations

import re

import marshmallow as ma

from schemas.divisions import DIVISIONS, PROVINCES

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# [0-9], not \d: \d also matches full-width and other Unicode digits, which would be
# stored as they came. fullmatch, not ^...$: $ also matches before a trailing newline.
_ID_RE = re.compile(r"[0-9]{17}[0-9X]")

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_MOBILE_RE = re.compile(r"1[0-9]{10}")
_DIVISION_RE = re.compile(r"[0-9]{6}")


def id_check_char(first17: str) -> str:
    """GB 11643 check character (ISO 7064 MOD 11-2) of the first 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def check_id_number(value: str) -> str:
    """A resident identity number (GB 11643): 18 characters, valid check character."""
    if not isinstance(value, str):
        raise ValueError("identity number must be a string of 18 characters")
    v = value.strip().upper()
    if not _ID_RE.fullmatch(v):
        raise ValueError("identity number must be 17 digits and a check character (digit or X)")
    if id_check_char(v[:17]) != v[17]:
        raise ValueError("identity number check character is wrong (GB 11643 MOD 11-2)")
    return v


def id_hash(id_number: str) -> str:
    """An identity number as the hub joins on it: SHA-256, 40 hex characters (personal data
    stays out of keys and of records that need only to match a worker)."""
    import hashlib

    return hashlib.sha256(id_number.encode()).hexdigest()[:40]


def uscc_check_char(first17: str) -> str:
    """GB 32100-2015 check character of the first 17 characters."""
    total = sum(_USCC_VALUES[c] * w for c, w in zip(first17, _USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(value: str) -> str:
    """A unified social credit code (GB 32100-2015): 18 characters, valid check character."""
    if not isinstance(value, str):
        raise ValueError("credit code must be a string of 18 characters")
    v = value.strip().upper()
    if len(v) != 18 or any(c not in _USCC_VALUES for c in v):
        raise ValueError("credit code must be 18 characters from 0-9 and A-Y without I, O, S, V, Z")
    if uscc_check_char(v[:17]) != v[17]:
        raise ValueError("credit code check character is wrong (GB 32100-2015)")
    return v


def check_division(value: str) -> str:
    """An administrative division code (GB/T 2260).

    Shandong (37xxxx) codes must be in the built-in table; elsewhere the province
    part must exist (the table does not hold every county of China).
    """
    if not isinstance(value, str) or not _DIVISION_RE.fullmatch(value.strip()):
        raise ValueError("division code must be 6 digits (GB/T 2260)")
    v = value.strip()
    if v[:2] + "0000" not in PROVINCES:
        raise ValueError("division code names no province (GB/T 2260)")
    if v.startswith("37") and v not in DIVISIONS:
        raise ValueError("division code is not a Shandong city or district (GB/T 2260)")
    return v


def check_mobile(value: str) -> str:
    """A mainland mobile number: 11 digits beginning with 1."""
    if not isinstance(value, str):
        raise ValueError("mobile must be a string of 11 digits")
    v = value.strip()
    if not _MOBILE_RE.fullmatch(v):
        raise ValueError("mobile must be 11 digits beginning with 1")
    return v


def mask_mobile(value: str | None) -> str | None:
    """``13812340000`` -> ``138****0000``; anything not shaped like a mobile -> ``****``."""
    if not value:
        return value
    return value[:3] + "****" + value[-4:] if _MOBILE_RE.fullmatch(value) else "****"


def mask_name(value: str | None) -> str | None:
    """A person's name for those who may not see it: ``王春生`` -> ``王*生``, ``李娜`` -> ``李*``
    (the first and, from three characters on, the last character kept)."""
    if not value:
        return value
    if len(value) < 3:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_id_number(value: str | None) -> str | None:
    """Keep the division and the check character: ``370103********234X``."""
    if not value:
        return value
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "****"


class _Check(ma.validate.Validator):
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, value):
        try:
            self.fn(value)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None
        return value


IdNumber = _Check(check_id_number)
Uscc = _Check(check_uscc)
Division = _Check(check_division)
Mobile = _Check(check_mobile)
