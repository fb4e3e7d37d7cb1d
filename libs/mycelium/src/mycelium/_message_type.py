"""Reading an actor's declared message type and checking messages against it.

``Actor[M]``'s ``M`` is a type expression (a class, a union, ``Any``...). The sender checks every
message against it, so the check must be fast: :class:`MessageCheck` keeps a set of the exact
classes already accepted, and only a class seen for the first time pays for ``isinstance``.
"""

from __future__ import annotations

import types as _types
import typing
from typing import Any, Final, TypeVar, Union, final, get_args, get_origin

from .actor import Actor

__all__ = ["MessageCheck", "declared_message_type", "message_check_for"]

_MAX_CACHED_CLASSES: Final = 256


@final
class MessageCheck:
    """Checks messages against one declared type; shared by every actor of one class.

    Invariant: every class in ``accepted`` passed ``isinstance`` against ``classes`` (or
    ``classes`` is ``None``, meaning any message is accepted).
    """

    __slots__ = ("accepted", "classes", "expected")

    def __init__(self, classes: tuple[type, ...] | None, expected: str) -> None:
        self.classes = classes
        self.expected = expected
        # Invariant: grows only with classes that passed the check; bounded in size.
        self.accepted: set[type] = set(classes or ())

    def admits(self, msg: object) -> bool:
        """True if ``msg`` is of the declared type; remembers its class for the fast path."""
        cls = type(msg)
        if cls in self.accepted:
            return True
        if self.classes is not None and not isinstance(msg, self.classes):
            return False
        if len(self.accepted) < _MAX_CACHED_CLASSES:
            self.accepted.add(cls)
        return True


_checks: dict[type, MessageCheck] = {}


def message_check_for(actor_class: type) -> MessageCheck:
    """The (cached) check for the messages of ``actor_class``.

    Raises:
        TypeError: the declared message type cannot be checked at runtime.
    """
    check = _checks.get(actor_class)
    if check is None:
        declared = declared_message_type(actor_class)
        classes = _runtime_classes(declared, actor_class)
        check = MessageCheck(classes, _describe(declared))
        _checks[actor_class] = check
    return check


def declared_message_type(actor_class: type) -> object:
    """The ``M`` of ``Actor[M]`` for ``actor_class``, following generic subclasses.

    ``message_type`` set on the class wins over the declaration. An actor class that never
    binds ``M`` gets ``M``'s bound, or ``object``.
    """
    explicit = getattr(actor_class, "message_type", None)
    if explicit is not None:
        return explicit
    found = _find_actor_arg(actor_class, {})
    if isinstance(found, TypeVar):
        return found.__bound__ if found.__bound__ is not None else object
    return object if found is None else found


def _find_actor_arg(cls: type, bindings: dict[object, object]) -> object | None:
    for base in getattr(cls, "__orig_bases__", ()):
        origin = get_origin(base)
        if origin is None:
            continue
        args = tuple(bindings.get(arg, arg) for arg in get_args(base))
        if origin is Actor:
            return args[0] if args else None
        if isinstance(origin, type) and issubclass(origin, Actor):
            generic: type = origin  # pyright: ignore[reportUnknownVariableType]
            params: tuple[object, ...] = getattr(generic, "__parameters__", ())
            found = _find_actor_arg(generic, dict(zip(params, args, strict=False)))
            if found is not None:
                return found
    for base in cls.__bases__:
        if base is not object:
            found = _find_actor_arg(base, bindings)
            if found is not None:
                return found
    return None


def _runtime_classes(declared: object, actor_class: type) -> tuple[type, ...] | None:
    """The classes ``isinstance`` needs for ``declared``; ``None`` means anything goes."""
    if declared is Any or declared is object:
        return None
    if isinstance(declared, TypeVar):
        bound = declared.__bound__
        return None if bound is None else _runtime_classes(bound, actor_class)
    value = getattr(declared, "__value__", None)  # PEP 695 `type X = ...` aliases
    if value is not None and not isinstance(declared, type):
        return _runtime_classes(value, actor_class)
    supertype = getattr(declared, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return _runtime_classes(supertype, actor_class)
    origin = get_origin(declared)
    if origin is typing.Annotated:
        return _runtime_classes(get_args(declared)[0], actor_class)
    if origin is Union or origin is _types.UnionType:
        classes: list[type] = []
        for member in get_args(declared):
            member_classes = _runtime_classes(member, actor_class)
            if member_classes is None:
                return None
            classes.extend(member_classes)
        return tuple(dict.fromkeys(classes))
    if declared is None or declared is type(None):
        return (type(None),)
    if isinstance(origin, type):  # list[int] -> list: element types are not checked
        return (origin,)
    if isinstance(declared, type):
        return (declared,)
    raise TypeError(
        f"cannot check messages of {actor_class.__qualname__} at runtime: its message type "
        f"{declared!r} is not a class, a union of classes or Any. Declare a class or a union "
        "(class A(Actor[Foo | Bar])), or set the class attribute message_type."
    )


def _describe(declared: object) -> str:
    """How errors name a declared type: ``Ping``, ``Ping | Pong``, ``int | None``."""
    if declared is None or declared is type(None):
        return "None"
    if get_origin(declared) in (Union, _types.UnionType):
        return " | ".join(_describe(member) for member in get_args(declared))
    if isinstance(declared, type):
        return declared.__qualname__
    return repr(declared).replace("typing.", "")
