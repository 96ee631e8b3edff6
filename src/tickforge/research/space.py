"""Parameter spaces: grids, random draws, and safely parsed constraints like ``fast<slow``.

Constraints are parsed with :mod:`ast` and evaluated by a small walker that knows only
comparisons, ``and``/``or``/``not``, arithmetic (+ - * / %) on parameter names and numbers:
no ``eval``, no attribute access, no calls.
"""

from __future__ import annotations

import ast
import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tickforge.errors import ConfigError

Scalar = int | float | str | bool

_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Mod: operator.mod,
}


class Constraint:
    """One constraint expression over parameter names, e.g. ``fast < slow`` or
    ``slow - fast >= 10 and stop > 0``. Evaluates on scalars or NumPy columns."""

    def __init__(self, text: str, names: Sequence[str]) -> None:
        self.text = text
        try:
            self.tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as exc:
            raise ConfigError(f"constraint '{text}' is not an expression", field="constraint",
                              hint="e.g. 'fast<slow' or 'slow - fast >= 10'") from exc
        self._check(self.tree, set(names))

    def _check(self, node: ast.AST, names: set[str]) -> None:
        allowed = (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.BinOp, ast.Name, ast.Constant,
                   ast.And, ast.Or, ast.Not, ast.USub, ast.Load, *_COMPARE, *_ARITH)
        for sub in ast.walk(node):
            if not isinstance(sub, allowed):
                raise ConfigError(f"constraint '{self.text}' uses {type(sub).__name__}",
                                  field="constraint", hint="only comparisons, and/or/not, "
                                  "+ - * / % of parameter names and numbers are allowed")
            if isinstance(sub, ast.Name) and sub.id not in names:
                raise ConfigError(f"constraint '{self.text}' names unknown parameter '{sub.id}'",
                                  field="constraint", hint=f"parameters: {sorted(names)}")
            if isinstance(sub, ast.Constant) and not isinstance(sub.value, int | float):
                raise ConfigError(f"constraint '{self.text}' has a non-numeric constant",
                                  field="constraint")

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        return _eval(self.tree, values)


def _eval(node: ast.AST, values: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp):
        return _ARITH[type(node.op)](_eval(node.left, values), _eval(node.right, values))
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, values)
        return np.logical_not(operand) if isinstance(node.op, ast.Not) else -operand
    if isinstance(node, ast.BoolOp):
        parts = [_eval(v, values) for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        out = parts[0]
        for part in parts[1:]:
            out = combine(out, part)
        return out
    if isinstance(node, ast.Compare):
        left, out = _eval(node.left, values), True
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, values)
            out = np.logical_and(out, _COMPARE[type(op)](left, right))
            left = right
        return out
    raise ConfigError(f"unsupported constraint element {type(node).__name__}", field="constraint")


def apply_constraints(frame: pd.DataFrame, constraints: Sequence[str]) -> pd.DataFrame:
    """Rows of ``frame`` (one column per parameter) that satisfy every constraint."""
    if frame.empty or not constraints:
        return frame
    columns = {c: frame[c].to_numpy() for c in frame.columns}
    mask = np.ones(len(frame), dtype=bool)
    for text in constraints:
        mask &= np.broadcast_to(np.asarray(Constraint(text, list(frame.columns)).evaluate(columns),
                                           dtype=bool), mask.shape)
    return frame[mask].reset_index(drop=True)


def satisfies(params: Mapping[str, Any], constraints: Sequence[str]) -> bool:
    return all(bool(Constraint(t, list(params)).evaluate(params)) for t in constraints)


def grid_frame(grid: Mapping[str, Sequence[Scalar]]) -> pd.DataFrame:
    """Cartesian product of the grid, one column per parameter (first name varies slowest)."""
    if not grid:
        return pd.DataFrame([{}])
    for name, values in grid.items():
        if len(values) == 0:
            raise ConfigError(f"grid for '{name}' has no values", field=name)
    names = list(grid)
    rows = list(itertools.product(*(list(grid[n]) for n in names)))
    return pd.DataFrame(rows, columns=names)


def random_frame(space: Mapping[str, tuple[float, float]], n: int, seed: int,
                 integer: Mapping[str, bool]) -> pd.DataFrame:
    """``n`` uniform draws from ``space`` (name -> (low, high)); integers where ``integer``."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}
    for name, (low, high) in space.items():
        if high < low:
            raise ConfigError(f"range of '{name}' has high < low", field=name)
        if integer.get(name, False):
            data[name] = rng.integers(int(low), int(high), endpoint=True, size=n)
        else:
            data[name] = rng.uniform(low, high, size=n)
    return pd.DataFrame(data)


def to_param_sets(frame: pd.DataFrame) -> list[dict[str, Scalar]]:
    """Rows as plain Python dicts (numpy scalars converted), ready for BacktestConfig.params."""
    return [{str(k): v.item() if hasattr(v, "item") else v for k, v in row.items()}
            for row in frame.to_dict("records")]
