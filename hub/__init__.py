"""wage-arrears-hub: the core.

Plugin authors import from here only: the ``hookimpl`` marker and the small value
types that hooks take and return (see ``docs/plugins.md``).
"""

__version__ = "0.1.0"

from hub.contract.markers import hookimpl, hookspec
from hub.contract.types import (
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
