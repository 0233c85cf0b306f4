"""The checks as pytest tests, for a plugin's own suite to subclass."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from hub.testing.checks import Conformance


class PluginConformance:
    """Subclass it in your plugin's tests (a ``Test*`` name) and set ``plugin``; see :class:`Conformance`.

    Class attributes: ``plugin`` (required), ``settings``, ``routes``, ``records``,
    ``related``; define ``read_back(self, rendered, delivery)`` to read an outbound kind
    the plugin does not read itself.
    """

    plugin: object = None
    settings: Mapping[str, Any] = {}
    routes: Any = None
    records: Mapping[str, Any] = {}
    related: Mapping[str, Any] = {}
    read_back: Callable[..., Mapping[str, Any] | None] | None = None

    @property
    def conformance(self) -> Conformance:
        """The kit for this class's plugin, built once per class (parsing is not free)."""
        cls = type(self)
        kit = cls.__dict__.get("_wagehub_kit")
        if kit is None:
            if self.plugin is None:
                pytest.fail(f"{cls.__name__}: set `plugin = <your plugin module>`")
            read_back = self.read_back if callable(self.read_back) else None
            kit = Conformance(self.plugin, settings=self.settings, routes=self.routes, records=self.records,
                              related=self.related, read_back=read_back)
            cls._wagehub_kit = kit
        return kit

    def test_hooks_match_the_specs(self) -> None:
        self.conformance.check_hooks()

    def test_agency_declared(self) -> None:
        self.conformance.check_agency()

    def test_good_samples_give_valid_records(self) -> None:
        self.conformance.check_good_samples()

    def test_bad_samples_refused_with_a_reason(self) -> None:
        if not self.conformance.bad:
            pytest.skip("the plugin ships no bad sample (Sample(bad=True, reason=...))")
        self.conformance.check_bad_samples()

    def test_parsing_and_rendering_are_deterministic(self) -> None:
        self.conformance.check_deterministic()

    def test_round_trip_keeps_every_value(self) -> None:
        self.conformance.check_round_trip()

    def test_no_personal_data_in_logs(self) -> None:
        self.conformance.check_no_personal_data_in_logs()
