"""The ``wagehub`` command line: the group, its logging options, and the command groups of
the modules beside this one (each imports :mod:`hub.cli.common`, never this module)."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import click

from hub import __version__

log = logging.getLogger("hub.cli.main")


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


from hub.cli.access import tokens, users  # noqa: E402
from hub.cli.audit import audit  # noqa: E402
from hub.cli.config import config  # noqa: E402
from hub.cli.dead_letters import dead_letters  # noqa: E402
from hub.cli.messages import send, tail  # noqa: E402
from hub.cli.ops import backup, prune, restore  # noqa: E402
from hub.cli.owners import owners  # noqa: E402
from hub.cli.plugins import plugins  # noqa: E402
from hub.cli.reports import bulletin, followups  # noqa: E402
from hub.cli.serve import run, worker  # noqa: E402
from hub.cli.transfers import transfers  # noqa: E402

for command in (run, worker, plugins, send, tail, tokens, users, dead_letters, transfers, audit, bulletin,
                followups, owners, prune, backup, restore, config):
    main.add_command(command)

if __name__ == "__main__":
    main()
