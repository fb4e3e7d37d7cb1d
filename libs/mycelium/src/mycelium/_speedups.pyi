"""Types of the optional C module: the same shapes as their pure-Python twins in _core.py."""

from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, final

@final
class Ready(Coroutine[Any, Any, None]):
    def __await__(self) -> Generator[Any]: ...
    def send(self, value: None, /) -> Any: ...
    def throw(self, typ: Any, val: Any = None, tb: Any = None, /) -> Any: ...
    def close(self) -> None: ...

READY: Ready

class MailboxCore:
    _queue: deque[Any] | tuple[()]
    _limit: int
    accepts: set[type]
    dispatcher: Any
    scheduled: bool
    def try_send(self, msg: Any, /) -> None: ...
    def tell(self, msg: Any, /) -> None: ...
    def send(self, msg: Any, /) -> Coroutine[Any, Any, None]: ...

@final
class WokenSend(Coroutine[Any, Any, None]):
    def __init__(self, cell: Any, /) -> None: ...
    def send(self, value: None, /) -> Any: ...
    def throw(self, typ: Any, val: Any = None, tb: Any = None, /) -> Any: ...
    def close(self) -> None: ...
    def __await__(self) -> Generator[Any]: ...

class DispatcherCore:
    _ready: deque[Any]
    _call_soon: Callable[[Callable[[], None]], object]
    _run_handle: Callable[[], None]
    _pending: bool
    wake_inline: bool
    thread_id: int
    def schedule(self, cell: Any, /) -> None: ...

def run_batch(
    queue: deque[Any],
    handle: Callable[[Any], Awaitable[Any]],
    batch: int,
    ready: deque[Any],
    ask_type: type,
    task: object,
    deadline: float,
    /,
) -> tuple[int, int, Any, Any, Any]: ...
def inline_ask(dispatcher: Any, cell: Any, msg: object, /) -> Any: ...
def run_first(
    handle: Callable[[Any], Awaitable[Any]],
    msg: object,
    context: Any,
    task: object,
    loop: object,
    tasks: dict[object, object] | None,
    /,
) -> tuple[int, Any, Any]: ...
def clock() -> float: ...
def deadline_after(seconds: float, /) -> float: ...
