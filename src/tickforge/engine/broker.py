"""The book: every piece of run state as NumPy arrays (see :mod:`tickforge.engine.nb`),
built from a :class:`BacktestConfig`, grown on demand, and turned into Result frames."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from tickforge.config import BacktestConfig, InstrumentConfig
from tickforge.engine import frames_nb, nb
from tickforge.engine.data import Events
from tickforge.errors import ConfigError

SLIP_MODELS = {"none": 0.0, "fixed": 1.0, "spread": 2.0, "volatility": nb.SLIP_VOLATILITY}
KINDS = ["market", "limit", "stop", "stop_limit", "trailing_stop", "target"]
TIFS = ["GTC", "DAY", "IOC"]
STATUSES = ["pending", "active", "partially_filled", "filled", "cancelled", "expired", "rejected"]
REASONS = ["signal", "take_profit", "stop_loss", "stop", "margin_call", "open", "limit"]
TARGET_MODES = ["", "equity", "units"]  # orders_frame target_mode: not a target, equity, units
EQUITY_FLOATS = ("equity", "cash", "position_value", "drawdown", "exposure")
UTC_NS = pd.DatetimeTZDtype("ns", "UTC")
FX_PAIR = re.compile(r"^([A-Z]{3})/?([A-Z]{3})$")
DEFAULT_SAMPLE_NS = {"quotes": 60 * 10**9, "bars": 0}


def equity_rows_hint(config: BacktestConfig, events: Events, total: int | None) -> int:
    """Rows the equity table will need: one per time stamp (bars) or per sampling step."""
    n = total or len(events)
    sample = cfg_array(config, events.kind, len(events.symbols))[nb.C_SAMPLE]
    if sample > 0 and n:
        span = int(events.ts[-1] - events.ts[0]) * max(n / len(events), 1.0)
        n = min(n, int(span // sample))
    return max(int(n), 1) + 64


def book_for_chunk(book: Book | None, config: BacktestConfig, events: Events,
                   total: int | None) -> Book:
    """The run's book: made at the first chunk, its equity table sized for the whole run
    (``total`` events when known); later chunks must carry the same symbols. Every runner
    (built-in, compiled, Python) gets its book here."""
    if book is None:
        return Book.create(config, events.kind, list(events.symbols),
                           equity_rows=equity_rows_hint(config, events, total))
    if events.symbols != book.symbols:
        raise ConfigError("symbols changed between data chunks", field="symbols",
                          hint="give every chunk the same symbols, in the same order")
    return book


def parse_duration_ns(text: str) -> int:
    """'1min', '30s', '1h', '1d' -> nanoseconds."""
    try:
        return int(pd.Timedelta(text).value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"'{text}' is not a duration", field="options.equity_every",
                          hint="e.g. 1min, 30s, 1h") from exc


def cfg_array(config: BacktestConfig, kind: str, n_sym: int) -> np.ndarray:
    cfg = np.zeros(nb.N_CFG)
    com, slip = config.commission, config.slippage
    sample = config.options.get("equity_every")
    cfg[nb.C_MODE] = 0.0 if kind == "quotes" else 1.0
    cfg[nb.C_CLOSEFILL] = 1.0 if config.fill_on == "close" else 0.0
    cfg[nb.C_STOPFIRST] = 1.0 if config.intrabar == "stop_first" else 0.0
    cfg[nb.C_LATENCY] = round(config.latency_ms * 1e6)
    cfg[nb.C_VOLCAP] = config.volume_cap or 0.0
    cfg[nb.C_PER_ORDER] = com.per_order
    cfg[nb.C_PER_UNIT] = com.per_unit
    cfg[nb.C_BPS] = com.bps
    cfg[nb.C_PER_MILLION] = com.per_million
    cfg[nb.C_MAKER_BPS] = math.nan if com.maker_bps is None else com.maker_bps
    cfg[nb.C_SLIP_MODEL] = SLIP_MODELS[slip.model]
    cfg[nb.C_SLIP] = slip.value
    cfg[nb.C_LEVERAGE] = config.leverage
    cfg[nb.C_MCLEVEL] = config.margin_call_level
    cfg[nb.C_SAMPLE] = parse_duration_ns(sample) if sample else DEFAULT_SAMPLE_NS[kind]
    # the volatility estimate is kept only for the model that reads it (NaN: not kept)
    volatility = slip.model == "volatility"
    cfg[nb.C_VOLALPHA] = float(config.options.get("vol_alpha", 0.05)) if volatility else math.nan
    cfg[nb.C_NSYM] = n_sym
    return cfg


def instrument_for(config: BacktestConfig, symbol: str) -> InstrumentConfig:
    for inst in config.instruments:
        if inst.symbol == symbol:
            return inst
    return InstrumentConfig(symbol=symbol)


def quote_currency(inst: InstrumentConfig) -> tuple[str | None, str | None]:
    """(base, quote) currencies: explicit quote_currency, else parsed from an FX pair name."""
    match = FX_PAIR.match(inst.symbol.upper())
    base = match.group(1) if match else None
    quote = inst.quote_currency or (match.group(2) if match else None)
    return base, quote


def conversion(config: BacktestConfig, symbols: list[str], s: int) -> tuple[float, float, float]:
    """(mode, symbol index, constant) converting symbol ``s``'s quote currency to account
    currency: 0 constant, 1 multiply by a pair's mid, 2 divide by it."""
    inst = instrument_for(config, symbols[s])
    base, quote = quote_currency(inst)
    acc = config.account_currency.upper()
    rates = {k.upper(): float(v) for k, v in config.options.get("fx_rates", {}).items()}
    if quote is None or quote == acc:
        return 0.0, 0.0, 1.0
    const = rates.get(quote, math.nan)
    plain = [re.sub("[^A-Z]", "", x.upper()) for x in symbols]
    if quote + acc in plain:
        return 1.0, float(plain.index(quote + acc)), const
    if acc + quote in plain:
        return 2.0, float(plain.index(acc + quote)), const
    if base == acc:
        return 2.0, float(s), const
    if math.isfinite(const):
        return 0.0, 0.0, const
    raise ConfigError(f"no rate to convert {quote} P&L of {symbols[s]} into {acc}",
                      field="options.fx_rates",
                      hint=f"add the {quote}{acc} or {acc}{quote} pair to the run, or pass "
                           f"fx_rates={{'{quote}': <{acc} per {quote}>}}")


def inst_array(config: BacktestConfig, symbols: list[str]) -> np.ndarray:
    arr = np.zeros((len(symbols), nb.N_INST))
    for s, name in enumerate(symbols):
        inst = instrument_for(config, name)
        mode, k, const = conversion(config, symbols, s)
        arr[s] = (inst.lot_size, inst.contract_multiplier, inst.swap_long, inst.swap_short,
                  mode, k, const if math.isfinite(const) else 1.0)
    return arr


@dataclass
class Book:
    """Arrays of one run; ``arrays`` is the tuple the kernels take."""

    arrays: tuple[np.ndarray, ...]
    symbols: list[str]

    @classmethod
    def create(cls, config: BacktestConfig, kind: str, symbols: list[str],
               capacity: int = 1024, equity_rows: int = 4096) -> Book:
        n = len(symbols)
        acct = np.zeros(nb.N_ACCT)
        acct[nb.A_CASH] = config.cash
        pos = np.zeros((n, nb.N_POS))
        pos[:, nb.P_LTGT] = math.nan
        pos[:, nb.P_TGTORD] = -1.0
        arrays = (acct, np.zeros(nb.N_ACCT_T, np.int64), pos, np.zeros((n, nb.N_POS_T), np.int64),
                  np.zeros((capacity, nb.N_ORD)), np.zeros((capacity, nb.N_ORD_T), np.int64),
                  np.zeros((capacity, nb.N_TRD)), np.zeros((capacity, nb.N_TRD_T), np.int64),
                  np.zeros((equity_rows, nb.N_EQ)), np.zeros(equity_rows, np.int64),
                  cfg_array(config, kind, n), inst_array(config, symbols))
        return cls(arrays, symbols)

    def grow(self, share: float = 0.0) -> None:
        """Grow every output table that is short of room: to what it will need by the end of
        the run as projected when a ``share`` of the run's events is done, at least double."""
        a = list(self.arrays)
        acct = a[0]
        need = nb.ROOM + 2 * len(self.symbols)
        for used, idx in ((nb.A_NORD, (4, 5)), (nb.A_NTRD, (6, 7)), (nb.A_NEQ, (8, 9))):
            if a[idx[0]].shape[0] - acct[used] < need:
                rows = max(2 * a[idx[0]].shape[0], projected_rows(int(acct[used]), share))
                for j in idx:  # new rows stay untouched (no page faults) until used
                    grown = np.empty((rows, *a[j].shape[1:]), a[j].dtype)
                    grown[: int(acct[used])] = a[j][: int(acct[used])]
                    a[j] = grown
        self.arrays = tuple(a)

    @property
    def acct(self) -> np.ndarray:
        return self.arrays[0]

    @property
    def pos(self) -> np.ndarray:
        return self.arrays[2]

    def equity(self) -> float:
        return float(nb.equity_now(self.arrays[0], self.arrays[2], self.arrays[11]))

    # ------------------------------------------------------------ frames

    def equity_frame(self) -> pd.DataFrame:
        """One row per equity sample, built from the book's arrays in one go: the float
        columns as one (5, n) block (``frames_nb.equity_block``: the drawdown and exposure
        ratios, 0 where undefined) handed to pandas without a copy."""
        n = int(self.acct[nb.A_NEQ])
        block = np.empty((len(EQUITY_FLOATS), n))
        frames_nb.equity_block(self.arrays[8], block)  # one pass over the table
        frame = pd.DataFrame(block.T, columns=list(EQUITY_FLOATS), copy=False)
        frame.insert(0, "ts", to_time(self.arrays[9][:n]))
        return frame

    def trades_frame(self, include_open: bool = True) -> pd.DataFrame:
        """Closed trades, then (``include_open``) the positions still open, marked to market
        (exit_reason 'open'): one frame built from the rows of both."""
        n = int(self.acct[nb.A_NTRD])
        t, tt = self.arrays[6][:n], self.arrays[7][:n]
        if include_open:
            open_t, open_tt = self.open_trade_rows()
            if len(open_t):
                t, tt = np.concatenate([t, open_t]), np.concatenate([tt, open_tt])
        return trade_rows(t, tt, self.symbols)

    def open_trade_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Trade-table rows (float and time parts) of the positions still open."""
        pos, pos_t, inst = self.arrays[2], self.arrays[3], self.arrays[11]
        rows, times = [], []
        for s in np.flatnonzero(pos[:, nb.P_QTY] != 0):
            q = pos[s, nb.P_QTY]
            px = nb.mark(pos, int(s))
            mc = inst[s, nb.I_MULT] * nb.conv_rate(pos, inst, int(s))
            pnl = q * (px - pos[s, nb.P_AVG]) * mc
            rows.append([s, np.sign(q), abs(q), pos[s, nb.P_AVG], px, pnl - pos[s, nb.P_OFEES],
                         pos[s, nb.P_OFEES], min(pos[s, nb.P_MAE], 0.0), max(pos[s, nb.P_MFE], 0.0),
                         nb.R_OPEN, abs(q) * pos[s, nb.P_AVG] * mc])
            times.append([pos_t[s, nb.PT_ENTRY], self.arrays[1][nb.AT_LASTTS]])
        return (np.array(rows, np.float64).reshape(-1, nb.N_TRD),
                np.array(times, np.int64).reshape(-1, nb.N_TRD_T))

    def orders_frame(self) -> pd.DataFrame:
        n = int(self.acct[nb.A_NORD])
        fl, it = np.empty((n, 7)), np.empty((n, 9), np.int64)
        frames_nb.order_block(self.arrays[4], self.arrays[5], fl, it)
        return pd.DataFrame({  # columns of fresh blocks: no copy, no consolidation
            "order_id": np.arange(n),
            "symbol": labels(self.symbols, it[:, 6]),
            "created": to_time(it[:, 7]),
            "kind": labels(KINDS, it[:, 2]),
            "side": it[:, 0],
            "size": fl[:, 0], "target": fl[:, 1],
            "target_mode": labels(TARGET_MODES, it[:, 3], empty_dtype="str"),
            "limit_price": fl[:, 2], "stop_price": fl[:, 3],
            "tif": labels(TIFS, it[:, 4]),
            "status": labels(STATUSES, it[:, 5]),
            "filled_size": fl[:, 4], "avg_fill_price": fl[:, 5],
            "fees": fl[:, 6], "updated": to_time(it[:, 8]),
            "parent_id": it[:, 1],
        }, copy=False)


def projected_rows(used: int, share: float) -> int:
    """Rows a table will need by the end of a run whose first ``share`` of events used
    ``used`` rows, with a quarter to spare; 0 (no projection) before 1 % of the run. Rows
    beyond those used are never touched, so an overestimate costs address space, not
    memory."""
    return int(1.25 * used / share) if share >= 0.01 else 0


def to_time(ns: np.ndarray) -> pd.Series:
    """int64 ns since the epoch -> tz-aware UTC Series (a view cast, no per-row Python)."""
    return pd.Series(np.asarray(ns, dtype=np.int64).view("M8[ns]"), dtype=UTC_NS)


def labels(names: list[str], codes: np.ndarray, empty_dtype: str = "float64") -> pd.Series:
    """``names[code]`` for every code, as pandas' ``str`` dtype, gathered by Arrow in one
    take (no per-row Python). No rows give an ``empty_dtype`` column: float64 is what
    pandas makes of an empty list in a frame (the dtype these columns always had)."""
    codes = np.asarray(codes, dtype=np.int64)  # no copy when they are int64 already
    if not codes.size:
        return pd.Series(np.empty(0), dtype=empty_dtype)
    if len(names) == 1:  # one symbol: every code is 0
        return repeat_label(names[0], codes.size)
    picked = pa.array(names, pa.large_string()).take(pa.array(codes))
    return pd.Series(pd.array(picked, dtype="str"))


def repeat_label(name: str, n: int) -> pd.Series:
    """A ``str`` column of ``n`` copies of ``name`` (e.g. the symbol of a price series):
    the large_string array ``labels`` would gather, its buffers (Arrow-allocated) written
    directly."""
    raw = name.encode()
    offsets, data = pa.allocate_buffer(8 * (n + 1)), pa.allocate_buffer(max(n * len(raw), 1))
    frames_nb.fill_offsets(np.frombuffer(offsets, np.int64), len(raw))
    tile(np.frombuffer(data, np.uint8)[: n * len(raw)], raw)
    return pd.Series(pd.array(pa.LargeStringArray.from_buffers(n, offsets, data), dtype="str"))


def tile(out: np.ndarray, unit: bytes, reps: int = 4096) -> None:
    """Fill the bytes ``out`` (a whole number of units) with copies of ``unit``: a block
    of ``reps`` copies, broadcast over the rows of ``out`` seen as a 2-D array. (``unit * n``
    as the buffer is simpler but took 56 ms against 4 for 20 M copies of 6 bytes: a fresh
    malloc'd block faults in page by page.)"""
    if not out.size:
        return
    block = np.frombuffer(unit * min(reps, out.size // len(unit)), np.uint8)
    rows = out.size // block.size
    out[: rows * block.size].reshape(rows, block.size)[:] = block
    out[rows * block.size:] = block[: out.size - rows * block.size]


def trade_rows(t: np.ndarray, tt: np.ndarray, symbols: list[str]) -> pd.DataFrame:
    n = t.shape[0]
    fl, it = np.empty((n, 8)), np.empty((n, 6), np.int64)
    frames_nb.trade_block(t, tt, fl, it)
    return pd.DataFrame({  # columns of fresh blocks: no copy, no consolidation
        "symbol": labels(symbols, it[:, 1]),
        "direction": it[:, 0], "size": fl[:, 0],
        "entry_time": to_time(it[:, 3]), "entry_price": fl[:, 1],
        "exit_time": to_time(it[:, 4]), "exit_price": fl[:, 2],
        "pnl": fl[:, 3], "return_pct": fl[:, 4], "fees": fl[:, 5],
        "mae": fl[:, 6], "mfe": fl[:, 7], "duration": pd.Series(it[:, 5].view("m8[ns]")),
        "exit_reason": labels(REASONS, it[:, 2]),
    }, copy=False)
