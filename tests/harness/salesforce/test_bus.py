"""The streaming bus alone: replay ids, the retention window, and subscribers seeing backlog then live events."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness.salesforce.bus import REPLAY_ALL, REPLAY_NEW, BusEvent, EventBus, InvalidReplayIdError


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def publish(bus: EventBus, *channels: str) -> BusEvent:
    return bus.publish(channels, lambda replay_id: {"event": {"replayId": replay_id}})


def test_replay_ids_increase_across_channels_and_one_event_has_one_id_everywhere() -> None:
    bus = EventBus()
    first = publish(bus, "/data/AccountChangeEvent", "/data/ChangeEvents")
    second = publish(bus, "/data/ContactChangeEvent", "/data/ChangeEvents")
    third = publish(bus, "/data/AccountChangeEvent", "/data/ChangeEvents")
    assert [e.replay_id for e in bus.retained("/data/AccountChangeEvent")] == [first.replay_id, third.replay_id]
    assert [e.replay_id for e in bus.retained("/data/ChangeEvents")] == [1, 2, 3]
    assert second.replay_id == 2


def test_a_subscriber_gets_the_events_after_its_replay_id_then_new_ones() -> None:
    bus = EventBus()
    for _ in range(3):
        publish(bus, "/event/Alert__e")
    seen: list[tuple[str, int]] = []
    bus.subscribe({"/event/Alert__e": 1}, lambda channel, event: seen.append((channel, event.replay_id)))
    publish(bus, "/event/Alert__e")
    assert seen == [("/event/Alert__e", 2), ("/event/Alert__e", 3), ("/event/Alert__e", 4)]


@pytest.mark.parametrize(("replay_id", "expected"), [(REPLAY_NEW, [3]), (REPLAY_ALL, [1, 2, 3])])
def test_minus_one_is_new_events_and_minus_two_all_retained(replay_id: int, expected: list[int]) -> None:
    bus = EventBus()
    publish(bus, "/topic/T")
    publish(bus, "/topic/T")
    seen: list[int] = []
    bus.subscribe({"/topic/T": replay_id}, lambda channel, event: seen.append(event.replay_id))
    publish(bus, "/topic/T")
    assert seen == expected


def test_a_replay_id_whose_successors_left_the_window_is_invalid() -> None:
    clock = Clock()
    bus = EventBus(retention_ms=60_000, clock=clock)
    publish(bus, "/topic/T")
    publish(bus, "/topic/T")
    clock.now += 61
    publish(bus, "/topic/T")
    with pytest.raises(InvalidReplayIdError, match=r"The replayId \{1\} you provided was invalid"):
        bus.subscribe({"/topic/T": 1}, lambda channel, event: None)
    seen: list[Any] = []
    bus.subscribe({"/topic/T": 2}, lambda channel, event: seen.append(event.replay_id))
    assert seen == [3]
    assert [e.replay_id for e in bus.retained("/topic/T")] == [3]


def test_a_replay_id_never_handed_out_is_invalid() -> None:
    bus = EventBus()
    publish(bus, "/topic/T")
    with pytest.raises(InvalidReplayIdError):
        bus.subscribe({"/topic/T": 99}, lambda channel, event: None)


def test_shrinking_the_window_drops_old_events_at_once() -> None:
    clock = Clock()
    bus = EventBus(clock=clock)
    publish(bus, "/topic/T")
    clock.now += 10
    bus.set_retention_ms(5_000)
    assert bus.retained("/topic/T") == []
