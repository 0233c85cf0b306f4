"""The pluggy markers of the ``wagehub`` project: ``hookspec`` for the contract, ``hookimpl``
for the plugins (who import it from ``hub``)."""

import pluggy

hookspec = pluggy.HookspecMarker("wagehub")
hookimpl = pluggy.HookimplMarker("wagehub")
