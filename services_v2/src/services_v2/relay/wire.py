"""What the relay's two processes exchange besides the signals: the config and the outcome."""

from __future__ import annotations

import msgspec

from mycelium_types.messages import SignalMessage
from services_v2.domain.validator import ExecutionPlan, ValidationCounters, ValidatorConfig

__all__ = ["SignalSideOutcome", "decode_outcome", "decode_validator_config", "encode_outcome"]


class SignalSideOutcome(msgspec.Struct, frozen=True):
    """What the signal-generator process did, written to its stdout when its connection ends.

    Attributes:
        validation: the validator's counters.
        signals: every signal received, in order.
        plans: every execution plan, in order.
        validated_ns: when each signal finished validation (perf_counter_ns, CLOCK_MONOTONIC).
        delivered: frames the server passed to the actor.
        rejected: frames the server refused (undecodable or of the wrong type).
        undelivered: frames the actor no longer accepted (stopped).
        dead_letters: messages accepted by the actor but never handled.
    """

    validation: ValidationCounters
    signals: list[SignalMessage]
    plans: list[ExecutionPlan]
    validated_ns: list[int]
    delivered: int
    rejected: int
    undelivered: int
    dead_letters: int


def encode_outcome(outcome: SignalSideOutcome) -> bytes:
    """The outcome as msgpack."""
    return msgspec.msgpack.encode(outcome)


def decode_outcome(data: bytes) -> SignalSideOutcome:
    """Read an outcome. Raises ``msgspec.DecodeError`` if ``data`` is not one."""
    return msgspec.msgpack.decode(data, type=SignalSideOutcome)


def decode_validator_config(text: str) -> ValidatorConfig:
    """Read a ``ValidatorConfig`` given as JSON on the child's command line."""
    return msgspec.json.decode(text, type=ValidatorConfig)
