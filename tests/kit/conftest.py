"""The kit's fixture, for these tests even before the ``pytest11`` entry point is installed."""

from hub.testing import wagehub_conformance  # noqa: F401
