"""Field types of the canonical records: money, times with offset, months, identifiers."""

from __future__ import annotations

import datetime as dt
import decimal
import re

import marshmallow as ma

from schemas import validators as v
from schemas.messages import ruled

# ASCII digits only, matched whole (see validators: \d takes any Unicode digit, $ a trailing newline).
_MONEY_RE = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,2})?")
_MONEY_TOO_BIG_RE = re.compile(r"-?0*[1-9][0-9]{15,}(\.[0-9]{1,2})?")  # well formed, past the 15 digits of yuan
_MONTH_RE = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
TWO_PLACES = decimal.Decimal("0.01")


class Money(ma.fields.Field):
    """Yuan as a decimal string with two places (``"36000.00"``); floats are refused.

    Loads a string (``"800"``, ``"12345.6"``) or an integer number of yuan; dumps a
    string with exactly two places. Negative amounts are refused unless ``signed``.
    """

    default_error_messages = {
        "float": ruled("money must be a decimal string in yuan, not a float", "money-no-float"),
        "invalid": ruled("money must be a decimal string in yuan with at most two places", "money-format"),
        "negative": ruled("money must not be negative", "money-non-negative"),
        "range": ruled("money must be below 10^15 yuan (15 digits before the point)", "money-range"),
    }

    def __init__(self, *, signed: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.signed = signed

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, float):
            raise self.make_error("float")
        if isinstance(value, decimal.Decimal):
            value = format(value, "f")
        if isinstance(value, int):
            value = str(value)
        if not isinstance(value, str) or not _MONEY_RE.fullmatch(value.strip()):
            raise self.make_error("range" if isinstance(value, str) and _MONEY_TOO_BIG_RE.fullmatch(value.strip())
                                  else "invalid")
        amount = decimal.Decimal(value.strip()).quantize(TWO_PLACES)
        if amount < 0 and not self.signed:
            raise self.make_error("negative")
        # "-0" is zero: without this it would dump as "-0.00".
        return amount if amount else abs(amount)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return format(decimal.Decimal(value).quantize(TWO_PLACES), "f")


class OffsetDateTime(ma.fields.DateTime):
    """ISO 8601 date-time that must carry a UTC offset (``2023-05-22T09:10:00+08:00``)."""

    default_error_messages = {
        "naive": ruled("time must carry a UTC offset, e.g. +08:00", "time-with-offset"),
    }

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if result.tzinfo is None or result.utcoffset() is None:
            raise self.make_error("naive")
        return result


class Month(ma.fields.Field):
    """A month as ``YYYY-MM``."""

    default_error_messages = {"invalid": ruled("month must be YYYY-MM", "month-format")}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not _MONTH_RE.fullmatch(value):
            raise self.make_error("invalid")
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class _Checked(ma.fields.String):
    check = staticmethod(lambda value: value)
    rule = ""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            return self.check(value)
        except ValueError as exc:
            raise ma.ValidationError(ruled(str(exc), self.rule)) from None


class IdNumber(_Checked):
    """Resident identity number, check character verified; lower-case x read as X."""

    check = staticmethod(v.check_id_number)
    rule = "id-number-gb11643"


class Uscc(_Checked):
    """Unified social credit code, check character verified."""

    check = staticmethod(v.check_uscc)
    rule = "uscc-gb32100"


class Division(_Checked):
    """Administrative division code (GB/T 2260)."""

    check = staticmethod(v.check_division)
    rule = "division-gb2260"


class Mobile(_Checked):
    """Mainland mobile number."""

    check = staticmethod(v.check_mobile)
    rule = "mobile-11-digits"


class CourtCaseNumber(ma.fields.String):
    """A court case number; half-width parentheses are read as the full-width ones."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        return normalise_court_case_number(value)


def normalise_court_case_number(value: str) -> str:
    return value.strip().replace("(", "（").replace(")", "）").replace(" ", "")


BEIJING = dt.timezone(dt.timedelta(hours=8), name="Asia/Shanghai")
