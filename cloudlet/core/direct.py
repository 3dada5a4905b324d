"""Hot statements run on the SQLite driver directly, with what SQLAlchemy compiled for them.

SQLAlchemy's execution path costs ~30 µs of Python per statement on these machines, more than SQLite
takes to run most of cloudlet's statements; a create runs about 40 of them, all on the event loop thread
(measured: SQLAlchemy's own frames were a third of that thread during the create benchmark).

A statement built once, at import, and marked with ``prepared(...)`` runs through SQLAlchemy the first
time it is executed with a given set of parameter names. That execution is kept as a ``DirectPlan``:
the SQL text, the order of its ``?`` placeholders, the bind processors of their types (datetimes,
JSON), the values fixed in the statement, and SQLAlchemy's own row factory for its result columns.
Later executions bind the parameters and call ``sqlite3`` themselves, and build the same ``Row``
objects. Statements that need SQLAlchemy at execution time (expanding ``IN`` lists, literal-rendered
values, Python-side defaults other than constants) keep running through it.

PostgreSQL statements always go through SQLAlchemy: its async driver path has other costs
(stack-measurements.md), and the prepared marker changes nothing there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult

_PREPARED: dict[int, Any] = {}  # id(statement) -> statement: the statement is kept alive, so its id stays its own
_UNSET = object()
_UNLEARNT = object()


def prepared(statement: Any) -> Any:
    """Mark a statement built once (at import) as hot: on SQLite, it runs on the driver directly."""
    _PREPARED[id(statement)] = statement
    return statement


def is_prepared(statement: Any) -> bool:
    return id(statement) in _PREPARED


class DirectResult:
    """The part of SQLAlchemy's ``Result`` that repositories use on prepared statements, over rows already fetched
    (a caller needing more fails on SQLite, where the whole API suite runs)."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return self._rows

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise (sa.exc.NoResultFound("No row was found when one was required") if not self._rows
                   else sa.exc.MultipleResultsFound("Multiple rows were found when exactly one was required"))
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None


class DirectPlan:
    """One prepared statement, for one set of parameter names, as SQLAlchemy ran it on SQLite."""

    __slots__ = ("sql", "_binds", "_make_rows", "_required", "_lists", "_sql_by_lengths")

    def __init__(self, sql: str, binds: list[tuple[str, Any, Any, str | None]], make_rows: Any) -> None:
        self.sql = sql
        # per placeholder: (parameter key, value fixed in the statement, bind processor, and for a list that
        # expands into several placeholders, the token that stands for them in ``sql``)
        self._binds = binds
        self._make_rows = make_rows  # None: the statement returns no rows
        self._required = frozenset(key for key, fixed, _, _ in binds if fixed is _UNSET)
        self._lists = [(key, token) for key, _, _, token in binds if token is not None]
        self._sql_by_lengths: dict[tuple[int, ...], str] = {}

    @classmethod
    def learn(cls, result: CursorResult[Any], many: bool) -> DirectPlan | None:
        """The plan of the execution behind ``result``, or None when it needs SQLAlchemy each time."""
        context = result.context
        compiled = context.compiled
        if compiled is None or not compiled.positional or compiled.literal_execute_params:
            return None
        expanding = {compiled.bind_names[b] for b in compiled.post_compile_params}
        if any(not b.expanding or b.literal_execute or isinstance(b.type, sa.TupleType)
               for b in compiled.post_compile_params):
            return None  # tuple IN, literal rendering: SQLAlchemy's job
        if not expanding and context.statement != compiled.string:
            return None
        fixed: dict[str, Any] = {}
        for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
            default = column.default if compiled.insert_prefetch else column.onupdate
            if default is None or not default.is_scalar:
                return None
            fixed[column.key] = default.arg
        key_of: dict[str, str] = {}
        for bind, name in compiled.bind_names.items():
            if bind.callable is not None:
                return None
            key_of[name] = bind.key
            if not bind.required and name not in fixed:
                fixed[name] = bind.value
        processors = compiled._bind_processors
        binds = [(key_of.get(name, name), fixed.get(name, _UNSET), processors.get(name),
                  f"__[POSTCOMPILE_{name}]" if name in expanding else None)
                 for name in compiled.positiontup or ()]
        if many and (expanding or result.returns_rows):
            return None
        make_rows = None
        if result.returns_rows:
            # SQLAlchemy's own row factory for this statement (its Row class, with the columns' result
            # processors): the second of ``_row_getter``'s three in 2.1. Another shape: leave it to SQLAlchemy.
            getters = getattr(result, "_row_getter", None)
            if not (isinstance(getters, tuple) and len(getters) == 3 and callable(getters[1])):
                return None
            make_rows = getters[1]
        return cls(compiled.string if expanding else context.statement, binds, make_rows)

    def accepts(self, parameters: dict[str, Any]) -> bool:
        """Whether every placeholder without a fixed value has a parameter, and every list has items (else
        SQLAlchemy runs it: it says what is missing, and renders an empty IN)."""
        return self._required.issubset(parameters) and all(parameters[key] for key, _ in self._lists)

    def bind(self, parameters: dict[str, Any]) -> list[Any]:
        values: list[Any] = []
        for key, fixed, process, token in self._binds:
            value = parameters.get(key, fixed) if fixed is not _UNSET else parameters[key]
            if token is not None:
                values.extend(value if process is None else map(process, value))
            else:
                values.append(process(value) if process is not None else value)
        return values

    def sql_for(self, parameters: dict[str, Any]) -> str:
        """The SQL text, with as many placeholders in each IN as its list has items."""
        if not self._lists:
            return self.sql
        lengths = tuple(len(parameters[key]) for key, _ in self._lists)
        sql = self._sql_by_lengths.get(lengths)
        if sql is None:
            sql = self.sql
            for (_, token), length in zip(self._lists, lengths, strict=True):
                sql = sql.replace(token, ", ".join("?" * length))
            self._sql_by_lengths[lengths] = sql
        return sql

    def run(self, driver: sqlite3.Connection, parameters: dict[str, Any] | Sequence[dict[str, Any]]) -> DirectResult:
        try:
            if isinstance(parameters, dict):
                cursor = driver.execute(self.sql_for(parameters), self.bind(parameters))
            else:  # executemany: learn() makes no plan for one with lists or rows
                cursor = driver.executemany(self.sql, [self.bind(p) for p in parameters])
            if self._make_rows is None:
                return DirectResult([], cursor.rowcount)
            rows = cursor.fetchall()
            return DirectResult(self._make_rows(rows), cursor.rowcount)
        except sqlite3.Error as exc:  # the exception SQLAlchemy would have raised, so handlers see one kind
            raise sa.exc.DBAPIError.instance(self.sql, parameters, exc, sqlite3.Error) from exc


class DirectPlans:
    """One database's plans, per (prepared statement, parameter names, executemany or not); None where the
    statement needs SQLAlchemy each time."""

    def __init__(self) -> None:
        self._plans: dict[tuple[int, tuple[str, ...], bool], DirectPlan | None] = {}

    def execute(self, conn: Connection, driver: sqlite3.Connection, statement: Any, parameters: Any) -> Any:
        """Run a prepared statement on ``conn`` (its sqlite3 connection: ``driver``): directly once learnt."""
        params = {} if parameters is None else parameters
        many = not isinstance(params, dict)
        key = (id(statement), tuple(params[0]) if many and params else tuple(params), many)
        plan = self._plans.get(key, _UNLEARNT)
        if isinstance(plan, DirectPlan) and all(map(plan.accepts, params if many else (params,))):
            return plan.run(driver, params)
        result = conn.execute(statement, parameters)
        if plan is _UNLEARNT and (params or not many):
            self._plans[key] = DirectPlan.learn(result, many)
        return result
