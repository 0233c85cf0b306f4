"""The ``wagehub`` command line."""

from __future__ import annotations

import base64
import json
import logging
import shutil
import sys
import time
from pathlib import Path

import click

from hub import __version__
from hub.contract.errors import HubError

log = logging.getLogger("hub.cli.main")


def _hub(migrate: bool = True):
    from hub.runtime import Hub

    return Hub(migrate=migrate)


class _Main(click.Group):
    """Settings the hub cannot start with end any command with one line naming the setting
    and exit code 2, as click's own usage errors do, not a traceback."""

    def invoke(self, ctx: click.Context):
        from hub.contract.errors import ConfigError

        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wagehub", message="%(prog)s %(version)s")
@click.option("--log-level", default="INFO", show_default=True, envvar="WAGEHUB_LOG_LEVEL",
              help="DEBUG, INFO, WARNING or ERROR.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              envvar="WAGEHUB_LOG_FORMAT", help="json: one JSON object a line (identity numbers and mobiles masked).")
@click.option("-v", "--verbose", count=True,
              help="-v: the libraries' INFO lines too (alembic's migrations, kombu); -vv: DEBUG everywhere.")
def main(log_level: str, log_format: str, verbose: int) -> None:
    """wage-arrears-hub: one report of unpaid wages reaches every agency that can help.

    Settings come from the packaged defaults, a file named by WAGEHUB_CONFIG (`wagehub config
    init DIR` writes one), and WAGEHUB_* environment variables (WAGEHUB_BROKER_URL,
    WAGEHUB_DATABASE_URL, ...). With nothing set the hub uses an embedded broker and SQLite
    under ./var/.
    """
    from hub.logs import setup_logging

    setup_logging("DEBUG" if verbose > 1 else log_level, log_format,
                  libraries={0: "WARNING", 1: "INFO"}.get(verbose, "DEBUG"))


def _fail(exc: Exception) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-workers", is_flag=True, help="Serve the API only.")
def run(host: str, port: int, no_workers: bool) -> None:
    """Run the API server and the workers (consumer and outbox relay) in one process."""
    from werkzeug.serving import WSGIRequestHandler, run_simple

    class QueueHeaders(WSGIRequestHandler):
        """Over HTTP an agency sends the queue's headers (``message_id``, ``content_type``,
        ``content_encoding``): keep header names with an underscore, which Werkzeug drops.
        A dashed header of the same name (``Message-Id``) wins."""

        def send_error(self, code, message=None, explain=None):
            """A request Werkzeug refuses before the app sees it (a bad request line, a URL
            or headers too long) is answered in the API's JSON error shape, not an HTML page;
            the message is the status's own phrase (the request line may hold personal data)."""
            phrase = self.responses.get(code, ("error", ""))[0]
            body = json.dumps({"error": {"code": phrase.lower().replace(" ", "_").replace("-", "_"),
                                         "message": phrase, "details": {}}}).encode()
            self.log_error("code %d, message %s", code, phrase)
            self.send_response(code, phrase)
            self.send_header("Connection", "close")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(body)

        def send_header(self, keyword, value):
            """No ``Server: Werkzeug/… Python/…`` header: it tells a prober which versions to attack."""
            if keyword.lower() != "server":
                super().send_header(keyword, value)

        def make_environ(self):
            environ = super().make_environ()
            for key, value in self.headers.items():
                name = key.upper().replace("-", "_")
                if "_" in key and name != "CONTENT_LENGTH":
                    environ.setdefault(name if name == "CONTENT_TYPE" else f"HTTP_{name}", value.replace("\r\n", ""))
            return environ

    import signal

    from hub.runtime import Workers
    from hub.web.app import create_app

    def stop(*_):
        raise KeyboardInterrupt  # the server returns, and the finally below stops the workers

    signal.signal(signal.SIGTERM, stop)
    hub = _hub()
    hub.log_start()
    app = create_app(hub=hub)
    workers = None
    if not no_workers:
        workers = Workers(hub)
        workers.start()
    click.echo(f"wagehub: API on http://{host}:{port}/ (broker {_safe_url(hub.broker_url)}, "
               f"database {_safe_url(hub.settings['hub']['database_url'])})", err=True)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False, request_handler=QueueHeaders)
    finally:
        if workers:
            workers.stop()  # signs the chain's head as it is left
        else:
            hub.checkpoint()
            hub.shutdown()


@main.command()
@click.option("--metrics-port", type=int, help="Serve Prometheus metrics (GET /metrics) on this port.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Address of the metrics server.")
def worker(metrics_port: int | None, metrics_host: str) -> None:
    """Run workers only (consume inbound queues, relay the outbox): start several to scale out."""
    import signal

    from hub.runtime import Workers

    hub = _hub()
    hub.log_start()
    workers = Workers(hub)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    server = _serve_metrics(hub, metrics_host, metrics_port) if metrics_port is not None else None
    workers.start()
    click.echo(f"wagehub worker: consuming {', '.join(hub.registry.enabled_codes())}", err=True)
    try:
        while not stopping and all(t.is_alive() for t in workers.threads):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        workers.stop()
        if server is not None:
            server.shutdown()


def _serve_metrics(hub, host: str, port: int):
    from hub import metrics

    try:
        server = metrics.serve(hub, port, host)
    except OSError as exc:
        hub.shutdown()
        _fail(HubError(f"--metrics-port: cannot listen on {host}:{port}: {exc.strerror}"))
    shared = metrics.multiprocess_dir()
    click.echo(f"wagehub worker: metrics on http://{host}:{server.server_port}/metrics"
               + (f" (every process of {shared})" if shared else ""), err=True)
    return server


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True) if "://" in url else url
    except Exception:  # noqa: BLE001
        return url.split("@")[-1]


# -- plugins ----------------------------------------------------------------------------------

@main.group()
def plugins() -> None:
    """List, enable and disable agency plugins (takes effect without a restart)."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_list(as_json: bool) -> None:
    """Installed plugins with agency, version, kinds and state."""
    hub = _hub()
    rows = []
    for name, a in sorted(hub.registry.adapters.items()):
        rows.append({"name": name, "agency": a.info.code, "version": a.info.version,
                     "enabled": hub.registry.is_enabled(a.info.code),
                     "in": ",".join(a.info.kinds_in), "out": ",".join(a.info.kinds_out),
                     "health": "ok" if a.settings_error is None else f"settings invalid: {a.settings_error}"})
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    # Columns as wide as their longest value, so a plugin with many kinds stays aligned.
    table = [("NAME", "AGENCY", "VERSION", "ENABLED", "IN", "OUT", "HEALTH")]
    table += [(r["name"], r["agency"], r["version"], "yes" if r["enabled"] else "no", r["in"], r["out"],
               r["health"]) for r in rows]
    widths = [max(len(line[i]) for line in table) + 2 for i in range(6)]
    for line in table:
        click.echo("".join(cell.ljust(w) for cell, w in zip(line, widths)) + line[6])


@plugins.command("enable")
@click.argument("name")
def plugins_enable(name: str) -> None:
    """Enable plugin NAME: running workers start consuming its queue within a second."""
    try:
        _hub().set_plugin_enabled(name, True, actor="cli")
    except HubError as exc:
        _fail(exc)
    click.echo(f"{name}: enabled")


@plugins.command("disable")
@click.argument("name")
def plugins_disable(name: str) -> None:
    """Disable plugin NAME: workers stop consuming; its inbound queue keeps its messages."""
    try:
        _hub().set_plugin_enabled(name, False, actor="cli")
    except HubError as exc:
        _fail(exc)
    click.echo(f"{name}: disabled")


# -- send and tail -------------------------------------------------------------------------------

@main.command()
@click.argument("agency")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", help="Native kind, when the body does not say it (x-wagehub-kind).")
@click.option("--message-id", help="Default: derived from the body's SHA-256 (a resend is a duplicate).")
@click.option("--content-type", help="Default: from the file's extension.")
@click.option("--encoding", "content_encoding", help="content_encoding: utf-8, utf-8-sig, gb18030 or binary.")
def send(agency: str, file: Path, kind: str | None, message_id: str | None, content_type: str | None,
         content_encoding: str | None) -> None:
    """Publish FILE to the hub as AGENCY would (its bytes untouched)."""
    from hub.config import load_settings
    from hub.messaging.broker import connect
    from hub.messaging.client import guess_content_type, publish_native

    settings = load_settings()
    key = (settings.get("plugins", {}).get(agency) or {}).get("key")
    with connect(settings) as conn:
        mid = publish_native(conn, agency, file.read_bytes(), content_type=content_type or guess_content_type(file),
                             message_id=message_id, content_encoding=content_encoding, kind=kind, key=key,
                             settings=settings)
    click.echo(mid)


@main.command()
@click.argument("agency")
@click.option("-n", "--count", type=int, help="Stop after this many messages.")
@click.option("-f", "--follow", is_flag=True, help="Keep waiting for new messages.")
@click.option("--keep", is_flag=True, help="Leave the messages on the queue (peek).")
@click.option("--raw", is_flag=True, help="Print bodies base64-encoded instead of decoded.")
def tail(agency: str, count: int | None, follow: bool, keep: bool, raw: bool) -> None:
    """Read what the hub sent AGENCY (from wagehub.out.AGENCY)."""
    from hub.config import load_settings
    from hub.messaging.broker import connect, declare_topology
    from hub.messaging.client import describe_body, read_out

    settings = load_settings()
    with connect(settings) as conn:
        declare_topology(conn, [agency], settings)
        total = 0
        while True:
            got = read_out(conn, agency, settings, limit=count, timeout=1.0 if follow else 2.0, keep=keep)
            for m in got:
                total += 1
                click.echo(f"--- {m.message_id} {m.headers.get('x-wagehub-record-type')} "
                           f"{m.headers.get('x-wagehub-kind')} from {m.headers.get('x-wagehub-source')} "
                           f"matter {m.headers.get('x-wagehub-matter')} ({m.content_type}, {m.content_encoding})")
                click.echo(base64.b64encode(m.body).decode() if raw else describe_body(m.body, m.content_type,
                                                                                      m.content_encoding))
            if not follow or (count and total >= count):
                break
    if not total:
        click.echo(f"(nothing on wagehub.out.{agency}: the queue is empty)", err=True)
        for line in _why_empty(agency):
            click.echo(f"  {line}", err=True)


def _why_empty(agency: str) -> list[str]:
    """Why an agency's queue may be empty, from the store and the broker: messages no worker
    has taken, transfers held for the linkage office, deliveries waiting or refused, a
    disabled plugin, or what was read before; the route table when none of these."""
    from sqlalchemy import func, select

    from hub.services.traffic import queue_depths
    from hub.store.models import Outbox, TransferHold

    hub = _hub()
    lines = []
    waiting = {code: d["in"] for code, d in queue_depths(hub, hub.registry.codes()).items() if d["in"]}
    if waiting:
        lines.append(f"{sum(waiting.values())} message(s) wait on "
                     + ", ".join(f"wagehub.in.{c} ({n})" for c, n in waiting.items())
                     + ": no worker has taken them; start one (wagehub worker, or wagehub run)")
    held_routes = [r.name for r in hub.routes if r.to == agency and r.hold]
    with hub.store.sessions() as session:
        if held_routes:
            for hold in session.scalars(select(TransferHold).where(TransferHold.status == "held")
                                        .order_by(TransferHold.checked_at)):
                missing = "; ".join(m.get("detail") or m["item"] for m in (hold.missing or {}).get("missing", []))
                lines.append(f"transfer {hold.transfer_no} is held for the linkage office (route "
                             f"{', '.join(held_routes)}), missing: {missing}. It goes when the office releases it: "
                             f"wagehub transfers release {hold.transfer_no} --by NAME --reason '...' "
                             f"(or returns it to labour inspection: wagehub transfers return ...)")
        by_status = dict(session.execute(select(Outbox.status, func.count()).where(Outbox.recipient == agency)
                                         .group_by(Outbox.status)).all())
    if by_status.get("pending"):
        lines.append(f"{by_status['pending']} delivery(ies) to {agency} not yet sent: a worker's relay sends them")
    if by_status.get("undeliverable"):
        lines.append(f"{by_status['undeliverable']} delivery(ies) to {agency} could not be rendered (undeliverable)")
    if hub.registry.get(agency) is not None and not hub.registry.is_enabled(agency):
        lines.append(f"plugin {agency} is disabled: wagehub plugins enable {agency}")
    if by_status.get("sent"):
        lines.append(f"{by_status['sent']} message(s) were sent here before and have been read "
                     f"(by an earlier tail, which takes what it reads unless --keep, or by {agency}'s system)")
    if not lines:
        routes = [f"{r.name} ({r.type})" for r in hub.routes if r.to == agency]
        lines.append(f"nothing has been routed to {agency} yet; its routes: {', '.join(routes) or 'none'}")
    hub.store.dispose()
    return lines


# -- tokens -------------------------------------------------------------------------------------------

@main.group()
def tokens() -> None:
    """API tokens (stored hashed)."""


@tokens.command("create")
@click.option("--role", required=True, help="admin, linkage, viewer or agency:<code>; all but admin may be limited to "
              "districts: viewer@370103, linkage@370102,370103, agency:gov@370100 (a city covers its districts).")
@click.option("--label", help="Who or what the token is for.")
@click.option("--expires-in-days", type=float, help="Expire after this many days.")
@click.option("--sender", help="For an agency with several senders (contractor): the one the token speaks for "
              "(a government's is the code of its role: agency:gov@370103).")
def tokens_create(role: str, label: str | None, expires_in_days: float | None, sender: str | None) -> None:
    """Create a token and print it alone on standard output (it is shown only once)."""
    from hub.services.principals import check_role
    from hub.services.tokens import create_token

    hub = _hub()
    try:
        check_role(role)
        click.echo(create_token(hub.store, role, label, expires_in_days, sender=hub.check_binding(role, sender)))
    except HubError as exc:
        _fail(exc)


@tokens.command("revoke")
@click.argument("token_or_id")
def tokens_revoke(token_or_id: str) -> None:
    """Revoke a token (give the token itself or its id)."""
    from hub.services.tokens import revoke_token

    if not revoke_token(_hub().store, token_or_id):
        _fail(HubError("no such active token"))
    click.echo("revoked")


# -- users ------------------------------------------------------------------------------------------

@main.group()
def users() -> None:
    """Console user accounts: people sign in with these (tokens are for systems)."""


def _new_password(from_stdin: bool) -> str:
    """The new password: the first line of standard input, or asked twice on the terminal
    (never an argument: it would land in the shell's history and the process list)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        _fail(HubError("no terminal to ask for the password: give it on standard input with --password-stdin"))
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users.command("create")
@click.option("--username", required=True, help="Lower-case letters, digits, '.', '_' or '-'.")
@click.option("--role", required=True, help="admin, linkage, viewer or agency:<code>; all but admin may be limited to "
              "districts: viewer@370103, linkage@370102,370103, agency:gov@370100 (a city covers its districts).")
@click.option("--sender", help="For an agency with several senders (contractor): the one this person speaks for.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def users_create(username: str, role: str, sender: str | None, password_stdin: bool) -> None:
    """Open an account (the password is asked for, or read with --password-stdin)."""
    from hub.services.accounts import create_user

    hub = _hub()
    try:
        sender = hub.check_binding(role, sender)
        create_user(hub.store, username, role, _new_password(password_stdin),
                    min_length=hub.settings["auth"]["password_min_length"], sender=sender)
    except HubError as exc:
        _fail(exc)
    click.echo(f"created {username} ({role})")


@users.command("disable")
@click.option("--username", required=True)
def users_disable(username: str) -> None:
    """Disable an account: its console sessions end, it can no longer sign in."""
    from hub.services.accounts import disable_user

    try:
        disable_user(_hub().store, username)
    except HubError as exc:
        _fail(exc)
    click.echo(f"disabled {username}")


@users.command("reset")
@click.option("--username", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def users_reset(username: str, password_stdin: bool) -> None:
    """Set a new password (enabling a disabled account): the user's sessions end."""
    from hub.services.accounts import reset_password

    hub = _hub()
    try:
        reset_password(hub.store, username, _new_password(password_stdin),
                       min_length=hub.settings["auth"]["password_min_length"])
    except HubError as exc:
        _fail(exc)
    click.echo(f"password reset for {username}")


@users.command("list")
def users_list() -> None:
    """Accounts with their role and state."""
    from hub.services.accounts import list_users

    for user in list_users(_hub().store):
        state = "disabled" if user.disabled_at else "active"
        sender = f" sender {user.sender}" if user.sender else ""
        click.echo(f"{user.username}\t{user.role}{sender}\t{state}")


# -- dead letters -------------------------------------------------------------------------------------

@main.group("dead-letters")
def dead_letters() -> None:
    """What failed, and replaying it after a fix."""


@dead_letters.command("list")
@click.option("--agency")
@click.option("--status", type=click.Choice(["open", "replayed", "all"]), default="open", show_default=True)
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def dead_letters_list(agency: str | None, status: str, limit: int, as_json: bool) -> None:
    """List dead letters with agency, kind, reason and size of the kept bytes."""
    from sqlalchemy import select

    from hub.store.models import DeadLetter

    hub = _hub()
    query = select(DeadLetter).order_by(DeadLetter.id).limit(limit)
    if agency:
        query = query.where(DeadLetter.agency == agency)
    if status != "all":
        query = query.where(DeadLetter.status == status)
    with hub.store.sessions() as session:
        rows = list(session.scalars(query))
    if as_json:
        click.echo(json.dumps([{"id": r.id, "agency": r.agency, "kind": r.kind, "message_id": r.message_id,
                                "row": r.row or None, "reason": r.reason, "field": r.field, "rule": r.rule,
                                "status": r.status, "bytes": len(r.body)} for r in rows], ensure_ascii=False,
                              indent=2))
        return
    for r in rows:
        row = f" row {r.row}" if r.row else ""
        click.echo(f"#{r.id} [{r.status}] {r.agency} {r.kind or '-'} {r.message_id}{row}: {r.reason} "
                   f"({len(r.body)} bytes)")
    click.echo(f"{len(rows)} dead letter(s)", err=True)


@dead_letters.command("replay")
@click.argument("ids", nargs=-1, type=int, required=True)
@click.option("--file", "fixed", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Replay these fixed bytes instead of the kept ones (one id only).")
@click.option("--signature", help="The agency's x-wagehub-signature of the fixed bytes (sha256=<hex>).")
@click.option("--accept-unsigned", is_flag=True,
              help="Let bytes in whose signature does not hold (audited): needs --by and --reason.")
@click.option("--by", help="With --accept-unsigned: the admin user account of the person who decides it.")
@click.option("--reason", help="With --accept-unsigned: why.")
def dead_letters_replay(ids: tuple[int, ...], fixed: Path | None, signature: str | None, accept_unsigned: bool,
                        by: str | None, reason: str | None) -> None:
    """Feed dead letters IDS through the pipeline again (after a fix). The agency's
    signature is checked again, as on arrival."""
    from hub.services.dead_letters import replay, unsigned_override

    if (fixed or signature) and len(ids) > 1:
        _fail(HubError("--file and --signature go with one id"))
    if (by or reason) and not accept_unsigned:
        _fail(HubError("--by and --reason go with --accept-unsigned"))
    hub = _hub()
    failed = 0
    try:
        override = unsigned_override(hub.store, by, reason) if accept_unsigned else None
    except HubError as exc:
        _fail(exc)
    for dl_id in ids:
        try:
            result = replay(hub, dl_id, fixed.read_bytes() if fixed else None, signature=signature, override=override,
                            actor=f"user:{override['by']}@cli" if override else "cli")
        except HubError as exc:
            click.echo(f"#{dl_id}: {exc}")
            failed += 1
            continue
        outcome = result["outcome"] or {}
        status = result["dead_letter"]["status"]
        click.echo(f"#{dl_id}: {status}: {outcome.get('status')}, {len(outcome.get('records') or [])} record(s)"
                   + ("" if status == "replayed" else f"; still failing: {result['dead_letter']['reason']}"))
        failed += status != "replayed"
    sys.exit(1 if failed else 0)


# -- the legal-linkage office ------------------------------------------------------------------------

@main.group()
def transfers() -> None:
    """Criminal-case transfers: follow them, release or return held ones (linkage office)."""


@transfers.command("list")
@click.option("--status", help="held, transferred, received, opened, declined, returned, judged or closed.")
@click.option("--overdue", is_flag=True, help="Only those with an overdue step.")
@click.option("--json", "as_json", is_flag=True)
def transfers_list(status: str | None, overdue: bool, as_json: bool) -> None:
    """Every transfer with its status and dossier check, overdue ones first."""
    from hub.casework.transfers import transfer_numbers, transfer_view

    hub = _hub()
    with hub.store.sessions() as session:
        views = [v for v in (transfer_view(session, n, hub.settings) for n in transfer_numbers(session)) if v]
    views = [v for v in views if (not status or v["status"] == status) and (not overdue or v["overdue"])]
    views.sort(key=lambda v: (not v["overdue"], v["transfer_no"]))
    if as_json:
        click.echo(json.dumps(views, ensure_ascii=False, indent=2, default=str))
        return
    for v in views:
        missing = ", ".join(m["item"] for m in (v["dossier"] or {}).get("missing", []))
        click.echo(f"{v['transfer_no']:<22} {v['status']:<12} {'OVERDUE ' if v['overdue'] else ''}"
                   f"{v['amount_owed']} yuan, {v['worker_count']} workers" + (f"  missing: {missing}" if missing else ""))
    click.echo(f"{len(views)} transfer(s)", err=True)


@transfers.command("show")
@click.argument("transfer_no")
def transfers_show(transfer_no: str) -> None:
    """One transfer: dossier check, timeline, deadlines, options after a decline (JSON)."""
    from hub.casework.transfers import transfer_view

    hub = _hub()
    with hub.store.sessions() as session:
        view = transfer_view(session, transfer_no, hub.settings)
    if view is None:
        _fail(HubError(f"no transfer {transfer_no}"))
    click.echo(json.dumps(view, ensure_ascii=False, indent=2, default=str))


def _decide(transfer_no: str, decision: str, reason: str | None, by: str) -> None:
    from hub.casework.linkage import decide

    try:
        view = decide(_hub().pipeline, transfer_no, decision, by, reason)
    except HubError as exc:
        _fail(exc)
    click.echo(f"{transfer_no}: {view['status']}")


@transfers.command("release")
@click.argument("transfer_no")
@click.option("--reason", help="Why it goes despite the missing items.")
@click.option("--by", required=True, help="Who decides (recorded in the audit log).")
def transfers_release(transfer_no: str, reason: str | None, by: str) -> None:
    """Release a held transfer to the police."""
    _decide(transfer_no, "release", reason, f"linkage:{by}")


@transfers.command("return")
@click.argument("transfer_no")
@click.option("--reason", required=True, help="What labour inspection must complete.")
@click.option("--by", required=True, help="Who decides (recorded in the audit log).")
def transfers_return(transfer_no: str, reason: str, by: str) -> None:
    """Return a held transfer to labour inspection with the reasons."""
    _decide(transfer_no, "return", reason, f"linkage:{by}")


@main.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@click.option("--heads", "heads_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Signed heads kept elsewhere (JSON lines, as GET /api/v1/audit/heads gives them), "
                   "checked besides the hub's head file. Repeatable.")
def audit_verify(heads_files: tuple[str, ...]) -> None:
    """Walk the hash chain and hold it against the signed heads kept outside the database;
    exit 1 naming the first bad sequence number (a rewrite or a truncation) if it does not hold."""
    from hub.casework.audit import read_heads

    hub = _hub()
    heads = [head for path in heads_files for head in read_heads(Path(path))]
    result = hub.verify_audit(heads)
    click.echo(json.dumps(result, ensure_ascii=False))
    sys.exit(0 if result["ok"] else 1)


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain's head now and append it to the head file (a no-op when nothing was
    appended since the last signed head)."""
    hub = _hub()
    head = hub.checkpoint()
    click.echo(json.dumps(head or {"checkpoint": None, "reason": "nothing appended since the last signed head"},
                          ensure_ascii=False))


# -- database and demo ------------------------------------------------------------------------------

@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database to the latest schema."""
    from hub.config import load_settings
    from hub.store import Store

    store = Store(load_settings()["hub"]["database_url"])
    store.upgrade(revision)
    click.echo(f"database at {revision}")


@main.command()
@click.option("--dir", "var_dir", help="Embedded broker and database for the demo (wiped first).  "
              "[default: demo/ in hub.var_dir, ./var/demo unless WAGEHUB_VAR_DIR says]")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for the hub.")
def demo(var_dir: str | None, timeout: float) -> None:
    """Run one whole arrears matter through the hub on the embedded defaults and print its timeline."""
    from hub.cli.demo import run_demo
    from hub.config import load_settings

    var_dir = var_dir or str(Path(load_settings()["hub"]["var_dir"]) / "demo")
    shutil.rmtree(var_dir, ignore_errors=True)
    sys.exit(run_demo(var_dir, timeout, echo=click.echo))


from hub.cli.reports import bulletin, followups  # noqa: E402, I001
main.add_command(bulletin)
main.add_command(followups)


from hub.cli.owners import owners  # noqa: E402, I001
main.add_command(owners)


from hub.cli.ops import backup, prune, restore  # noqa: E402, I001
main.add_command(prune)
main.add_command(backup)
main.add_command(restore)


from hub.cli.plugins import new  # noqa: E402, I001

plugins.add_command(new)

from hub.cli.config import config  # noqa: E402, I001

main.add_command(config)

if __name__ == "__main__":
    main()
