"""Building the plugin manager and the registry of agency adapters.

Plugins are found through the ``wagehub`` entry-point group (the built-in ones too),
so the core imports no plugin by name. Each plugin adapts one agency; its
per-message hooks are called on that plugin alone (``subset_hook_caller``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import marshmallow as ma
import pluggy

from hub.contract import hookspecs
from hub.contract.errors import ConfigError, SettingsError
from hub.contract.types import AgencyInfo, Delivery, NativeMessage, Rendered, Sample
from schemas.versions import version_problem

log = logging.getLogger(__name__)


class IncompatiblePlugin(SettingsError):
    """The plugin needs a canonical schema version this hub lacks: it stays disabled."""

    code = "plugin_incompatible"


def build_plugin_manager(extra_plugins: Iterable[object] = (), *, entry_points: bool = True) -> pluggy.PluginManager:
    """A fresh plugin manager: specs, entry-point plugins, then ``extra_plugins``."""
    pm = pluggy.PluginManager("wagehub")
    pm.add_hookspecs(hookspecs)
    if entry_points:
        pm.load_setuptools_entrypoints("wagehub")
    for plugin in extra_plugins:
        pm.register(plugin)
    pm.check_pending()  # a misspelled hook name fails here, at start-up
    return pm


@dataclass
class Adapter:
    """One installed plugin and the agency it adapts."""

    name: str
    plugin: object
    info: AgencyInfo
    pm: pluggy.PluginManager
    raw_settings: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)
    settings_error: str | None = None
    _callers: dict[str, Any] = field(default_factory=dict, repr=False)
    started: bool = False
    """``on_startup`` has run (and ``on_shutdown`` not since)."""
    _life: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def code(self) -> str:
        return self.info.code

    @property
    def key(self) -> str | None:
        return self.settings.get("key") or None

    def _hook(self, name: str):
        caller = self._callers.get(name)
        if caller is None:
            others = [p for p in self.pm.get_plugins() if p is not self.plugin]
            caller = self._callers[name] = self.pm.subset_hook_caller(name, remove_plugins=others)
        return caller

    def check_settings(self) -> None:
        """Check the plugin can run here: its schema version, its settings (the declarative
        schema, then the ``parse_settings`` hook)."""
        problem = version_problem(self.info.schema_version)
        if problem:
            self.settings_error = problem
            raise IncompatiblePlugin(problem)
        settings = dict(self.raw_settings)
        try:
            if self.info.settings_schema is not None:
                settings = self.info.settings_schema.load(settings)
            checked = self._hook("parse_settings")(settings=settings)
            if checked is not None:
                settings = checked
        except ma.ValidationError as exc:
            from schemas import flatten_errors

            problems = "; ".join(f"plugins.{self.name}.{p}: {m}" for p, m in flatten_errors(exc.messages))
            self.settings_error = problems
            raise SettingsError(problems) from exc
        except SettingsError as exc:
            self.settings_error = str(exc)
            raise
        self.settings = settings
        self.settings_error = None

    def parse(self, message: NativeMessage):
        self.ensure_started()
        return self._hook("parse_message")(message=message, settings=self.settings)

    def key_for(self, message: NativeMessage) -> str | None:
        """The key the message must be signed with (per sender, or the plugin's ``key``)."""
        self.ensure_started()
        return self._hook("key_from_message")(message=message, settings=self.settings) or self.key

    def sender_of(self, message: NativeMessage) -> str | None:
        """The sender named by the message, for an agency with several (upper case); else None."""
        header = self.info.sender_header
        value = str(message.headers.get(header) or "").strip().upper() if header else ""
        return value or None

    @property
    def delivers_directly(self) -> bool:
        """True when the plugin delivers itself (``deliver_rendered``) instead of a queue."""
        return any(impl.plugin is self.plugin for impl in self.pm.hook.deliver_rendered.get_hookimpls())

    def deliver(self, delivery: Delivery, rendered: Rendered, headers: dict[str, Any]) -> bool:
        self.ensure_started()
        return bool(self._hook("deliver_rendered")(delivery=delivery, rendered=rendered, headers=headers,
                                                   settings=self.settings))

    def render(self, delivery: Delivery) -> Rendered:
        self.ensure_started()
        rendered = self._hook("render_record")(delivery=delivery, settings=self.settings)
        if rendered is None:
            raise RuntimeError(f"plugin {self.name} rendered nothing for kind {delivery.kind}")
        return rendered

    def samples(self) -> list[Sample]:
        out: list[Sample] = []
        for batch in self._hook("register_samples")():
            out.extend(batch or ())
        return out

    # The lifecycle: whatever calls the adapter's message hooks (the API's inbound route, a
    # worker, the relay, the CLI) finds ``on_startup`` run first, in that process; the
    # registry runs ``on_shutdown`` when the plugin is disabled and when the hub stops.

    def ensure_started(self) -> None:
        """Run ``on_startup`` with the checked settings, once until :meth:`shutdown`."""
        if self.started:
            return
        with self._life:
            if not self.started:
                self._hook("on_startup")(settings=self.settings)
                self.started = True

    def shutdown(self) -> None:
        """Run ``on_shutdown`` if ``on_startup`` ran; the next use starts the adapter again."""
        with self._life:
            if self.started:
                self.started = False
                self._hook("on_shutdown")()

    def public_settings(self) -> dict[str, Any]:
        """Settings with secrets hidden (at any depth), for admin pages."""
        secret = set(self.info.secret_settings)

        def hide(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: ("***" if k in secret and v else hide(v)) for k, v in value.items()}
            return value

        return hide(self.settings)


class Registry:
    """Every installed adapter, by plugin name and by agency code, with enabled state."""

    def __init__(self, pm: pluggy.PluginManager, plugin_settings: Mapping[str, Mapping[str, Any]]):
        self.pm = pm
        self.adapters: dict[str, Adapter] = {}
        self._enabled: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._live = False  # start() called: adapters start as they are enabled
        for impl in pm.hook.register_agency.get_hookimpls():
            name = pm.get_name(impl.plugin) or impl.plugin_name
            info = impl.function()
            if not isinstance(info, AgencyInfo):
                raise ConfigError(f"plugin {name}: register_agency must return hub.AgencyInfo")
            raw = dict(plugin_settings.get(name, {}) or plugin_settings.get(info.code, {}) or {})
            raw.pop("enabled", None)
            adapter = Adapter(name=name, plugin=impl.plugin, info=info, pm=pm, raw_settings=raw)
            if info.code in self.by_code:
                raise ConfigError(f"plugins {self.by_code[info.code].name} and {name} both adapt agency {info.code}")
            try:
                adapter.check_settings()
            except SettingsError as exc:
                log.error("plugin %s refused: %s", name, exc)
            self.adapters[name] = adapter
            self._enabled[name] = adapter.settings_error is None

    @property
    def by_code(self) -> dict[str, Adapter]:
        return {a.info.code: a for a in self.adapters.values()}

    def get(self, code: str) -> Adapter | None:
        """The adapter of an agency code (or plugin name)."""
        for adapter in self.adapters.values():
            if adapter.info.code == code:
                return adapter
        return self.adapters.get(code)

    def codes(self) -> list[str]:
        return sorted(a.info.code for a in self.adapters.values())

    def is_enabled(self, code: str) -> bool:
        adapter = self.get(code)
        return bool(adapter) and self._enabled.get(adapter.name, False) and adapter.settings_error is None

    def enabled_codes(self) -> list[str]:
        return sorted(a.info.code for a in self.adapters.values() if self.is_enabled(a.info.code))

    def apply_state(self, state: Mapping[str, bool]) -> bool:
        """Take enabled flags stored by admins; True when anything changed. A plugin
        disabled is shut down; one enabled is started (in a started registry, else at its
        first use)."""
        changed: list[Adapter] = []
        with self._lock:
            for name, adapter in self.adapters.items():
                want = state.get(name, True) and adapter.settings_error is None
                if self._enabled.get(name) != want:
                    self._enabled[name] = want
                    changed.append(adapter)
        for adapter in changed:
            if not self._enabled[adapter.name]:
                self._stop(adapter)
            elif self._live:
                adapter.ensure_started()
        return bool(changed)

    def start(self) -> None:
        """Start every enabled adapter now (a worker process, before it consumes), and each
        one enabled later as it is enabled."""
        self._live = True
        for adapter in self.adapters.values():
            if self.is_enabled(adapter.code):
                adapter.ensure_started()

    def stop(self) -> None:
        """Shut down every adapter started in this process."""
        self._live = False
        for adapter in self.adapters.values():
            self._stop(adapter)

    @staticmethod
    def _stop(adapter: Adapter) -> None:
        try:
            adapter.shutdown()
        except Exception:  # noqa: BLE001  (one plugin must not keep others from stopping)
            log.exception("plugin %s failed to shut down", adapter.name)
