"""The ``/api/v1`` routes of the contract.

Every route is declared with :func:`api_route`, which names the roles that may call it
and feeds both the access check and the OpenAPI document, so no route can be added
unprotected or undocumented. The routes live in one module per resource (imported at the
end, in the order of the OpenAPI document); what they show and decide is ``hub.services``.
"""

from __future__ import annotations

from hub.web.api.routing import (  # noqa: F401  (the package's names)
    ALL_READERS,
    API_ROUTES,
    ApiRoute,
    api_route,
    bp,
    hub,
    json_object,
    page_cursor,
    page_limit,
    query_param,
    refuse_nul,
    viewer,
)

# isort: off
# The resources register their routes when imported, in this order (the OpenAPI document's).
from hub.web.api import (  # noqa: F401
    inbound,
    records,
    owners,
    matters,
    transfers,
    escalations,
    listings,
    plugins,
    dead_letters,
    audit,
)
# isort: on
