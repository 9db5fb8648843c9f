"""The decisions of `decide()` as SQL, for the vectorised engines (DuckDB, Spark).

The engine hands over a relation with one row per account: an account id column and one column per
feature (named like the feature; see features.py for the types) — without ews_score / ews_level, which
the policy computes. Two queries come back:

- `assignment_query`: one row per account — ews_score, ews_level, segment, experiment, arm, ladder;
- `actions_query`: one row per action due today — the same columns plus kind (step | catch_up | jump),
  step_id, position, channel, template, tone, requires (comma-separated), catch_up.

They are proven equal to `decide()` row by row by the tests (tests/policy/test_policy_sql.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from arrears.domain.expressions import DUCKDB, Expression, SqlDialect, sql_string
from arrears.domain.policy.model import BASIS_POINTS, Policy, Step
from arrears.domain.policy.treatment import ACTION_KINDS

ASSIGNMENT_COLUMNS = ("ews_score", "ews_level", "segment", "experiment", "arm", "ladder")
ACTION_COLUMNS = ("kind", "step_id", "position", "channel", "template", "tone", "requires", "catch_up")


def _int(n: int) -> str:
    return f"({n})" if n < 0 else str(n)


def _bool(b: bool) -> str:
    return "TRUE" if b else "FALSE"


def arm_bucket_sql(experiment: str, account_sql: str, dialect: SqlDialect = DUCKDB) -> str:
    """SQL for `arm_bucket`: int(md5("experiment:account")[:8], 16) % 10000."""
    key = f"{sql_string(experiment + ':')} || CAST({account_sql} AS {dialect.string_type})"
    return f"({dialect.hex8_to_int(f'substr(md5({key}), 1, 8)')} % {BASIS_POINTS})"


@dataclass(frozen=True)
class PolicySql:
    """SQL pieces of one policy in one dialect."""

    policy: Policy
    dialect: SqlDialect = DUCKDB
    account_column: str = "account_id"  # the account id the experiments hash
    key_column: str | None = None  # the column rows are joined and returned by (default: the account id)
    # experiment → a source column that already holds arm_bucket(experiment, account) (else md5 in SQL)
    bucket_columns: tuple[tuple[str, str], ...] = ()

    # --- pieces over a relation with the feature columns
    def _cond(self, expr: Expression, alias: str = "") -> str:
        prefix = f"{alias}." if alias else ""
        return expr.to_sql(self.dialect, lambda name: prefix + self.dialect.quote(name))

    def _account(self, alias: str = "") -> str:
        return (f"{alias}." if alias else "") + self.dialect.quote(self.account_column)

    @property
    def _key_name(self) -> str:
        return self.key_column or self.account_column

    def _key(self, alias: str = "") -> str:
        return (f"{alias}." if alias else "") + self.dialect.quote(self._key_name)

    def columns_read(self) -> tuple[str, ...]:
        """The source columns the policy's queries read: the key, the account id (or the experiments'
        bucket columns), `day_offset` and every feature a condition names (in a stable order)."""
        p = self.policy
        exprs = [r.condition for r in p.early_warning.rows]
        exprs += [s.condition for s in p.segments if s.condition is not None]
        exprs += [st.condition for ladder in p.ladders.values() for st in ladder.steps if st.condition]
        exprs += [j.condition for j in p.jumps]
        names = set().union(*(e.features for e in exprs)) - {"ews_score", "ews_level"}
        # the account id is only read for the experiments' hash, which bucket columns may already hold
        hashed = [c for _, c in self.bucket_columns] or [self.account_column]
        first = dict.fromkeys((self._key_name, *hashed, "day_offset"))
        return (*first, *sorted(names - set(first)))

    def ews_score(self) -> str:
        """The early-warning score: the sum of the points of the rows that hold."""
        rows = self.policy.early_warning.rows
        if not rows:
            return "0"
        return (
            "("
            + " + ".join(
                f"CASE WHEN {self._cond(r.condition)} THEN {_int(r.points)} ELSE 0 END" for r in rows
            )
            + ")"
        )

    def ews_level(self) -> str:
        """The level from the score column `ews_score`."""
        ews, score = self.policy.early_warning, self.dialect.quote("ews_score")
        return f"CASE WHEN {score} >= {_int(ews.high)} THEN 'high' WHEN {score} >= {_int(ews.medium)} THEN 'medium' ELSE 'low' END"

    def segment(self) -> str:
        """First match wins; the last segment is the catch-all."""
        *conditional, last = self.policy.segments
        if not conditional:
            return sql_string(last.name)
        whens = " ".join(
            f"WHEN {self._cond(s.condition)} THEN {sql_string(s.name)}" for s in conditional if s.condition
        )
        return f"CASE {whens} ELSE {sql_string(last.name)} END"

    def experiment(self) -> str:
        """The experiment of the account's segment (column `segment`), or ''."""
        exps = self.policy.experiments
        if not exps:
            return "''"
        whens = " ".join(f"WHEN {sql_string(e.segment)} THEN {sql_string(e.name)}" for e in exps)
        return f"CASE {self.dialect.quote('segment')} {whens} ELSE '' END"

    def arm(self) -> str:
        """The account's arm by the stable hash, or '' outside experiments."""
        exps = self.policy.experiments
        if not exps:
            return "''"
        parts = []
        given = dict(self.bucket_columns)
        for exp in exps:
            if exp.name in given:
                bucket = self.dialect.quote(given[exp.name])
            else:
                bucket = arm_bucket_sql(exp.name, self._account(), self.dialect)
            cumulative, whens = 0, []
            for arm in exp.arms[:-1]:
                cumulative += arm.weight_bp
                whens.append(f"WHEN {bucket} < {cumulative} THEN {sql_string(arm.name)}")
            inner = f"CASE {' '.join(whens)} ELSE {sql_string(exp.arms[-1].name)} END"
            parts.append(f"WHEN {sql_string(exp.segment)} THEN {inner}")
        return f"CASE {self.dialect.quote('segment')} {' '.join(parts)} ELSE '' END"

    def ladder(self) -> str:
        """The ladder from columns `segment` and `arm`; '' for paused segments."""
        q = self.dialect.quote
        whens = []
        for seg in self.policy.segments:
            exp = self.policy.experiment_for(seg.name)
            if exp is not None:
                arms = " ".join(f"WHEN {sql_string(a.name)} THEN {sql_string(a.ladder)}" for a in exp.arms)
                whens.append(f"WHEN {sql_string(seg.name)} THEN CASE {q('arm')} {arms} ELSE '' END")
            elif not seg.pause:
                whens.append(f"WHEN {sql_string(seg.name)} THEN {sql_string(seg.ladder)}")
        return f"CASE {q('segment')} {' '.join(whens)} ELSE '' END" if whens else "''"

    # --- whole queries
    def action_candidates(self) -> str:
        """A condition (over the features and the early-warning columns) that holds for every account that
        can have an action today, whatever its segment: its day offset is a step's, or past a catch-up
        step's, or a jump's condition holds. The actions query can skip every other account."""
        q = self.dialect.quote
        steps = [st for ladder in self.policy.ladders.values() for st in ladder.steps]
        parts = []
        offsets = sorted({st.offset or 0 for st in steps})
        if offsets:
            parts.append(f"{q('day_offset')} IN ({', '.join(_int(o) for o in offsets)})")
        late = [st.offset or 0 for st in steps if st.catch_up]
        if late:
            parts.append(f"{q('day_offset')} > {_int(min(late))}")
        parts += [f"({self._cond(j.condition)})" for j in self.policy.jumps]
        return " OR ".join(parts) if parts else "FALSE"

    def assignment_ctes(
        self, source: str, columns: tuple[str, ...] | None = None, where: str | None = None
    ) -> str:
        """WITH ... p_assigned: the source's columns (or only `columns`) plus the assignment columns, for
        every row (or those where `where` holds over the features and ews_score / ews_level)."""
        q = self.dialect.quote
        kept = "src.*" if columns is None else ", ".join(f"src.{q(c)}" for c in columns)
        return (
            f"WITH p_ews AS (SELECT {kept}, {self.ews_score()} AS {q('ews_score')} FROM {source} AS src),\n"
            f"p_level AS (SELECT p_ews.*, {self.ews_level()} AS {q('ews_level')} FROM p_ews),\n"
            f"p_segment AS (SELECT p_level.*, {self.segment()} AS {q('segment')} FROM p_level"
            f"{'' if where is None else f' WHERE {where}'}),\n"
            f"p_arm AS (SELECT p_segment.*, {self.experiment()} AS {q('experiment')}, {self.arm()} AS {q('arm')} FROM p_segment),\n"
            f"p_assigned AS (SELECT p_arm.*, {self.ladder()} AS {q('ladder')} FROM p_arm)"
        )

    def assignment_query(self, source: str) -> str:
        """One row per account: the account id and the assignment columns."""
        cols = ", ".join(self.dialect.quote(c) for c in (self._key_name, *ASSIGNMENT_COLUMNS))
        return f"{self.assignment_ctes(source)}\nSELECT {cols} FROM p_assigned"

    _STEP_COLUMNS = (
        "ladder, step_id, step_offset, position, step_key, catch_up, channel, template, tone, requires"
    )

    _NO_STEP = "('', '', 0, 0, 0, FALSE, '', '', '', '')"  # the shape of a step row, for a policy with none

    def _step_row(self, ladder: str, step: Step, position: int, key: int) -> str:
        values = (
            sql_string(ladder),
            sql_string(step.id),
            _int(step.offset or 0),
            str(position),
            str(key),
            _bool(step.catch_up),
            sql_string(step.channel),
            sql_string(step.template),
            sql_string(step.tone),
            sql_string(",".join(step.requires)),
        )
        return f"({', '.join(values)})"

    def _not_sent(self, history: str | None, step_id_sql: str) -> str:
        if history is None:
            return "TRUE"
        return (
            f"NOT EXISTS (SELECT 1 FROM {history} AS h WHERE h.{self.dialect.quote(self._key_name)} = "
            f"{self._key('a')} AND h.step_id = {step_id_sql})"
        )

    def actions_query(self, source: str, history: str | None = None) -> str:
        """One row per action due today, exactly as `decide()` lists them.

        `history` names a relation (key column, step_id) of the steps and jumps already sent in each
        account's current delinquency episode; None means nothing was sent. (`candidates_query` and
        `actions_from_assigned` give the same rows in two steps, assigning only the accounts that can act.)
        """
        return f"{self.assignment_ctes(source)},\n{self._actions_tail(history)}"

    def candidates_query(self, source: str) -> str:
        """The assignment of just the accounts that can have an action today, with the columns the actions
        read: materialised, it is what `actions_from_assigned` reads."""
        where = self.action_candidates()
        return f"{self.assignment_ctes(source, self.columns_read(), where)}\nSELECT * FROM p_assigned"

    def actions_from_assigned(self, assigned: str, history: str | None = None) -> str:
        """`actions_query` over a relation that already holds the assignment (`p_assigned`'s columns)."""
        return f"WITH p_assigned AS (SELECT * FROM {assigned}),\n{self._actions_tail(history)}"

    def _actions_tail(self, history: str | None) -> str:
        q = self.dialect.quote
        steps: list[str] = []
        conditions: list[str] = []
        for ladder in self.policy.ladders.values():
            for position, step in enumerate(ladder.steps):
                key = len(steps)
                steps.append(self._step_row(ladder.name, step, position, key))
                if step.condition is not None:
                    conditions.append(f"WHEN {key} THEN {self._cond(step.condition, 'a')}")
        step_condition = f"CASE s.step_key {' '.join(conditions)} ELSE TRUE END" if conditions else "TRUE"
        assigned = f"{self._key('a')}, a.{q('segment')}, a.{q('experiment')}, a.{q('arm')}"
        keep = f"{assigned}, a.{q('ladder')}"
        jump_keep = f"{assigned}, '' AS {q('ladder')}"  # a jump belongs to no ladder
        step_cols = (
            "s.step_id, s.position, s.channel, s.template, s.tone, s.requires, s.catch_up, s.step_offset, "
            f"a.{q('day_offset')} AS account_offset"
        )
        out = f"{q(self._key_name)}, {q('segment')}, {q('experiment')}, {q('arm')}, {q('ladder')}"
        kind_step, kind_late, kind_jump = ACTION_KINDS
        tail = "step_id, position, channel, template, tone, requires, catch_up"
        selects = [
            f"SELECT {out}, '{kind_step}' AS kind, {tail} FROM p_matched WHERE step_offset = account_offset",
            f"SELECT {out}, '{kind_late}' AS kind, {tail} FROM p_late WHERE late_rank = 1",
        ]
        paused = {s.name for s in self.policy.segments if s.pause}
        for position, jump in enumerate(self.policy.jumps):
            names = jump.segments or tuple(s.name for s in self.policy.segments if s.name not in paused)
            if not names:  # every segment is paused: the jump can never fire
                continue
            s = jump.step
            selects.append(
                f"SELECT {jump_keep}, '{kind_jump}' AS kind, "
                f"{sql_string(s.id)} AS step_id, {position} AS position, {sql_string(s.channel)} AS channel, "
                f"{sql_string(s.template)} AS template, {sql_string(s.tone)} AS tone, "
                f"{sql_string(','.join(s.requires))} AS requires, {_bool(s.catch_up)} AS catch_up "
                f"FROM p_assigned AS a WHERE a.{q('segment')} IN ({', '.join(sql_string(n) for n in names)}) "
                f"AND {self._cond(jump.condition, 'a')} AND {self._not_sent(history, sql_string(s.id))}"
            )
        return (
            # one VALUES list (a single scan), not a UNION of one-row SELECTs
            f"p_steps AS (SELECT * FROM (VALUES {', '.join(steps or [self._NO_STEP])}) "
            f"AS s({self._STEP_COLUMNS}){'' if steps else ' WHERE FALSE'}),\n"
            f"p_matched AS (SELECT {keep}, {step_cols} FROM p_assigned AS a JOIN p_steps AS s "
            f"ON s.ladder = a.{q('ladder')} AND (s.step_offset = a.{q('day_offset')} "
            f"OR (s.catch_up AND s.step_offset < a.{q('day_offset')})) "
            f"WHERE {step_condition} AND {self._not_sent(history, 's.step_id')}),\n"
            f"p_late AS (SELECT p_matched.*, DENSE_RANK() OVER (PARTITION BY {q(self._key_name)} "
            f"ORDER BY step_offset DESC) AS late_rank FROM p_matched WHERE step_offset < account_offset)\n"
            + "\nUNION ALL\n".join(selects)
        )
