"""``mailbox.py``: a bounded FIFO with counters, used standalone and as every actor's queue."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mycelium import ActorStopped, Mailbox, MailboxEmpty, MailboxFull


def test_put_then_get_is_fifo() -> None:
    box = Mailbox[int](capacity=4)
    for i in range(4):
        box.put_nowait(i)
    assert [box.get_nowait() for _ in range(4)] == [0, 1, 2, 3]


def test_len_follows_puts_and_gets() -> None:
    box = Mailbox[str](capacity=3)
    assert len(box) == 0
    box.put_nowait("a")
    box.put_nowait("b")
    assert len(box) == 2
    box.get_nowait()
    assert len(box) == 1


def test_a_full_mailbox_refuses_and_counts_the_drop() -> None:
    box = Mailbox[int](capacity=2)
    box.put_nowait(1)
    box.put_nowait(2)
    with pytest.raises(
        MailboxFull, match=r"^mailbox of 'mailbox' is full \(2 messages\); int "
    ) as info:
        box.put_nowait(3)
    assert info.value.message == 3
    assert info.value.capacity == 2
    assert box.dropped == 1
    assert len(box) == 2
    with pytest.raises(MailboxFull):
        box.put_nowait(4)
    assert box.dropped == 2
    assert [box.get_nowait(), box.get_nowait()] == [1, 2]


def test_room_made_by_a_get_can_be_used_again() -> None:
    box = Mailbox[int](capacity=1)
    box.put_nowait(1)
    assert box.get_nowait() == 1
    box.put_nowait(2)
    assert box.get_nowait() == 2
    assert box.dropped == 0


def test_get_on_an_empty_mailbox_raises() -> None:
    box = Mailbox[int](capacity=1)
    with pytest.raises(MailboxEmpty, match=r"^mailbox of 'mailbox' is empty$"):
        box.get_nowait()
    box.put_nowait(1)
    box.get_nowait()
    with pytest.raises(MailboxEmpty):
        box.get_nowait()


def test_close_refuses_puts_but_keeps_what_is_held() -> None:
    box = Mailbox[int](capacity=3)
    box.put_nowait(1)
    box.put_nowait(2)
    assert not box.closed
    box.close()
    assert box.closed
    with pytest.raises(ActorStopped, match=r"^actor 'mailbox' has stopped; int was not delivered"):
        box.put_nowait(3)
    assert box.dropped == 0
    assert [box.get_nowait(), box.get_nowait()] == [1, 2]
    with pytest.raises(MailboxEmpty):
        box.get_nowait()


def test_close_before_the_first_put() -> None:
    box = Mailbox[int](capacity=3)
    box.close()
    with pytest.raises(ActorStopped):
        box.put_nowait(1)
    assert len(box) == 0


def test_close_is_idempotent() -> None:
    box = Mailbox[int]()
    box.close()
    box.close()
    assert box.closed


def test_counters_start_at_zero_and_capacity_defaults_to_1000() -> None:
    box = Mailbox[int]()
    assert (box.capacity, box.dropped, box.handled) == (1000, 0, 0)


@pytest.mark.parametrize("capacity", [0, -1])
def test_capacity_below_one_is_refused(capacity: int) -> None:
    with pytest.raises(ValueError, match=rf"^capacity must be >= 1, got {capacity}$"):
        Mailbox[int](capacity=capacity)


@pytest.mark.parametrize("capacity", ["3", 2.0, True, None])
def test_capacity_must_be_an_int(capacity: object) -> None:
    with pytest.raises(TypeError, match=r"^capacity must be an int, got "):
        Mailbox[int](capacity=capacity)  # pyright: ignore[reportArgumentType]


def test_repr_shows_state_and_counters() -> None:
    box = Mailbox[int](capacity=2)
    box.put_nowait(1)
    assert repr(box) == "<Mailbox mailbox open 1/2 dropped=0 handled=0>"
    box.close()
    assert repr(box) == "<Mailbox mailbox closed 1/2 dropped=0 handled=0>"


@given(st.lists(st.integers(), max_size=200))
@settings(max_examples=50, deadline=None)
def test_mailbox_keeps_fifo_order(items: list[int]) -> None:
    box = Mailbox[int](capacity=256)
    for item in items:
        box.put_nowait(item)
    assert [box.get_nowait() for _ in items] == items
    assert len(box) == 0


@given(
    st.integers(min_value=1, max_value=8),
    st.lists(st.one_of(st.integers(), st.none()), max_size=100),
)
@settings(max_examples=100, deadline=None)
def test_interleaved_puts_and_gets_match_a_bounded_queue(
    capacity: int, ops: list[int | None]
) -> None:
    """Each int is a put, each None a get: the mailbox behaves like a bounded list."""
    box = Mailbox[int](capacity=capacity)
    model: list[int] = []
    dropped = 0
    for op in ops:
        if op is None:
            if model:
                assert box.get_nowait() == model.pop(0)
            else:
                with pytest.raises(MailboxEmpty):
                    box.get_nowait()
        elif len(model) < capacity:
            box.put_nowait(op)
            model.append(op)
        else:
            with pytest.raises(MailboxFull):
                box.put_nowait(op)
            dropped += 1
        assert len(box) == len(model)
    assert box.dropped == dropped
