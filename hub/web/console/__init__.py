"""The web console at ``/console/``: server-rendered pages for people.

Admins, the legal-linkage office (两法衔接办公室), read-only viewers and agency users sign
in with their user accounts (or an API token); the session is kept on the server and the
signed, HttpOnly, SameSite cookie holds only its random id, checked on every request with
its user or token, so signing out, disabling the user, resetting the password or revoking
the token ends it. Every POST form carries a CSRF token. Pages reuse the
shared views (``hub.services``), so the console shows what the API would, cut by the
same role rules (``docs/console.md`` has the table).
"""

from __future__ import annotations

# The pages register their routes on ``bp`` when imported.
from hub.web.console import (  # noqa: E402
    access,  # noqa: F401
    audit_pages,  # noqa: F401
    bulletin_pages,  # noqa: F401
    dead_letters,  # noqa: F401
    escalations,  # noqa: F401
    followup_pages,  # noqa: F401
    home,  # noqa: F401
    listings,  # noqa: F401
    matters,  # noqa: F401
    owners_pages,  # noqa: F401
    plugins,  # noqa: F401
    projects,  # noqa: F401
    transfers,  # noqa: F401
)
from hub.web.console.blueprint import bp

__all__ = ["bp"]
