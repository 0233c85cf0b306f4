"""wage-arrears-hub: the core.

Plugin authors import from here only: the ``hookimpl`` marker and the small value
types that hooks take and return (see ``docs/plugins.md``).
"""

import pluggy

__version__ = "0.1.0"

hookspec = pluggy.HookspecMarker("wagehub")
hookimpl = pluggy.HookimplMarker("wagehub")

from hub.contract.types import (  # noqa: E402  (the markers above must exist first)
    AgencyInfo,
    InvalidMessage,
    NativeMessage,
    Parsed,
    PluginSettings,
    Rejected,
    Rendered,
    Delivery,
    Sample,
    SettingsError,
    Undeliverable,
)
from hub.contract.samples import samples_from

__all__ = [
    "__version__",
    "hookspec",
    "hookimpl",
    "AgencyInfo",
    "Delivery",
    "InvalidMessage",
    "NativeMessage",
    "Parsed",
    "PluginSettings",
    "Rejected",
    "Rendered",
    "Sample",
    "SettingsError",
    "Undeliverable",
    "samples_from",
]
