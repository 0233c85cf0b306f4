"""Installed plugins, and enabling or disabling one (admins)."""

from __future__ import annotations

from flask import jsonify

from hub.services import plugins as plugins_
from hub.web.api.routing import api_route, hub, viewer


@api_route("/plugins", roles=("admin",), summary="Installed plugins: agency, version, enabled, health",
           response="PluginList")
def plugins():
    return jsonify({"items": plugins_.plugin_views(hub()), "next_cursor": None})


@api_route("/plugins/<name>/enable", methods=("POST",), roles=("admin",), summary="Enable a plugin now",
           response="Plugin", statuses=(200, 404, 409))
def plugin_enable(name: str):
    return jsonify(plugins_.set_enabled(hub(), name, True, viewer().actor))


@api_route("/plugins/<name>/disable", methods=("POST",), roles=("admin",),
           summary="Disable a plugin now; its inbound queue keeps filling", response="Plugin", statuses=(200, 404))
def plugin_disable(name: str):
    return jsonify(plugins_.set_enabled(hub(), name, False, viewer().actor))
