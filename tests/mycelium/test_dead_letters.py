"""``dead_letters.py``: the count of accepted messages never handled, and the last few."""

from __future__ import annotations

import pytest

from mycelium import DeadLetter, DeadLetters


def test_starts_empty() -> None:
    dead = DeadLetters()
    assert dead.count == 0
    assert len(dead) == 0
    assert dead.recent == ()


def test_record_counts_and_keeps_the_letter() -> None:
    dead = DeadLetters()
    dead.record("echo#1", "hello", "actor crashed")
    assert dead.count == 1
    assert dead.recent == (DeadLetter("echo#1", "hello", "actor crashed"),)
    letter = dead.recent[0]
    assert (letter.actor, letter.message, letter.reason) == ("echo#1", "hello", "actor crashed")


def test_a_letter_can_carry_the_error_that_made_it() -> None:
    dead = DeadLetters()
    error = ValueError("boom")
    dead.record("echo#1", "hello", "handler raised ValueError: boom", error)
    [letter] = dead.recent
    assert letter.error is error
    assert DeadLetter("echo#1", "hello", "actor crashed").error is None


def test_recent_keeps_the_last_history_letters_oldest_first() -> None:
    dead = DeadLetters(history=3)
    for i in range(5):
        dead.record("echo#1", i, "actor crashed")
    assert dead.count == 5
    assert len(dead) == 5
    assert [letter.message for letter in dead.recent] == [2, 3, 4]


def test_zero_history_still_counts() -> None:
    dead = DeadLetters(history=0)
    dead.record("echo#1", 1, "actor crashed")
    assert dead.count == 1
    assert dead.recent == ()


def test_negative_history_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^history must be >= 0, got -1$"):
        DeadLetters(history=-1)


def test_recent_is_a_snapshot() -> None:
    dead = DeadLetters()
    dead.record("a#1", 1, "actor crashed")
    snapshot = dead.recent
    dead.record("a#1", 2, "actor crashed")
    assert len(snapshot) == 1
    assert len(dead.recent) == 2


def test_repr_shows_the_count() -> None:
    dead = DeadLetters()
    dead.record("a#1", 1, "actor crashed")
    assert repr(dead) == "<DeadLetters count=1>"
