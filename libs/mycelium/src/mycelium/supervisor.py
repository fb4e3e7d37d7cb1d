"""Placeholder: filled in by the Supervisor step."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, final

if TYPE_CHECKING:
    from .local_ref import LocalActorRef

__all__ = ["SupervisorLink"]


@final
class SupervisorLink:
    def child_failed(self, cell: LocalActorRef[Any], exc: Exception) -> bool:
        return False

    def child_failed_later(self, cell: LocalActorRef[Any], exc: BaseException) -> None:
        pass

    def child_stopping(self, cell: LocalActorRef[Any]) -> None:
        pass
