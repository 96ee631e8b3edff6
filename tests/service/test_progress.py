"""Job progress: a tick backtest streams the lake with no known total; the job runner
turns its event counts into fractions of the rows the lake's footers announce."""

from __future__ import annotations

from pathlib import Path

from tickforge.service.artifacts import ArtifactStore
from tickforge.service.jobs.runners import JobContext, expected_events, run_backtest
from tickforge.service.settings import ServiceSettings


def test_tick_backtest_progress_is_a_fraction(service_lake: str, tmp_path: Path) -> None:
    from tickforge.config import BacktestConfig

    config = {"lake": service_lake, "symbols": ["EURUSD"], "timeframe": "ticks",
              "strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}
    assert expected_events(BacktestConfig.model_validate(config)) == 9500  # the sample's rows
    seen: list[float | None] = []
    ctx = JobContext(1, ArtifactStore(str(tmp_path)), ServiceSettings(lake=service_lake),
                     lambda done, total: seen.append(done / total if total else None))
    run_backtest(config, ctx)
    assert seen and None not in seen, seen
    assert len(seen) >= 2 and 0 < seen[0] < 1  # two daily partitions: a step in between
    assert seen == sorted(seen) and seen[-1] <= 0.99 + 1e-12
