"""``samples_from``: a plugin's ``register_samples`` hook, from a table of its sample files."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from typing import Any

from hub.contract.markers import hookimpl
from hub.contract.types import Sample

__all__ = ["samples_from"]

# (file, kind, business time) or (file, kind, business time, {Sample field: value})
Good = tuple[str, str | None, str] | tuple[str, str | None, str, Mapping[str, Any]]
# (file under bad/, kind, what the refusal names) or (..., {Sample field: value})
Bad = tuple[str, str | None, str] | tuple[str, str | None, str, Mapping[str, Any]]


def samples_from(package: str, *, good: Iterable[Good] = (), bad: Iterable[Bad] = (),
                 content_type: str = "application/json", content_encoding: str | None = "utf-8",
                 headers: Mapping[str, Any] | None = None) -> Callable[[], list[Sample]]:
    """The ``register_samples`` hook of the plugin ``package``, reading its files from the
    package's ``samples/`` folder (the bad ones from ``samples/bad/``) each time it is called::

        register_samples = samples_from(
            __package__,
            good=[("myagency-receipt.json", "RECEIPT", "2023-06-21T09:30:00+08:00")],
            bad=[("myagency-not-json.json", "RECEIPT", "json")])

    A good sample gives its business time (the demo replays every plugin's samples in that
    order), a bad one what its refusal must name. ``content_type``, ``content_encoding`` and
    ``headers`` hold for every sample; a row's own mapping sets any other field of its
    :class:`~hub.contract.types.Sample` (``{"content_encoding": "gb18030"}``). The good
    samples come first, each list in its order.
    """
    rows = [(name, kind, {"at": at}, rest) for name, kind, at, *rest in good]
    rows += [(f"bad/{name}", kind, {"bad": True, "reason": reason}, rest) for name, kind, reason, *rest in bad]

    def register_samples() -> list[Sample]:
        folder = resources.files(package).joinpath("samples")
        return [Sample(**{"name": name.rsplit("/", 1)[-1], "body": folder.joinpath(name).read_bytes(), "kind": kind,
                          "content_type": content_type, "content_encoding": content_encoding,
                          "headers": dict(headers or {}), **fields, **(rest[0] if rest else {})})
                for name, kind, fields, rest in rows]

    register_samples.__module__ = package
    return hookimpl(register_samples)
