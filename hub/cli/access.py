"""``wagehub tokens`` (API tokens for systems) and ``wagehub users`` (console accounts for people)."""

from __future__ import annotations

import sys

import click

from hub.cli.common import fail, open_hub
from hub.contract.errors import HubError


@click.group()
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

    hub = open_hub()
    try:
        check_role(role)
        click.echo(create_token(hub.store, role, label, expires_in_days, sender=hub.check_binding(role, sender)))
    except HubError as exc:
        fail(exc)


@tokens.command("revoke")
@click.argument("token_or_id")
def tokens_revoke(token_or_id: str) -> None:
    """Revoke a token (give the token itself or its id)."""
    from hub.services.tokens import revoke_token

    if not revoke_token(open_hub().store, token_or_id):
        fail(HubError("no such active token"))
    click.echo("revoked")


@click.group()
def users() -> None:
    """Console user accounts: people sign in with these (tokens are for systems)."""


def _new_password(from_stdin: bool) -> str:
    """The new password: the first line of standard input, or asked twice on the terminal
    (never an argument: it would land in the shell's history and the process list)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        fail(HubError("no terminal to ask for the password: give it on standard input with --password-stdin"))
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

    hub = open_hub()
    try:
        sender = hub.check_binding(role, sender)
        create_user(hub.store, username, role, _new_password(password_stdin),
                    min_length=hub.settings["auth"]["password_min_length"], sender=sender)
    except HubError as exc:
        fail(exc)
    click.echo(f"created {username} ({role})")


@users.command("disable")
@click.option("--username", required=True)
def users_disable(username: str) -> None:
    """Disable an account: its console sessions end, it can no longer sign in."""
    from hub.services.accounts import disable_user

    try:
        disable_user(open_hub().store, username)
    except HubError as exc:
        fail(exc)
    click.echo(f"disabled {username}")


@users.command("reset")
@click.option("--username", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def users_reset(username: str, password_stdin: bool) -> None:
    """Set a new password (enabling a disabled account): the user's sessions end."""
    from hub.services.accounts import reset_password

    hub = open_hub()
    try:
        reset_password(hub.store, username, _new_password(password_stdin),
                       min_length=hub.settings["auth"]["password_min_length"])
    except HubError as exc:
        fail(exc)
    click.echo(f"password reset for {username}")


@users.command("list")
def users_list() -> None:
    """Accounts with their role and state."""
    from hub.services.accounts import list_users

    for user in list_users(open_hub().store):
        state = "disabled" if user.disabled_at else "active"
        sender = f" sender {user.sender}" if user.sender else ""
        click.echo(f"{user.username}\t{user.role}{sender}\t{state}")
