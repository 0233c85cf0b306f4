"""Installed plugins as an admin sees them, and turning one on or off (audited; every
process reads the stored state again, so it takes effect without a restart)."""

from __future__ import annotations

from hub.contract.errors import ConfigError, HubError, NotFound


def plugin_view(h, name: str) -> dict:
    adapter = h.registry.adapters[name]
    info = adapter.info
    return {
        "name": name, "agency": info.code, "title": info.name, "version": info.version,
        "enabled": h.registry.is_enabled(info.code), "kinds_in": list(info.kinds_in),
        "kinds_out": list(info.kinds_out), "schema_version": info.schema_version,
        "health": "ok" if adapter.settings_error is None else f"settings invalid: {adapter.settings_error}",
        "settings": adapter.public_settings(),
    }


def plugin_views(h) -> list[dict]:
    """Every installed plugin, by name, as stored now (another process may have changed it)."""
    h.refresh_plugin_state()
    return [plugin_view(h, n) for n in sorted(h.registry.adapters)]


def set_enabled(h, name: str, enabled: bool, actor: str) -> dict:
    """Enable or disable plugin ``name`` (or the plugin of agency ``name``); its view. A
    plugin whose settings do not hold cannot be enabled: ``409``."""
    if name not in h.registry.adapters and h.registry.get(name) is None:
        raise NotFound(f"no plugin named {name}")
    try:
        h.set_plugin_enabled(name, enabled, actor=actor)
    except ConfigError as exc:
        raise HubError(str(exc), status=409) from exc
    adapter = h.registry.adapters.get(name) or h.registry.get(name)
    return plugin_view(h, adapter.name)
