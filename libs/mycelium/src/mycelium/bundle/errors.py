"""The errors of bundles, rooted in :class:`~mycelium.errors.MyceliumError`.

Which error means what:

* :class:`BundleConfigError`: the spec is wrong (TOML syntax, schema, an import path that does
  not import, a wire to an actor that does not exist, a cycle, a placement that cannot be had).
  Raised before anything is started, or, for what can only be seen while starting (a factory
  that returned something else than an ``Actor``), after everything already started was
  stopped again. Its message is one line: ``<source>: <key path>: <what is wrong>``. Also a
  :class:`ValueError`.
* :class:`BundleStartError`: a valid spec could not be started (a child process exited or did
  not get ready in time, an ``on_start`` raised). Everything already started was stopped.
"""

from __future__ import annotations

__all__ = ["BundleConfigError", "BundleError", "BundleStartError"]

from mycelium.errors import MyceliumError


class BundleError(MyceliumError):
    """Root of the errors of :mod:`mycelium.bundle`."""


class BundleConfigError(BundleError, ValueError):
    """A bundle spec is invalid; nothing of it is running.

    Attributes:
        source: where the spec came from (a file name, or ``"<string>"``).
        where: the key path of the problem (``actors.signal.capacity``), or ``""`` for the
            whole file; for a TOML syntax error, ``line N, column M``.
        detail: what is wrong, one line.
    """

    def __init__(self, source: str, where: str, detail: str) -> None:
        self.source, self.where = source, where
        self.detail = " ".join(detail.split())
        parts = [part for part in (source, where, self.detail) if part]
        super().__init__(": ".join(parts))


class BundleStartError(BundleError):
    """A bundle could not be started; what had started was stopped again (one-line message)."""

    def __init__(self, actor: str, detail: str) -> None:
        self.actor = actor
        self.detail = " ".join(detail.split())
        super().__init__(f"cannot start actor {actor!r}: {self.detail}")
