"""Agencies and plugins: every installed plugin with its traffic; enable and disable with a
confirmation (admins). An agency user sees its own agency's row only, without settings."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from hub.contract.errors import ConfigError, NotFound
from hub.services.plugins import plugin_view
from hub.services.traffic import message_figures, queue_depths
from hub.web.console.access import actor, allow, hub
from hub.web.console.blueprint import bp

ACTIONS = {"enable": (True, "启用 Enable"), "disable": (False, "停用 Disable")}


@bp.get("/plugins")
@allow("admin", "agency")
def plugins():
    h = hub()
    h.refresh_plugin_state()
    names = sorted(h.registry.adapters)
    if g.principal.agency:
        names = [n for n in names if h.registry.adapters[n].code == g.principal.agency]
    rows = [plugin_view(h, n) for n in names]
    codes = [r["agency"] for r in rows]
    depths = queue_depths(h, codes)
    with h.store.sessions() as s:
        figures = message_figures(s, codes)
    for row in rows:
        row["queues"] = depths[row["agency"]]
        row["traffic"] = figures[row["agency"]]
        if g.principal.agency:
            row.pop("settings")  # settings are the admins' business
    return render_template("console/plugins.html", rows=rows)


@bp.route("/plugins/<name>/<action>", methods=("GET", "POST"))
@allow("admin")
def plugin_toggle(name: str, action: str):
    if action not in ACTIONS:
        abort(404)
    h = hub()
    adapter = h.registry.adapters.get(name) or h.registry.get(name)
    if adapter is None:
        raise NotFound(f"没有名为 {name} 的插件 no plugin named {name}")
    enabled, label = ACTIONS[action]
    if request.method == "GET":
        return render_template("console/plugin_confirm.html", plugin=plugin_view(h, adapter.name), action=action,
                               label=label, enabled=enabled)
    try:
        h.set_plugin_enabled(adapter.name, enabled, actor=actor())
    except ConfigError as exc:
        flash(f"{label}失败 failed: {exc.message}", "error")
    else:
        flash(f"插件 {adapter.name} 已{'启用 enabled' if enabled else '停用 disabled'}"
              + ("" if enabled else "；其入站队列保留消息 its inbound queue keeps its messages"), "ok")
    return redirect(url_for("console.plugins"))
