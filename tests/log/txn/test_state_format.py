"""Where a transactional id lives in ``__transaction_state``: Kafka's partition, from Java's String.hashCode."""

from __future__ import annotations

import pytest

from hub.log.txn.state_format import java_string_hash, partition_for


# Values from Java's String.hashCode.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("hello", 99162322),
        ("Aa", 2112),
        ("BB", 2112),
        ("transactional-id", 510590431),
        ("my-txn-42", 1405730818),
        ("é", 233),
        ("😀", 0xD83D * 31 + 0xDE00),
    ],
)
def test_java_string_hash(text: str, expected: int) -> None:
    assert java_string_hash(text) == expected


def test_the_partition_is_abs_hash_modulo_the_partition_count() -> None:
    assert partition_for("hello", 50) == 99162322 % 50
    # Integer.MIN_VALUE's abs is 0 in Kafka's Utils.abs
    assert java_string_hash("polygenelubricants") == -(2**31)
    assert partition_for("polygenelubricants", 50) == 0
