"""`tierdesk serve` limits glibc's malloc arenas for its worker processes (docs/performance.md:
about 25 MiB of RSS per worker), unless the operator chose a value."""

from __future__ import annotations

import os

import pytest

from tierdesk import cli


def test_serve_limits_malloc_arenas_for_its_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "")  # so that monkeypatch restores the original
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    cli._limit_malloc_arenas()
    assert os.environ["MALLOC_ARENA_MAX"] == cli.MALLOC_ARENAS == "2"


def test_an_operators_own_malloc_arena_setting_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    cli._limit_malloc_arenas()
    assert os.environ["MALLOC_ARENA_MAX"] == "8"
