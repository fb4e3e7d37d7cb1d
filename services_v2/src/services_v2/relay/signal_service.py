"""The relay's child process: the signal generator as an actor behind a Unix-socket server.

``python -m services_v2.relay.signal_service --socket PATH --report FILE [--config JSON]``
connects to PATH, serves a ``SignalGeneratorActor`` there until the connection ends, drains the
actor, and writes a msgpack :class:`~services_v2.relay.wire.SignalSideOutcome` to FILE (written
to a temporary name, then renamed: FILE is complete or absent). Exit status 0 on success; 2 when
it cannot connect (the message names the path) or the config is bad.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec
import uvloop

from mycelium import ActorSystem, UnixSocketTransport, serve
from mycelium_types.messages import SignalMessage
from services_v2.actors.signal_generator_actor import SignalGeneratorActor
from services_v2.domain.validator import SignalValidator, ValidatorConfig

from .wire import SignalSideOutcome, decode_validator_config, encode_outcome

__all__ = ["main", "serve_signal_generator"]

MAILBOX_CAPACITY = 4096


async def serve_signal_generator(path: str, config: ValidatorConfig) -> SignalSideOutcome:
    """Connect to ``path``, serve the signal generator until the peer closes, then report."""
    transport = await UnixSocketTransport.connect(path, name="relay.signal-side")
    async with ActorSystem("relay-signal-generator") as system:
        actor = SignalGeneratorActor(SignalValidator(config))
        ref = await system.spawn(actor, name="signal-generator", capacity=MAILBOX_CAPACITY)
        server = serve(transport, ref, SignalMessage, name="signal-generator")
        await server.wait_closed()
        await system.stop(ref)
        return SignalSideOutcome(
            validation=actor.validator.counters(),
            signals=actor.signals,
            plans=actor.plans,
            validated_ns=actor.validated_ns,
            delivered=server.delivered,
            rejected=server.rejected,
            undelivered=server.undelivered,
            dead_letters=system.dead_letters.count,
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the child; see the module docstring."""
    parser = argparse.ArgumentParser(prog="services_v2.relay.signal_service")
    parser.add_argument("--socket", required=True, help="the Unix socket to connect to")
    parser.add_argument("--report", required=True, help="where to write the outcome (msgpack)")
    parser.add_argument("--config", default="{}", help="a ValidatorConfig as JSON")
    options = parser.parse_args(argv)
    try:
        config = decode_validator_config(options.config)
    except msgspec.DecodeError as exc:
        print(f"signal_service: error: bad --config: {exc}", file=sys.stderr)
        return 2
    try:
        outcome = uvloop.run(serve_signal_generator(options.socket, config))
    except OSError as exc:
        print(f"signal_service: error: {exc}", file=sys.stderr)
        return 2
    partial = Path(options.report + ".partial")
    partial.write_bytes(encode_outcome(outcome))
    partial.replace(options.report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
