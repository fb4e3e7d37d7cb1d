"""Reading an actor's declared message type and checking messages against it.

``Actor[M]``'s ``M`` is a type expression (a class, a union, ``Any``...). The sender checks every
message against it, so the check must be fast: :class:`MessageCheck` keeps a set of the exact
classes already accepted, and only a class seen for the first time pays for ``isinstance``.

What can be declared: a class, a union of them, ``Any``/``object``, ``None``, a generic alias
(``list[int]`` checks ``list``), ``Annotated``, ``NewType``, a bound ``TypeVar``, a PEP 695 alias,
and a ``@runtime_checkable`` ``Protocol`` whose members are all methods (a message is accepted
when its class has those methods: checked once per class, as ``issubclass`` would). Refused at
spawn with a ``TypeError`` saying what to declare instead: a ``Protocol`` that is not
``@runtime_checkable``, one with data members (``isinstance`` would check each object, not its
class), a ``TypedDict`` (a plain ``dict`` at runtime), and any class ``isinstance`` refuses.
"""

from __future__ import annotations

import types as _types
import typing
from typing import Any, Final, TypeVar, Union, final, get_args, get_origin

from ._behaviour import Behaviour

__all__ = ["MessageCheck", "declared_message_type", "message_check_for"]

_MAX_CACHED_CLASSES: Final = 256


@final
class MessageCheck:
    """Checks messages against one declared type; shared by every actor of one class.

    Invariant: every class in ``accepted`` passed ``isinstance`` against ``classes`` (or
    ``classes`` is ``None``, meaning any message is accepted).
    """

    __slots__ = ("accepted", "classes", "declared", "expected")

    def __init__(
        self, classes: tuple[type, ...] | None, expected: str, declared: object = None
    ) -> None:
        self.classes = classes
        self.expected = expected
        self.declared = declared
        # Invariant: grows only with classes that passed the check; bounded in size.
        self.accepted: set[type] = set(classes or ())

    def require(self, message_type: object, label: str) -> None:
        """Raise ``TypeError`` unless every instance of ``message_type`` passes this check."""
        if self.classes is None:
            return
        try:
            wanted = _runtime_classes(message_type, type(None))
        except TypeError as exc:
            raise TypeError(
                f"cannot check that actor {label!r} accepts {_describe(message_type)}: give a "
                "class or a union of classes"
            ) from exc
        if wanted is not None and all(issubclass(cls, self.classes) for cls in wanted):
            return
        raise TypeError(
            f"actor {label!r} handles {self.expected}, not every {_describe(message_type)}; "
            "look it up with a message type it handles"
        )

    def names(self, msg: object) -> tuple[str, str]:
        """How an error names the declared type and ``msg``'s class: short names, or names
        qualified by their module when the message's class shares its name with a declared
        one (``shop.Order | None``, not ``billing.Order``; never "handles Order, not Order")."""
        cls = type(msg)
        got = cls.__qualname__
        if self.classes is not None and any(
            declared.__qualname__ == got and declared is not cls for declared in self.classes
        ):
            return _describe(self.declared, qualified=True), _qualified(cls)
        return self.expected, got

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
        check = MessageCheck(classes, _describe(declared), declared)
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
        if origin is Behaviour:
            return args[0] if args else None
        if isinstance(origin, type) and issubclass(origin, Behaviour):
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
        return (_checkable(origin, actor_class),)
    if isinstance(declared, type):
        return (_checkable(declared, actor_class),)
    raise TypeError(
        f"cannot check messages of {actor_class.__qualname__} at runtime: its message type "
        f"{declared!r} is not a class, a union of classes or Any. Declare a class or a union "
        "(class A(Actor[Foo | Bar])), or set the class attribute message_type."
    )


def _checkable(cls: type, actor_class: type) -> type:
    """``cls`` if ``isinstance`` can check messages against it, once per message class.

    Raises:
        TypeError: it cannot (see the module docstring for what to declare instead).
    """

    def refuse(what: str, instead: str) -> TypeError:
        return TypeError(
            f"cannot check messages of {actor_class.__qualname__} at runtime: its message "
            f"type {_qualified(cls)} {what}. {instead}"
        )

    if getattr(cls, "_is_protocol", False):
        if not getattr(cls, "_is_runtime_protocol", False):
            raise refuse(
                "is a Protocol that is not @runtime_checkable",
                "Decorate it with @typing.runtime_checkable (a message is then accepted when "
                "its class has the protocol's methods), declare a class or a union of classes, "
                "or set the class attribute message_type.",
            )
        try:
            issubclass(object, cls)
        except TypeError:  # typing's own verdict: "non-method members"
            raise refuse(
                "is a Protocol with data members, which isinstance checks on each object",
                "Declare a Protocol of methods only, a class or a union of classes.",
            ) from None
    elif typing.is_typeddict(cls):
        raise refuse(
            "is a TypedDict, which is a plain dict at runtime",
            "Declare Actor[dict[str, Any]] (any dict is accepted), or send a class such as a "
            "msgspec.Struct.",
        )
    try:
        isinstance(None, cls)
    except TypeError as exc:
        raise refuse(
            f"is refused by isinstance ({exc})",
            "Declare a class or a union of classes, or set the class attribute message_type.",
        ) from exc
    return cls


def _qualified(cls: type) -> str:
    module = getattr(cls, "__module__", None)
    if module in (None, "builtins"):
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def _describe(declared: object, *, qualified: bool = False) -> str:
    """How errors name a declared type: ``Ping``, ``Ping | Pong``, ``int | None`` (with their
    modules if ``qualified``: ``shop.Ping``)."""
    if declared is None or declared is type(None):
        return "None"
    if get_origin(declared) in (Union, _types.UnionType):
        return " | ".join(_describe(member, qualified=qualified) for member in get_args(declared))
    if isinstance(declared, type):
        return _qualified(declared) if qualified else declared.__qualname__
    return repr(declared).replace("typing.", "")
