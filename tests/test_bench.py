"""The performance benchmark keeps working: every benchmark runs at a tiny size and gives a figure.

What is timed here says nothing about the targets (SPEC section 11 is measured by ``digestbot
bench``, see docs/benchmarks.md); these tests only make sure that the benchmark's data, servers,
fakes and subprocess still fit the code they measure, and that the table reads the right way.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import perf
from bot import cli


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the memory benchmark reads /proc")
def test_every_benchmark_runs_and_gives_a_figure(tmp_path: Path) -> None:
    rows = perf.run_benchmarks(perf.TINY, cache_dir=tmp_path / "cache")

    assert [r.what for r in rows if r.measured is None] == []
    assert all(r.measured is not None and r.measured >= 0 for r in rows)
    whats = " / ".join(r.what for r in rows)
    for expected in (
        "extraction",
        "HTML",
        "poll",
        "304",
        "fan-out",
        "429s",
        "lost",
        "duplicated",
        "/latest",
        "memory",
    ):
        assert expected in whats
    by_what = {r.what: r for r in rows}
    # Faults the benchmark must never report at any size: they are correctness, not speed.
    assert by_what["fan-out: 429s from the fake Bot API"].measured == 0
    assert by_what["fan-out: digests lost"].measured == 0
    assert by_what["fan-out: digests duplicated"].measured == 0
    second_poll = next(r for r in rows if "304" in r.what)
    assert second_poll.extra_ok, second_poll.note  # a 304 parses and extracts nothing
    table = perf.format_table(rows)
    assert table.count("\n") == len(rows) + 1  # a header, a rule and one line per row


def test_ratio_reads_the_same_way_for_every_kind_of_target() -> None:
    def row(measured: float, better: perf.Better, goal: float) -> perf.Row:
        return perf.Row("x", "1", "t", measured, "u", 5, better, goal)

    assert row(400, "higher", 200).ratio == 2.0  # throughput: measured / target
    assert row(5, "lower", 20).ratio == 4.0  # latency, time, memory: target / measured
    assert row(0, "zero", 0).ratio == 1.0 and row(3, "zero", 0).ratio == 0.0
    assert row(100, "higher", 200).met is False and row(100, "lower", 200).met is True
    assert perf.Row("x", "1", "t", 7.0, "ms", 5, "none").ratio_text() == "—"
    assert perf.percentile([1, 2, 3, 4, 5], 50) == 3 and perf.percentile([0, 10], 95) == 9.5


def test_the_bench_subcommand_is_wired(capsys: pytest.CaptureFixture[str]) -> None:
    args = cli.build_parser().parse_args(["bench", "--quick", "--only", "extract", "latest", "--markdown"])
    assert args.command == "bench" and args.quick and args.only == ["extract", "latest"] and args.markdown

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", "--only", "nonsense"])
    assert exit_info.value.code == 2
    assert "unknown benchmark" in capsys.readouterr().err
