"""Settings: the packaged defaults (``hub/defaults/default.toml``), then the file named by
``WAGEHUB_CONFIG``, then ``WAGEHUB_*`` environment variables, then what the caller passes
(tests). A relative ``hub.routes_file`` is read beside the file that names it (the
packaged defaults name the packaged ``routes.toml``), or from the working directory when
an environment variable or the caller names it.

The result is validated once, at start-up, and the hub refuses to start with a message
naming the setting that is wrong.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import marshmallow as ma

from hub.contract.errors import ConfigError
from hub.keys import check_secret

# default.toml, routes.toml and demo.toml, shipped inside the package (package data).
DEFAULTS = resources.files("hub.defaults")
ENV_PREFIX = "WAGEHUB_"
# Top-level environment names kept short for the settings everyone sets.
_SHORT_ENV = {
    "BROKER_URL": ("hub", "broker_url"),
    "DATABASE_URL": ("hub", "database_url"),
    "VAR_DIR": ("hub", "var_dir"),
    "SECRET_KEY": ("hub", "secret_key"),
    "MODE": ("hub", "mode"),
    "ROUTES_FILE": ("hub", "routes_file"),
}


def _merge(base: dict, override: Mapping) -> dict:
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _env_value(raw: str) -> Any:
    """Read an environment value as a TOML literal when it is one (42, true, [..])."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _from_env(environ: Mapping[str, str]) -> dict:
    out: dict = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == "WAGEHUB_CONFIG" or name.startswith("WAGEHUB_TEST_"):
            continue
        rest = name[len(ENV_PREFIX):]
        if rest in _SHORT_ENV:
            path = _SHORT_ENV[rest]
            value: Any = raw
        elif "__" in rest:
            path = tuple(p.lower() for p in rest.split("__"))
            value = _env_value(raw)
        else:
            continue
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return out


class _Section(ma.Schema):
    class Meta:
        # Settings files are written by people: an unknown key is a typo to report.
        unknown = ma.RAISE


class HubSection(_Section):
    mode = ma.fields.String(required=True, validate=ma.validate.OneOf(["development", "production"]))
    var_dir = ma.fields.String(required=True)
    broker_url = ma.fields.String(required=True)
    database_url = ma.fields.String(required=True)
    secret_key = ma.fields.String(required=True)
    routes_file = ma.fields.String(required=True)
    timezone = ma.fields.String(required=True)


class AuditSection(_Section):
    key_file = ma.fields.String(required=True)
    heads_file = ma.fields.String(required=True)
    checkpoint_every = ma.fields.Float(required=True, validate=ma.validate.Range(1, 60))


class BrokerSection(_Section):
    prefetch = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 10000))
    heartbeat = ma.fields.Integer(required=True, validate=ma.validate.Range(0, 600))
    delivery_limit = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 1000))
    confirm_timeout = ma.fields.Float(required=True, validate=ma.validate.Range(0.1, 600))


class PipelineSection(_Section):
    batch_size = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 5000))
    batch_wait_ms = ma.fields.Integer(required=True, validate=ma.validate.Range(0, 10000))
    plugin_attempts = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 20))


class RelaySection(_Section):
    batch_size = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 5000))
    poll_interval = ma.fields.Float(required=True, validate=ma.validate.Range(0.001, 60))
    claim_seconds = ma.fields.Float(required=True, validate=ma.validate.Range(1, 3600))
    backoff_start = ma.fields.Float(required=True, validate=ma.validate.Range(0, 3600))
    backoff_max = ma.fields.Float(required=True, validate=ma.validate.Range(0, 86400))
    direct_concurrency = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 256))


class ApiSection(_Section):
    max_body = ma.fields.Integer(required=True, validate=ma.validate.Range(1024, 1 << 31))
    page_size = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 500))
    page_max = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 500))


class AuthSection(_Section):
    session_hours = ma.fields.Float(required=True, validate=ma.validate.Range(0.01, 24 * 30))
    max_failures = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 100000))
    failure_window = ma.fields.Float(required=True, validate=ma.validate.Range(1, 86400))
    report_seconds = ma.fields.Float(required=True, validate=ma.validate.Range(0, 86400))
    password_min_length = ma.fields.Integer(required=True, validate=ma.validate.Range(8, 1024))


class BulletinSection(_Section):
    time = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))
    subscribers = ma.fields.List(ma.fields.String(), required=True)
    kind = ma.fields.String(required=True)
    kinds = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), load_default=dict)
    notice_kind = ma.fields.String(required=True)


class FollowupSection(_Section):
    share = ma.fields.Float(required=True, validate=ma.validate.Range(0, 1))
    seed = ma.fields.String(required=True)
    reopen_recipients = ma.fields.List(ma.fields.String(), load_default=lambda: ["hrss"])
    reopen_kind = ma.fields.String(load_default="NOTICE")


def _legal_hold(years: float) -> None:
    if years != 0 and not 10 <= years <= 100:
        raise ma.ValidationError("must be 0 (for ever) or 10-100 years (Criminal Law Art. 87)")


class RetentionSection(_Section):
    delivered_outbox_days = ma.fields.Float(required=True, validate=ma.validate.Range(0, 36600))
    replayed_dead_letter_days = ma.fields.Float(required=True, validate=ma.validate.Range(0, 36600))
    open_dead_letter_days = ma.fields.Float(required=True, validate=ma.validate.Range(0, 36600))
    # Criminal Law Art. 87: an Art. 276-1 offence is pursued for 10 years (0: for ever).
    legal_hold_years = ma.fields.Float(required=True, validate=_legal_hold)
    legal_hold_types = ma.fields.List(ma.fields.String(), required=True)
    legal_hold_kinds = ma.fields.List(ma.fields.String(validate=ma.validate.Regexp(
        r"^[a-z0-9_-]+:\S+$", error="must be agency:KIND")), required=True)
    daily_at = ma.fields.String(required=True, validate=ma.validate.Regexp(
        r"^(([01][0-9]|2[0-3]):[0-5][0-9])?$", error="must be HH:MM or empty"))


class LimitSchema(_Section):
    off = ma.fields.Boolean(load_default=False)
    same_day = ma.fields.Boolean(load_default=False)
    hours = ma.fields.Float(load_default=None, validate=ma.validate.Range(0, 24 * 366))
    days = ma.fields.Integer(load_default=None, validate=ma.validate.Range(0, 3660))
    working_days = ma.fields.Integer(load_default=None, validate=ma.validate.Range(0, 3660))

    @ma.validates_schema
    def _one(self, data, **kwargs):
        given = [k for k in ("hours", "days", "working_days") if data.get(k) is not None] + \
            (["same_day"] if data.get("same_day") else [])
        if data.get("off") and not given:
            return
        if len(given) != 1:
            raise ma.ValidationError("give exactly one of same_day, hours, days, working_days (or off = true)")


class ThresholdSchema(_Section):
    individual = ma.fields.Decimal(required=True, as_string=True,
                                   validate=ma.validate.Range(5000, 20000, error="must be within 5,000-20,000 yuan"))
    individual_months = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 120))
    collective = ma.fields.Decimal(required=True, as_string=True,
                                   validate=ma.validate.Range(30000, 100000, error="must be within 30,000-100,000 yuan"))
    collective_workers = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 100000))
    required_evidence = ma.fields.List(ma.fields.String(), required=True)
    company_only_evidence = ma.fields.List(ma.fields.String(), load_default=lambda: ["E03"])
    evasion_evidence = ma.fields.String(required=True)
    evasion_words = ma.fields.List(ma.fields.String(), required=True)


def _division(value: str) -> None:
    from schemas.validators import check_division

    try:
        check_division(value)
    except ValueError as exc:
        raise ma.ValidationError(str(exc)) from None


class SupervisionGroupSchema(_Section):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    districts = ma.fields.List(ma.fields.String(validate=_division), required=True,
                               validate=ma.validate.Length(min=1))


class LinkageSection(_Section):
    province = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[0-9]{2}0000$"))
    escalation_grace_hours = ma.fields.Float(required=True, validate=ma.validate.Range(0, 24 * 365))
    check_every = ma.fields.Float(required=True, validate=ma.validate.Range(0.05, 86400))
    escalation_kinds = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)
    supervision_recipients = ma.fields.List(ma.fields.String(), required=True)
    supervision_only = ma.fields.List(ma.fields.String(), load_default=list)
    supervision_groups = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,79}$")),
                                        values=ma.fields.Nested(SupervisionGroupSchema), load_default=dict)
    reconciliation_tolerance = ma.fields.Decimal(required=True, as_string=True)
    thresholds = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(ThresholdSchema), required=True)
    release_when_complete = ma.fields.Boolean(required=True)
    payment_moots_criminal_steps = ma.fields.Boolean(required=True)

    @ma.validates_schema
    def _one_group_per_district(self, data, **kwargs):
        seen: dict[str, str] = {}
        for key, group in (data.get("supervision_groups") or {}).items():
            for code in group["districts"]:
                if code in seen:
                    raise ma.ValidationError({"supervision_groups": [
                        f"{code} is in both {seen[code]} and {key}: a division belongs to one group"]})
                seen[code] = key

    @ma.validates_schema
    def _province_has_thresholds(self, data, **kwargs):
        if data["province"] not in data["thresholds"]:
            raise ma.ValidationError({"thresholds": [f"no thresholds for province {data['province']}"]})


def _risk_rules(rules: Mapping) -> None:
    from hub.casework.risks import RULES

    unknown = sorted(set(rules) - set(RULES))
    if unknown:
        raise ma.ValidationError(f"unknown rule {', '.join(unknown)} (known: {', '.join(RULES)})")


class RisksSection(_Section):
    enabled = ma.fields.Boolean(required=True)
    rules = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Boolean(), required=True, validate=_risk_rules)
    pay_day = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 31))
    pay_day_source = ma.fields.String(required=True)
    pay_days = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.Regexp(r"^[0-9]{2}0000$")),
                              values=ma.fields.Integer(validate=ma.validate.Range(1, 31)), required=True)
    payout_retry_days = ma.fields.Integer(required=True, validate=ma.validate.Range(0, 366))
    deposit_topup_days = ma.fields.Integer(required=True, validate=ma.validate.Range(0, 366))
    below_contract_share = ma.fields.Float(required=True, validate=ma.validate.Range(0, 1))
    monthly_pay_days = ma.fields.Float(required=True, validate=ma.validate.Range(1, 31))


class ListingSection(_Section):
    # The grounds on which the hub proposes an employer for the dishonest-employer list
    # (hub/casework/listing.py GROUNDS), the agency it proposes to ("" proposes nothing), and the
    # term it tells that agency (人社部令第45号: three years).
    grounds = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(
        ("order_unpaid", "transfer_opened", "criminal_judgment"), error="must be one of: {choices}")), required=True)
    propose_to = ma.fields.String(required=True)
    term_years = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 10))


class SettingsSchema(_Section):
    hub = ma.fields.Nested(HubSection, required=True)
    audit = ma.fields.Nested(AuditSection, required=True)
    broker = ma.fields.Nested(BrokerSection, required=True)
    pipeline = ma.fields.Nested(PipelineSection, required=True)
    relay = ma.fields.Nested(RelaySection, required=True)
    api = ma.fields.Nested(ApiSection, required=True)
    auth = ma.fields.Nested(AuthSection, required=True)
    bulletin = ma.fields.Nested(BulletinSection, required=True)
    followup = ma.fields.Nested(FollowupSection, required=True)
    retention = ma.fields.Nested(RetentionSection, required=True)
    linkage = ma.fields.Nested(LinkageSection, required=True)
    risks = ma.fields.Nested(RisksSection, required=True)
    listing = ma.fields.Nested(ListingSection, required=True)
    deadlines = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(LimitSchema), required=True)

    @ma.validates_schema
    def _every_step_has_a_limit(self, data, **kwargs):
        from hub.casework.deadlines import EXPLICIT_DUE, RULES

        missing = sorted(set(RULES) - EXPLICIT_DUE - set(data.get("deadlines") or {}))
        if missing:
            raise ma.ValidationError({"deadlines": [f"no limit for {', '.join(missing)} (give one, or off = true)"]})
    plugins = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict(), load_default=dict)
    testing = ma.fields.Boolean(load_default=False)


_SETTINGS_SCHEMA = SettingsSchema()


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Defaults, then ``WAGEHUB_CONFIG``, then ``WAGEHUB_*`` env, then ``overrides``."""
    environ = os.environ if environ is None else environ
    data = _beside(tomllib.loads((DEFAULTS / "default.toml").read_text(encoding="utf-8")), DEFAULTS)
    extra_file = environ.get("WAGEHUB_CONFIG")
    if extra_file:
        try:
            with open(extra_file, "rb") as fh:
                _merge(data, _beside(tomllib.load(fh), Path(extra_file).resolve().parent))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"WAGEHUB_CONFIG={extra_file}: cannot read it ({exc})") from exc
    _merge(data, _from_env(environ))
    if overrides:
        _merge(data, overrides)
    try:
        settings = _SETTINGS_SCHEMA.load(data)
    except ma.ValidationError as exc:
        from schemas import flatten_errors

        problems = "; ".join(f"{path}{_set_by(path, environ)}: {msg}" for path, msg in flatten_errors(exc.messages))
        raise ConfigError(f"invalid settings: {problems}") from exc
    hub = settings["hub"]
    var_dir = Path(hub["var_dir"])
    if not hub["broker_url"]:
        # embedded:///rel/path or embedded:////abs/path, as SQLAlchemy spells sqlite URLs
        hub["broker_url"] = f"embedded:///{var_dir / 'broker.sqlite3'}"
    if not hub["database_url"]:
        hub["database_url"] = f"sqlite:///{var_dir / 'wagehub.sqlite3'}"
    check_secret(hub["mode"], hub["secret_key"])
    return settings


def _set_by(path: str, environ: Mapping[str, str]) -> str:
    """`` (WAGEHUB_X__Y)`` when an environment variable set the setting at ``path``."""
    parts = tuple(path.split("."))
    names = [name for name, short in _SHORT_ENV.items() if short == parts] + ["__".join(parts).upper()]
    given = [ENV_PREFIX + name for name in names if ENV_PREFIX + name in environ]
    return f" ({given[0]})" if given else ""


def _beside(layer: dict, folder) -> dict:
    """A settings file's relative ``hub.routes_file`` made a path beside that file."""
    routes_file = (layer.get("hub") or {}).get("routes_file")
    if isinstance(routes_file, str) and routes_file and not Path(routes_file).is_absolute():
        layer["hub"]["routes_file"] = str(folder / routes_file)
    return layer


def routes_path(settings: Mapping[str, Any]) -> Path:
    """The routing table's file: absolute, or relative to the working directory."""
    return Path(settings["hub"]["routes_file"])
