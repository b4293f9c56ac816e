"""core/memory.py: a web worker gives the memory a burst of requests freed back to the
operating system once the burst is over, and not while requests keep coming."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tierdesk.core.memory import IdleTrimmer, find_malloc_trim


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["VmRSS"].split()[0]) / 1024


def test_worker_trims_once_after_a_burst_of_requests_is_over() -> None:
    trimmer = IdleTrimmer(lambda: 1)
    assert trimmer.tick() is False  # nothing served yet: nothing to give back
    for _ in range(3):
        trimmer.note_request()
    assert trimmer.tick() is False  # requests finished during this tick: the burst may go on
    assert trimmer.tick() is True  # a whole quiet tick: trim
    assert trimmer.tick() is False  # once per quiet spell, not on every tick
    assert trimmer.trims == 1


def test_worker_does_not_trim_while_requests_keep_coming() -> None:
    trimmer = IdleTrimmer(lambda: 1)
    for _ in range(20):
        trimmer.note_request()
        assert trimmer.tick() is False
    assert trimmer.tick() is True


def test_every_request_through_the_app_is_counted_for_the_trimmer(client: TestClient) -> None:
    trimmer = client.app.state.memory_trimmer  # type: ignore[attr-defined]
    if trimmer is None:
        pytest.skip("this C library has no malloc_trim: the app runs without a trimmer")
    before = trimmer.finished
    assert client.get("/healthz").status_code == 200
    assert client.get("/no-such-page").status_code == 404
    assert trimmer.finished == before + 2


def test_malloc_trim_returns_memory_freed_in_the_middle_of_the_heap() -> None:
    trim = find_malloc_trim()
    if trim is None:
        pytest.skip("this C library has no malloc_trim: the app runs without a trimmer")
    # 1 KiB buffers come from malloc (not Python's small-object arenas); the last one stays,
    # so the freed ones are below the top of the heap, where free() alone never returns them.
    buffers = [bytearray(1024) for _ in range(80_000)]
    keep = bytearray(1024)
    del buffers
    before = _rss_mib()
    trim()
    assert before - _rss_mib() > 40, "malloc_trim gave back less than half of 80 MiB freed"
    assert keep is not None
