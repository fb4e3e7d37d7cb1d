"""``_wire_errors.py``: exception -> error report (server) and report -> error (client)."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mycelium import ActorStopped, MessageTypeError, RemoteError
from mycelium._wire import RAISED, REFUSED, STOPPED, Failure
from mycelium._wire_errors import (
    MAX_TRACEBACK,
    error_of,
    outcome,
    raised,
    read_failure,
    refused,
    rejection,
    shortened,
    stopped,
    too_large,
)

encode = msgspec.msgpack.Encoder().encode


def over_the_wire(failure: Failure) -> Failure:
    return read_failure(msgspec.Raw(encode(failure)))


def boom() -> ValueError:
    try:
        raise ValueError("no")
    except ValueError as exc:
        return exc


def test_a_handler_that_raised_comes_back_as_remote_error_with_its_traceback() -> None:
    failure = over_the_wire(raised(boom()))
    assert (failure.code, failure.type_name, failure.message) == (RAISED, "ValueError", "no")
    error = error_of(failure, "calc#1", "msg")
    assert isinstance(error, RemoteError)
    assert (error.type_name, error.remote_message) == ("ValueError", "no")
    assert 'raise ValueError("no")' in error.remote_traceback


def test_a_long_traceback_keeps_its_end() -> None:
    failure = raised(ValueError("x" * (2 * MAX_TRACEBACK)))
    assert len(failure.traceback) == MAX_TRACEBACK
    assert failure.traceback.endswith("x\n")


def test_a_refused_message_comes_back_as_message_type_error_naming_the_remote_type() -> None:
    failure = over_the_wire(refused(MessageTypeError("calc#2", "Add | Total", 1), "Other"))
    assert (failure.code, failure.type_name) == (REFUSED, "Add | Total")
    error = error_of(failure, "calc#1", 1)
    assert isinstance(error, MessageTypeError)
    assert error.expected == "Add | Total (remote)"
    assert error.__notes__ == [f"the remote side refused it: {failure.message}"]
    assert (
        rejection(failure) == f"refused (the remote actor handles Add | Total): {failure.message}"
    )


def test_an_undecodable_message_is_refused_as_the_servers_type() -> None:
    failure = refused(msgspec.DecodeError("Expected `int`"), "Add")
    assert (failure.code, failure.type_name, failure.message) == (REFUSED, "Add", "Expected `int`")


def test_a_stopped_actor_comes_back_as_actor_stopped() -> None:
    failure = over_the_wire(stopped(ActorStopped("calc#2")))
    assert failure.code == STOPPED
    error = error_of(failure, "calc#1", "msg")
    assert isinstance(error, ActorStopped)
    assert "(remote: actor 'calc#2' has stopped" in str(error)
    assert rejection(failure).startswith("ActorStopped: actor 'calc#2' has stopped")


async def test_the_outcome_of_an_ask_maps_each_failure() -> None:
    loop = asyncio.get_running_loop()
    answered, cancelled, stopped_, refused_, failed = (loop.create_future() for _ in range(5))
    answered.set_result(3)
    cancelled.cancel()
    stopped_.set_exception(ActorStopped("a#1"))
    refused_.set_exception(MessageTypeError("a#1", "Add", 1))
    failed.set_exception(boom())
    assert outcome(answered, "Add") is None
    assert outcome(cancelled, "Add") == Failure(
        STOPPED, "CancelledError", "the handler was cancelled", ""
    )
    assert [f.code for f in (outcome(x, "Add") for x in (stopped_, refused_, failed)) if f] == [
        STOPPED,
        REFUSED,
        RAISED,
    ]


def test_an_unreadable_report_is_reported_as_such() -> None:
    failure = read_failure(msgspec.Raw(b"\xc1"))
    assert (failure.code, failure.type_name) == (RAISED, "DecodeError")
    assert failure.message.startswith("unreadable error report: ")
    assert isinstance(error_of(failure, "r#1", None), RemoteError)


def test_too_large_says_size_and_limit() -> None:
    failure = too_large(5000, 4096)
    assert (failure.code, failure.type_name) == (RAISED, "FrameTooLarge")
    assert "the answer is 5000 bytes encoded, above max_frame_size=4096" in failure.message


@given(
    message=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=3000),
    limit=st.integers(min_value=200, max_value=2000),
)
def test_a_shortened_report_fits_its_frame_and_says_so(message: str, limit: int) -> None:
    failure = Failure(RAISED, "ValueError", message, "tb" * 1000)
    short = shortened(failure, len(encode(failure)), limit)
    assert short.traceback == ""
    assert message.startswith(short.message.split(" [shortened: ")[0])
    assert "[shortened: the report was" in short.message
    assert len(encode((1, 4, 2**31, short))) <= limit  # an envelope with the largest id


@pytest.mark.parametrize("code", [RAISED, REFUSED, STOPPED])
def test_every_code_round_trips(code: int) -> None:
    failure = Failure(code, "T", "m", "tb")
    assert over_the_wire(failure) == failure
