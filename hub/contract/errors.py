"""One family of exceptions; the web layer turns each into the contract's JSON error."""

from __future__ import annotations

from typing import Any

from schemas.messages import ruled


class HubError(Exception):
    """Base of every error the hub raises on purpose."""

    code = "hub_error"
    status = 500

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if status is not None:
            self.status = status

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ConfigError(HubError):
    """Settings that cannot work: the hub refuses to start."""

    code = "config_error"


class SettingsError(ConfigError):
    """A plugin's settings are invalid (raised by ``parse_settings``)."""

    code = "plugin_settings_error"


class InvalidMessage(HubError):
    """A whole native message cannot be read; plugins raise it from ``parse_message``.

    ``field`` names the native or canonical field and ``rule`` the rule it broke, so
    an operator can fix the message and replay it. Never put personal data in them.
    """

    code = "invalid_message"
    status = 422

    def __init__(self, reason: str, *, field: str | None = None, rule: str | None = None,
                 kind: str | None = None, status: int | None = None):
        super().__init__(reason, details={"field": field, "rule": rule, "kind": kind}, status=status)
        self.reason = reason
        self.field = field
        self.rule = rule
        self.kind = kind

    @classmethod
    def of(cls, field: str | None, rule: str, what: str, kind: str | None = None) -> InvalidMessage:
        """The refusal that names the field and the rule, never a value: its reason reads
        ``"<field> <what> (rule: <rule>)"`` (``message`` when no one field is at fault),
        e.g. ``InvalidMessage.of("data.amountFen", "integer-fen", "must be an integer
        number of fen", "CLUE")``."""
        return cls(ruled(f"{field or 'message'} {what}", rule), field=field, rule=rule, kind=kind)


class Undeliverable(HubError):
    """A delivery that can never succeed (``deliver_rendered``): set aside, not retried."""

    code = "undeliverable"


class NotFound(HubError):
    code = "not_found"
    status = 404


class BadRequest(HubError):
    code = "bad_request"
    status = 400


class Unauthorized(HubError):
    code = "unauthorized"
    status = 401


class Forbidden(HubError):
    code = "forbidden"
    status = 403


class Conflict(HubError):
    code = "conflict"
    status = 409


class Unavailable(HubError):
    """A dependency (database, broker) is down: retry later, never dead-letter."""

    code = "unavailable"
    status = 503
