"""The bundle spec: which actors a bundle has, how they are built and wired, and where they run.

A spec is data, read from TOML (``tomllib``) and validated with msgspec; nothing is imported or
started here (that is :mod:`mycelium.bundle.layout`). The TOML form::

    [bundle]
    name = "relay"                         # optional; defaults to the file's stem

    [actors.signal]
    factory = "package.module:callable"    # returns an Actor (an Actor class qualifies)
    capacity = 4096                        # mailbox capacity, >= 1 (default 1000)
    overflow = "block"                     # "block" | "drop_new" | "drop_oldest" | "fail"
    supervision = "stop"                   # or { strategy = "restart", max_restarts = 3, ... }
    placement = "unix"                     # "local" (default) | "unix" | { kind = "unix", ... }
    args = { probe = { ref = "probe" } }   # keyword arguments of the factory

An argument whose value is a table with the single key ``ref`` is a *wire*: the factory gets
the ref of the actor of that name (a local ref, or a ``RemoteActorRef`` when the two actors run
in different processes). Every other value is passed as TOML gives it.

Errors: every problem raises :class:`~mycelium.bundle.errors.BundleConfigError` with the
source, the key path (``actors.signal.capacity``) and what is wrong, in one line.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeAlias, TypeVar, final

import msgspec
from msgspec import Meta

from .errors import BundleConfigError

__all__ = [
    "ActorSpec",
    "BackoffSpec",
    "BundleSpec",
    "LocalPlacement",
    "NatsPlacement",
    "Overflow",
    "Placement",
    "SupervisionSpec",
    "UnixPlacement",
    "load_spec",
    "parse_spec",
    "spec_from_data",
]

Overflow: TypeAlias = Literal["block", "drop_new", "drop_oldest", "fail"]
"""What a full mailbox does with a new message (see ``spawn(..., overflow=...)``)."""

NAME_PATTERN: Final = re.compile(r"[a-z][a-z0-9_-]{0,47}")
"""An actor name: a lowercase letter, then up to 47 lowercase letters, digits, ``-`` or ``_``
(it names a process and a socket file)."""

_T = TypeVar("_T")

_FACTORY_PATTERN = r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$"


@final
class BackoffSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Delay between restarts: ``min * 2**(n-1)`` s capped at ``max``, times ``1 ± jitter``."""

    min: Annotated[float, Meta(gt=0)] = 0.1
    max: Annotated[float, Meta(gt=0)] = 10.0
    jitter: Annotated[float, Meta(ge=0, le=1)] = 0.2


@final
class SupervisionSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What happens when the actor's handler raises (the terms of the fault-tolerance issue).

    ``strategy``: ``"stop"`` (the default: the actor stops), ``"resume"`` (the same instance
    goes on with the next message) or ``"restart"`` (a fresh instance from the factory, at most
    ``max_restarts`` times within ``within`` seconds, ``backoff`` between restarts).
    """

    strategy: Literal["stop", "resume", "restart"] = "stop"
    max_restarts: Annotated[int, Meta(ge=0)] | None = None
    within: Annotated[float, Meta(gt=0)] | None = None
    backoff: BackoffSpec | None = None


@final
class LocalPlacement(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="local", tag_field="kind"
):
    """In the process that starts the bundle, on its ``ActorSystem``."""


@final
class UnixPlacement(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="unix", tag_field="kind"
):
    """In a child process of its own on this host, reached over a Unix socket.

    ``socket``: where the child listens; by default a fresh path in a private temporary
    directory. A given path must be free (nothing exists there) and its directory must exist.
    """

    socket: str | None = None


@final
class NatsPlacement(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="nats", tag_field="kind"
):
    """In a process reached over NATS (accepted by the schema, not available yet)."""

    url: str | None = None
    subject: str | None = None


Placement: TypeAlias = LocalPlacement | UnixPlacement | NatsPlacement
"""Where an actor runs."""

_PLACEMENT_NAMES: Final[dict[str, Placement]] = {
    "local": LocalPlacement(),
    "unix": UnixPlacement(),
    "nats": NatsPlacement(),
}


@final
class ActorSpec(msgspec.Struct, frozen=True):
    """One actor of a bundle, validated (nothing imported yet).

    Attributes:
        name: the actor's name (its key under ``[actors]``), also its name in the system.
        factory: ``"package.module:callable"``; called with ``args`` and the wired refs.
        args: the factory's keyword arguments that are plain values, in file order.
        wires: the factory's keyword arguments that are refs: argument -> actor name.
        capacity: the mailbox capacity.
        overflow: the mailbox's overflow policy.
        supervision: what a failing handler leads to.
        placement: where the actor runs.
    """

    name: str
    factory: str
    args: dict[str, Any]
    wires: dict[str, str]
    capacity: int
    overflow: Overflow
    supervision: SupervisionSpec
    placement: Placement


@final
class BundleSpec(msgspec.Struct, frozen=True):
    """A whole bundle, validated as data.

    Attributes:
        source: where it was read from (a path, or ``"<string>"``), for error messages.
        name: the bundle's name.
        actors: its actors by name, in file order.
        data: the decoded document, as given (what a child process is handed).
    """

    source: str
    name: str
    actors: dict[str, ActorSpec]
    data: dict[str, Any]

    def error(self, where: str, detail: str) -> BundleConfigError:
        """A :class:`BundleConfigError` about this spec."""
        return BundleConfigError(self.source, where, detail)


# --- the raw tables, as TOML gives them --------------------------------------------------


class _ActorTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    factory: Annotated[str, Meta(pattern=_FACTORY_PATTERN)]
    args: dict[str, Any] = {}
    capacity: Annotated[int, Meta(ge=1)] = 1000
    overflow: Overflow = "block"
    supervision: Literal["stop", "resume", "restart"] | SupervisionSpec = "stop"
    placement: Literal["local", "unix", "nats"] | Placement = "local"


class _BundleTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1)] | None = None


class _Document(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    actors: dict[str, Any]
    bundle: _BundleTable = _BundleTable()


_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "": ("actors", "bundle"),
    "bundle": ("name",),
    "actor": ("factory", "args", "capacity", "overflow", "supervision", "placement"),
    "supervision": ("strategy", "max_restarts", "within", "backoff"),
    "backoff": ("min", "max", "jitter"),
    "placement": ("kind", "socket", "url", "subject"),
}


# --- reading -----------------------------------------------------------------------------


def load_spec(path: str | os.PathLike[str]) -> BundleSpec:
    """Read and validate the spec in ``path`` (TOML; ``.json`` files are read as JSON).

    Raises:
        BundleConfigError: the file cannot be read, is not TOML, or is not a valid spec.
    """
    source = os.fspath(path)
    try:
        raw = Path(source).read_bytes()
    except OSError as exc:
        raise BundleConfigError(source, "", f"cannot read the file: {exc.strerror or exc}") from exc
    if source.endswith(".json"):
        try:
            data = msgspec.json.decode(raw, type=dict[str, Any])
        except msgspec.DecodeError as exc:
            raise BundleConfigError(source, "", f"invalid JSON: {exc}") from exc
        return spec_from_data(data, source=source, stem=Path(source).stem)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleConfigError(
            source, "", f"not UTF-8 text (byte {exc.start}); TOML files are UTF-8"
        ) from exc
    return parse_spec(text, source=source, stem=Path(source).stem)


def parse_spec(text: str, *, source: str = "<string>", stem: str | None = None) -> BundleSpec:
    """Validate the TOML ``text`` as a spec; ``source`` names it in errors.

    Raises:
        BundleConfigError: ``text`` is not TOML or not a valid spec.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(source, str(exc)) from exc
    return spec_from_data(data, source=source, stem=stem)


def spec_from_data(
    data: Mapping[str, Any], *, source: str = "<data>", stem: str | None = None
) -> BundleSpec:
    """Validate an already decoded document (what ``tomllib.loads`` returns) as a spec.

    ``stem`` is the bundle's name when ``[bundle] name`` is not given (default ``"bundle"``).

    Raises:
        BundleConfigError: ``data`` is not a valid spec.
    """
    document = _convert(data, _Document, source, "", "")
    if not document.actors:
        raise BundleConfigError(source, "actors", "a bundle needs at least one actor")
    actors: dict[str, ActorSpec] = {}
    for name, table in document.actors.items():
        if not NAME_PATTERN.fullmatch(name):
            raise BundleConfigError(
                source,
                f"actors.{name}",
                "an actor name is a lowercase letter followed by up to 47 lowercase letters, "
                "digits, '-' or '_'",
            )
        if not isinstance(table, dict):
            raise BundleConfigError(
                source, f"actors.{name}", f"expected a table, got {_toml_type(table)}"
            )
        actors[name] = _actor_spec(name, typing.cast(dict[str, Any], table), source)
    name = document.bundle.name or stem or "bundle"
    return BundleSpec(source=source, name=name, actors=actors, data=dict(data))


def _actor_spec(name: str, table: dict[str, Any], source: str) -> ActorSpec:
    where = f"actors.{name}"
    raw = _convert(table, _ActorTable, source, where, "actor")
    supervision = (
        SupervisionSpec(strategy=raw.supervision)
        if isinstance(raw.supervision, str)
        else raw.supervision
    )
    if supervision.strategy != "restart":
        for field in ("max_restarts", "within", "backoff"):
            if getattr(supervision, field) is not None:
                raise BundleConfigError(
                    source,
                    f"{where}.supervision.{field}",
                    f'only meaningful with strategy = "restart" (strategy is '
                    f"{supervision.strategy!r})",
                )
    placement = _PLACEMENT_NAMES[raw.placement] if isinstance(raw.placement, str) else raw.placement
    args: dict[str, Any] = {}
    wires: dict[str, str] = {}
    for key, value in raw.args.items():
        target = _wire_target(value, source, f"{where}.args.{key}")
        if target is None:
            args[key] = value
        else:
            wires[key] = target
    return ActorSpec(
        name=name,
        factory=raw.factory,
        args=args,
        wires=wires,
        capacity=raw.capacity,
        overflow=raw.overflow,
        supervision=supervision,
        placement=placement,
    )


def _wire_target(value: object, source: str, where: str) -> str | None:
    """The actor a ``{ ref = "name" }`` argument names, or None for a plain value."""
    if not isinstance(value, dict) or "ref" not in value:
        return None
    table: dict[Any, Any] = value  # pyright: ignore[reportUnknownVariableType]
    if len(table) != 1:
        others = ", ".join(repr(key) for key in table if key != "ref")
        raise BundleConfigError(
            source,
            where,
            f'a wire is written {{ ref = "actor" }} with no other key (found {others})',
        )
    target = table["ref"]
    if not isinstance(target, str):
        raise BundleConfigError(
            source, f"{where}.ref", f"expected an actor name (a string), got {_toml_type(target)}"
        )
    return target


# --- error messages ----------------------------------------------------------------------

_AT = re.compile(r"^(?P<detail>.*) - at `\$(?P<path>[^`]*)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<field>[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]*)`$")
_POSITION = re.compile(
    r"^(?P<message>.*) \(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)$"
)
_TWICE = re.compile(r"^Cannot declare \('actors', '(?P<name>[^']*)'\) twice$")


def _convert(data: Mapping[str, Any], kind: type[_T], source: str, where: str, table: str) -> _T:
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise _schema_error(str(exc), source, where, table) from exc


def _schema_error(message: str, source: str, where: str, table: str) -> BundleConfigError:
    matched = _AT.match(message)
    detail, path = (matched["detail"], matched["path"]) if matched else (message, "")
    full = (where + path) if where else path.lstrip(".")
    unknown = _UNKNOWN.match(detail)
    if unknown:
        field = unknown["field"]
        section = path.rsplit(".", 1)[-1] if path else table
        known = _FIELDS.get(section, ())
        close = difflib.get_close_matches(field, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return BundleConfigError(source, f"{full}.{field}".lstrip("."), f"unknown field{hint}")
    missing = _MISSING.match(detail)
    if missing:
        return BundleConfigError(source, full, f"missing required field {missing['field']!r}")
    detail = detail.replace("`", "")
    if full.endswith(".factory") and "regex" in detail:
        detail = 'expected an import path "package.module:callable"'
    elif full.endswith(".placement") and "enum" in detail:
        detail += ' (expected "local", "unix", "nats" or a table with a kind)'
    elif full.endswith(".supervision") and "enum" in detail:
        detail += ' (expected "stop", "resume", "restart" or a table with a strategy)'
    return BundleConfigError(source, full, detail[:1].lower() + detail[1:])


def _syntax_error(source: str, message: str) -> BundleConfigError:
    matched = _POSITION.match(message)
    text, where = message, ""
    if matched:
        text = matched["message"]
        line, column = matched["line"], matched["column"]
        where = f"line {line}, column {column}" if line else "end of file"
    twice = _TWICE.match(text)
    if twice:
        return BundleConfigError(
            source, where, f"two actors named {twice['name']!r} ([actors.{twice['name']}] twice)"
        )
    return BundleConfigError(source, where, f"invalid TOML: {text[:1].lower() + text[1:]}")


def _toml_type(value: object) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a float"}
    for kind, label in names.items():
        if type(value) is kind:
            return label
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
