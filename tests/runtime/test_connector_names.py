"""The name policy's check and the patterns the OpenAPI document publishes for it say the same of every name."""

from __future__ import annotations

import re
import sys

from hypothesis import example, given, settings
from hypothesis import strategies as st

from hub.runtime.connector_names import (
    _SPACES,
    DOT_SEGMENTS,
    MAX_NAME_LENGTH,
    NAME_PATTERN,
    UNTRIMMED_DOT_SEGMENT_PATTERN,
    UNTRIMMED_NAME_PATTERN,
    name_problem,
)

# Names made of the characters the policy is about, so the rules are hit often.
_ALPHABET = st.sampled_from(["a", "é", "名", "🚀", "/", ".", " ", "\t", "\n", "\x00", "\x85", "\u3000", "\ud800"])
_NAMES = st.one_of(
    st.text(_ALPHABET, max_size=6), st.text(max_size=8), st.text("ab", min_size=250, max_size=260), st.just("a" * 256)
)


def _valid_by_pattern(name: str) -> bool:
    return re.search(NAME_PATTERN, name) is not None and name not in DOT_SEGMENTS


@settings(max_examples=3000, database=None)
@given(_NAMES)
@example("a\n")
@example("." + " ")
def test_the_check_agrees_with_the_published_patterns(name: str) -> None:
    surrogate = any("\ud800" <= c <= "\udfff" for c in name)
    assert (name_problem(name) is None) == (_valid_by_pattern(name) and not surrogate)
    trimmed = name.strip()
    untrimmed_ok = re.search(UNTRIMMED_NAME_PATTERN, name) and not re.search(UNTRIMMED_DOT_SEGMENT_PATTERN, name)
    assert bool(untrimmed_ok) == _valid_by_pattern(trimmed)


def test_the_whitespace_set_is_what_strip_removes() -> None:
    spaces = re.compile(f"[{_SPACES}]")
    assert {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()} == {
        chr(c) for c in range(sys.maxunicode + 1) if spaces.match(chr(c))
    }


def test_limits() -> None:
    assert name_problem("x" * MAX_NAME_LENGTH) is None
    assert "limit" in (name_problem("x" * (MAX_NAME_LENGTH + 1)) or "")
    assert name_problem("名前 with spaces?#") is None
