"""The one small condition language of policies, compiled to Python and to SQL with identical results.

Grammar (lowest precedence first)::

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum [("==" | "!=" | "<" | "<=" | ">" | ">=") sum | ["not"] "in" "[" literal ("," literal)* "]"]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | primary
    primary    := number | 'string' | "string" | true | false | feature | "(" expr ")"
    feature    := name ["." name]      (score.self_cure_30d: an active model's probability)

The text is tokenized and parsed here (never handed to Python's eval or ast), then type-checked
against the feature registry: unknown features, misspelt values of str features, strings compared
with numbers, money added to plain numbers and ordering comparisons on strings are errors with the
column where they happen.

Numbers are exact fixed-point integers: every numeric value is an integer with a scale (its decimal
places). Money features have the currency's minor digits as scale (fen: 2), ratios 4 (basis points),
plain integers 0, a literal its own decimals. So `overdue_total > 500` compiles to
`overdue_total > 50000` and `on_time_ratio >= 0.9` to `on_time_ratio >= 9000`: every engine compares
the same integers. `+ - *` are exact. `a / b` is computed to max(4, decimals of a) decimal places,
truncated toward zero (SQL integer division truncates; Python's // floors, so the Python side
truncates explicitly), and `a / 0` is 0 — defined rather than null, so no engine sees a null.
Values must stay within signed 64 bits; beyond that every engine raises an error instead of
wrapping (Python raises ArithmeticOverflow; DuckDB and Spark with ANSI mode raise their own).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from arrears.domain.errors import ArrearsError, InputError
from arrears.domain.features import FeatureSchema, FeatureType, FeatureValue

Row = Mapping[str, FeatureValue]
Evaluator = Callable[[Row], Any]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
DIVISION_SCALE = 4
MAX_SCALE = 18  # 10**18 still fits in 64 bits
MAX_LENGTH = 4000
MAX_HEIGHT = 120  # bounds recursion when compiling and evaluating
MAX_NESTING = 40
KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})
NAMESPACES = frozenset({"score"})  # `score.<target>`: the active risk models' probabilities
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
_OPERATORS = (*COMPARISONS, "+", "-", "*", "/", "(", ")", "[", "]", ",")
_HINTS = {
    "=": "use == to compare",
    "&": "use 'and'",
    "|": "use 'or'",
    "!": "use 'not' (or != for 'not equal')",
    "%": "the remainder operator is not supported",
    ".": "write decimals with a leading digit (0.5); attribute access is not supported",
    "`": "quote strings with ' or \"",
}
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_ASCII_DIGITS = frozenset("0123456789")


class ExpressionError(InputError):
    """An expression that does not parse or type-check; `column` is 1-based within the expression."""

    def __init__(self, reason: str, expression: str, column: int, *, field: str | None = None) -> None:
        self.reason = reason
        self.expression = expression
        self.column = column
        super().__init__(f"{reason} at column {column} of `{expression}`", field=field)

    def at(self, field: str) -> ExpressionError:
        """The same error attached to a field of a document (e.g. `segments[2].when`)."""
        return ExpressionError(self.reason, self.expression, self.column, field=field)


class ArithmeticOverflow(ArrearsError):
    """A value left the signed 64-bit range: SQL engines would fail too, so the Python engine fails."""


# ---------------------------------------------------------------------------------------------- SQL
@dataclass(frozen=True, slots=True)
class SqlDialect:
    """What differs between the SQL engines; everything else is portable SQL."""

    name: str
    quote_char: str
    int_div: str  # integer division that truncates toward zero
    string_type: str

    def quote(self, identifier: str) -> str:
        return f"{self.quote_char}{identifier}{self.quote_char}"

    def hex8_to_int(self, sql: str) -> str:
        """The integer value of an 8-hex-digit string expression."""
        if self.name == "spark":
            return f"CAST(conv({sql}, 16, 10) AS BIGINT)"
        return f"CAST('0x' || {sql} AS BIGINT)"


DUCKDB = SqlDialect("duckdb", '"', "//", "VARCHAR")
SPARK = SqlDialect("spark", "`", "div", "STRING")
DIALECTS = {d.name: d for d in (DUCKDB, SPARK)}


def sql_string(value: str) -> str:
    """A SQL string literal; the language admits no backslashes or control characters in strings."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class _Sql:
    dialect: SqlDialect
    column: Callable[[str], str]


# -------------------------------------------------------------------------------------------- tokens
@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # num | str | name | op | end
    text: str
    start: int  # 0-based offset into the expression
    value: Any = None


def tokenize(text: str) -> list[Token]:
    """Split an expression into tokens; anything outside the language is an error naming its column."""
    tokens: list[Token] = []
    i, n = 0, len(text)

    def fail(reason: str, at: int) -> ExpressionError:
        return ExpressionError(reason, text, at + 1)

    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in _ASCII_DIGITS:
            j = i
            while j < n and text[j] in _ASCII_DIGITS:
                j += 1
            if j < n and text[j] == ".":
                k = j + 1
                while k < n and text[k] in _ASCII_DIGITS:
                    k += 1
                if k == j + 1:
                    raise fail("a decimal point needs digits after it", j)
                j = k
            if j < n and (text[j] in _ASCII_LETTERS or text[j] == "."):
                raise fail(f"malformed number {text[i : j + 1]!r}", i)
            tokens.append(Token("num", text[i:j], i, Decimal(text[i:j])))
            i = j
        elif c in _ASCII_LETTERS:
            j = i
            while j < n and (text[j] in _ASCII_LETTERS or text[j] in _ASCII_DIGITS):
                j += 1
            # a namespaced name: a model's score (`score.self_cure_30d`)
            if j + 1 < n and text[j] == "." and text[j + 1] in _ASCII_LETTERS and text[i:j] in NAMESPACES:
                j += 1
                while j < n and (text[j] in _ASCII_LETTERS or text[j] in _ASCII_DIGITS):
                    j += 1
            tokens.append(Token("name", text[i:j], i))
            i = j
        elif c in "'\"":
            j, chars = i + 1, []
            while True:
                if j >= n:
                    raise fail("unterminated string", i)
                ch = text[j]
                if ch == c:
                    if j + 1 < n and text[j + 1] == c:  # a doubled quote stands for itself, as in SQL
                        chars.append(c)
                        j += 2
                        continue
                    break
                if ch == "\\" or ord(ch) < 32:
                    raise fail("strings cannot contain backslashes or control characters", j)
                chars.append(ch)
                j += 1
            tokens.append(Token("str", text[i : j + 1], i, "".join(chars)))
            i = j + 1
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                hint = _HINTS.get(c)
                raise fail(f"unexpected {c!r}" + (f": {hint}" if hint else ""), i)
            tokens.append(Token("op", op, i))
            i += len(op)
    tokens.append(Token("end", "", n))
    return tokens


# ---------------------------------------------------------------------------------------------- types
@dataclass(frozen=True, slots=True)
class ExprType:
    """bool, str or num; a num has a scale (decimal places), may be money, and may be a constant."""

    kind: str
    scale: int = 0
    money: bool = False
    const: bool = False

    def describe(self) -> str:
        if self.kind == "num":
            return "money" if self.money else "a number"
        return "true/false" if self.kind == "bool" else "a string"


BOOL = ExprType("bool")
STR = ExprType("str")


def _checked(value: int) -> int:
    if INT64_MIN <= value <= INT64_MAX:
        return value
    raise ArithmeticOverflow(f"value {value} is outside the signed 64-bit range")


def truncated_division(numerator: int, denominator: int) -> int:
    """Integer division truncating toward zero, as SQL does; x / 0 is 0 by the language's definition."""
    if denominator == 0:
        return 0
    q = abs(numerator) // abs(denominator)
    return q if (numerator >= 0) == (denominator > 0) else -q


# ---------------------------------------------------------------------------------------------- nodes
class Node:
    """A type-checked node; `start`/`end` are 0-based offsets of its source text."""

    __slots__ = ("end", "height", "start", "type")

    def __init__(self, type_: ExprType, start: int, end: int, children: tuple[Node, ...] = ()) -> None:
        self.type = type_
        self.start = start
        self.end = end
        self.height: int = 1 + max((c.height for c in children), default=0)

    def children(self) -> tuple[Node, ...]:
        return ()

    def py(self) -> Evaluator:
        raise NotImplementedError

    def sql(self, ctx: _Sql) -> str:
        raise NotImplementedError

    def operand_sql(self, ctx: _Sql) -> str:
        """SQL for this node as an operand of arithmetic (columns widened to BIGINT first)."""
        return self.sql(ctx)


class Const(Node):
    __slots__ = ("value",)

    def __init__(self, value: Any, type_: ExprType, start: int, end: int) -> None:
        super().__init__(type_, start, end)
        self.value = value

    def py(self) -> Evaluator:
        value = self.value
        return lambda _row: value

    def sql(self, ctx: _Sql) -> str:
        if self.type.kind == "bool":
            return "TRUE" if self.value else "FALSE"
        if self.type.kind == "str":
            return sql_string(self.value)
        return f"({self.value})" if self.value < 0 else str(self.value)


class Ref(Node):
    __slots__ = ("name",)

    def __init__(self, name: str, type_: ExprType, start: int, end: int) -> None:
        super().__init__(type_, start, end)
        self.name = name

    def py(self) -> Evaluator:
        return operator.itemgetter(self.name)

    def sql(self, ctx: _Sql) -> str:
        return ctx.column(self.name)

    def operand_sql(self, ctx: _Sql) -> str:
        return f"CAST({ctx.column(self.name)} AS BIGINT)"


def _scaled_py(node: Node, to_scale: int) -> Evaluator:
    fn = node.py()
    if to_scale == node.type.scale:
        return fn
    factor = 10 ** (to_scale - node.type.scale)
    return lambda row: _checked(fn(row) * factor)


def _scaled_sql(node: Node, to_scale: int, ctx: _Sql, *, widen: bool = True) -> str:
    """SQL for `node` at a larger scale; `widen` when the result is an operand of arithmetic."""
    if to_scale == node.type.scale:
        return node.operand_sql(ctx) if widen else node.sql(ctx)
    factor = 10 ** (to_scale - node.type.scale)
    if isinstance(node, Const):
        return Const(node.value * factor, node.type, node.start, node.end).sql(ctx)
    return f"({node.operand_sql(ctx)} * {factor})"


class Neg(Node):
    __slots__ = ("operand",)

    def __init__(self, operand: Node, start: int, end: int) -> None:
        super().__init__(operand.type, start, end, (operand,))
        self.operand = operand

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def py(self) -> Evaluator:
        fn = self.operand.py()
        return lambda row: _checked(-fn(row))

    def sql(self, ctx: _Sql) -> str:
        return f"(-{self.operand.operand_sql(ctx)})"


class Binary(Node):
    """A node with an operator between two operands."""

    __slots__ = ("left", "op", "right")

    def __init__(self, op: str, left: Node, right: Node, type_: ExprType = BOOL) -> None:
        super().__init__(type_, left.start, right.end, (left, right))
        self.op, self.left, self.right = op, left, right

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


class Arith(Binary):
    __slots__ = ()

    def _division_shift(self) -> int:
        # (a / 10^sa) / (b / 10^sb) at scale s  =  a * 10^(s - sa + sb) / b
        return self.type.scale - self.left.type.scale + self.right.type.scale

    def py(self) -> Evaluator:
        op = self.op
        if op == "/":
            num, den = self.left.py(), self.right.py()
            factor = 10 ** self._division_shift()

            def divide(row: Row) -> int:
                d = den(row)
                if d == 0:
                    return 0
                return truncated_division(_checked(num(row) * factor), d)

            return divide
        if op == "*":
            lf, rf = self.left.py(), self.right.py()
            return lambda row: _checked(lf(row) * rf(row))
        lf, rf = _scaled_py(self.left, self.type.scale), _scaled_py(self.right, self.type.scale)
        if op == "+":
            return lambda row: _checked(lf(row) + rf(row))
        return lambda row: _checked(lf(row) - rf(row))

    def sql(self, ctx: _Sql) -> str:
        if self.op == "/":
            den = self.right.operand_sql(ctx)
            shift = self._division_shift()
            num = _scaled_sql(self.left, self.left.type.scale + shift, ctx)
            if isinstance(self.right, Const):  # a literal divisor is never 0 (rejected when parsed)
                return f"({num} {ctx.dialect.int_div} {den})"
            return f"(CASE WHEN {den} = 0 THEN 0 ELSE {num} {ctx.dialect.int_div} {den} END)"
        if self.op == "*":
            return f"({self.left.operand_sql(ctx)} * {self.right.operand_sql(ctx)})"
        scale = self.type.scale
        return f"({_scaled_sql(self.left, scale, ctx)} {self.op} {_scaled_sql(self.right, scale, ctx)})"


_PY_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_SQL_COMPARE = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class Compare(Binary):
    __slots__ = ()

    def _scale(self) -> int:
        return max(self.left.type.scale, self.right.type.scale)

    def py(self) -> Evaluator:
        cmp = _PY_COMPARE[self.op]
        if self.left.type.kind == "num":
            lf, rf = _scaled_py(self.left, self._scale()), _scaled_py(self.right, self._scale())
        else:
            lf, rf = self.left.py(), self.right.py()
        return lambda row: cmp(lf(row), rf(row))

    def sql(self, ctx: _Sql) -> str:
        if self.left.type.kind == "num":
            scale = self._scale()
            left = _scaled_sql(self.left, scale, ctx, widen=False)
            right = _scaled_sql(self.right, scale, ctx, widen=False)
        else:
            left, right = self.left.sql(ctx), self.right.sql(ctx)
        return f"({left} {_SQL_COMPARE[self.op]} {right})"


class Member(Node):
    __slots__ = ("items", "negated", "operand")

    def __init__(self, operand: Node, items: tuple[Const, ...], negated: bool, end: int) -> None:
        super().__init__(BOOL, operand.start, end, (operand, *items))
        self.operand, self.items, self.negated = operand, items, negated

    def children(self) -> tuple[Node, ...]:
        return (self.operand, *self.items)

    def _scale(self) -> int:
        return max(n.type.scale for n in (self.operand, *self.items))

    def py(self) -> Evaluator:
        if self.operand.type.kind == "num":
            scale = self._scale()
            fn = _scaled_py(self.operand, scale)
            values = frozenset(i.value * 10 ** (scale - i.type.scale) for i in self.items)
        else:
            fn = self.operand.py()
            values = frozenset(i.value for i in self.items)
        if self.negated:
            return lambda row: fn(row) not in values
        return lambda row: fn(row) in values

    def sql(self, ctx: _Sql) -> str:
        if self.operand.type.kind == "num":
            scale = self._scale()
            left = _scaled_sql(self.operand, scale, ctx, widen=False)
            items = [_scaled_sql(i, scale, ctx, widen=False) for i in self.items]
        else:
            left, items = self.operand.sql(ctx), [i.sql(ctx) for i in self.items]
        return f"({left} {'NOT IN' if self.negated else 'IN'} ({', '.join(items)}))"


class Logic(Binary):
    __slots__ = ()

    def py(self) -> Evaluator:
        lf, rf = self.left.py(), self.right.py()
        if self.op == "and":
            return lambda row: bool(lf(row)) and bool(rf(row))
        return lambda row: bool(lf(row)) or bool(rf(row))

    def sql(self, ctx: _Sql) -> str:
        return f"({self.left.sql(ctx)} {self.op.upper()} {self.right.sql(ctx)})"


class Not(Node):
    __slots__ = ("operand",)

    def __init__(self, operand: Node, start: int) -> None:
        super().__init__(BOOL, start, operand.end, (operand,))
        self.operand = operand

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def py(self) -> Evaluator:
        fn = self.operand.py()
        return lambda row: not fn(row)

    def sql(self, ctx: _Sql) -> str:
        return f"(NOT {self.operand.sql(ctx)})"


# --------------------------------------------------------------------------------------------- parser
class _Parser:
    def __init__(self, text: str, schema: FeatureSchema) -> None:
        self.text = text
        self.schema = schema
        self.tokens = tokenize(text)
        self.pos = 0
        self.nesting = 0  # open parentheses, 'not's and unary minuses: bounds the parser's recursion

    # --- token access
    def error(self, reason: str, at: int) -> ExpressionError:
        return ExpressionError(reason, self.text, at + 1)

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def at_keyword(self, word: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == "name" and token.text == word

    def at_op(self, *ops: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.text in ops

    def expect_op(self, op: str, what: str) -> Token:
        if not self.at_op(op):
            raise self.error(f"expected {op!r} {what}, found {self.describe(self.peek())}", self.peek().start)
        return self.take()

    @staticmethod
    def describe(token: Token) -> str:
        return "the end" if token.kind == "end" else repr(token.text)

    def nest(self, at: int) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error("expression is nested too deeply", at)

    def limit(self, node: Node) -> Node:
        if node.height > MAX_HEIGHT:
            raise self.error("expression is nested too deeply", node.start)
        return node

    # --- grammar
    def parse(self) -> Node:
        if len(self.text) > MAX_LENGTH:
            raise self.error(f"expression longer than {MAX_LENGTH} characters", 0)
        if self.peek().kind == "end":
            raise self.error("empty expression", 0)
        node = self.or_()
        token = self.peek()
        if token.kind != "end":
            raise self.error(f"unexpected {self.describe(token)} (a missing 'and' / 'or'?)", token.start)
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.at_keyword("or"):
            self.take()
            node = self.limit(Logic("or", self.need_bool(node, "or"), self.need_bool(self.and_(), "or")))
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.at_keyword("and"):
            self.take()
            node = self.limit(Logic("and", self.need_bool(node, "and"), self.need_bool(self.not_(), "and")))
        return node

    def not_(self) -> Node:
        if self.at_keyword("not"):
            start = self.take().start
            self.nest(start)
            node = self.limit(Not(self.need_bool(self.not_(), "not"), start))
            self.nesting -= 1
            return node
        return self.comparison()

    def need_bool(self, node: Node, word: str) -> Node:
        if node.type.kind != "bool":
            raise self.error(
                f"'{word}' needs true/false operands, this is {node.type.describe()}", node.start
            )
        return node

    def comparison(self) -> Node:
        left = self.sum_()
        if self.at_op(*COMPARISONS):
            op = self.take()
            right = self.sum_()
            node = self.compare(op, left, right)
            if self.at_op(*COMPARISONS):
                raise self.error(
                    "chained comparisons are not supported: join them with 'and'", self.peek().start
                )
            return node
        if self.at_keyword("in") or (self.at_keyword("not") and self.at_keyword("in", 1)):
            negated = self.at_keyword("not")
            if negated:
                self.take()
            self.take()
            return self.member(left, negated)
        return left

    def sum_(self) -> Node:
        node = self.product()
        while self.at_op("+", "-"):
            op = self.take()
            node = self.arith(op, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.at_op("*", "/"):
            op = self.take()
            node = self.arith(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at_op("-"):
            start = self.take().start
            self.nest(start)
            operand = self.unary()
            self.nesting -= 1
            if operand.type.kind != "num":
                raise self.error(f"cannot negate {operand.type.describe()}", start)
            if isinstance(operand, Const):
                return Const(_checked(-operand.value), operand.type, start, operand.end)
            return self.limit(Neg(operand, start, operand.end))
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "num":
            return self.number(token)
        if token.kind == "str":
            return Const(token.value, ExprType("str", const=True), token.start, token.start + len(token.text))
        if token.kind == "op" and token.text == "(":
            self.nest(token.start)
            inner = self.or_()
            close = self.expect_op(")", "to close the parenthesis")
            self.nesting -= 1
            inner.start, inner.end = token.start, close.start + 1
            return inner
        if token.kind == "name":
            return self.name(token)
        raise self.error(f"expected a value, found {self.describe(token)}", token.start)

    def number(self, token: Token) -> Const:
        value: Decimal = token.value
        scale = max(0, -int(value.as_tuple().exponent))
        if scale > MAX_SCALE or len(token.text.replace(".", "")) > 18:
            raise self.error(f"number {token.text} has too many digits", token.start)
        return Const(
            int(value.scaleb(scale)),
            ExprType("num", scale, const=True),
            token.start,
            token.start + len(token.text),
        )

    def name(self, token: Token) -> Node:
        word, end = token.text, token.start + len(token.text)
        if word in ("true", "false"):
            return Const(word == "true", ExprType("bool", const=True), token.start, end)
        if word in KEYWORDS:
            raise self.error(f"expected a value, found {word!r}", token.start)
        if word.lower() in KEYWORDS:
            raise self.error(f"write {word.lower()!r} in lower case", token.start)
        if self.at_op("("):
            raise self.error(f"function calls are not supported ({word}(...))", token.start)
        feature = self.schema.get(word)
        if feature is None:
            raise self.error(f"unknown feature {word!r}{self.schema.suggest(word)}", token.start)
        kind = {FeatureType.BOOL: "bool", FeatureType.STR: "str"}.get(feature.type, "num")
        type_ = ExprType(kind, self.schema.scale(feature), feature.type is FeatureType.MONEY)
        return Ref(word, type_, token.start, end)

    # --- typing
    def money_of(self, left: Node, right: Node, verb: str, at: int) -> bool:
        lt, rt = left.type, right.type
        if lt.money == rt.money:
            return lt.money
        if lt.const or rt.const:  # a constant takes the unit of the other side: `overdue_total > 500` is yuan
            return True
        raise self.error(f"cannot {verb} money and a number that is not money", at)

    def check_scale(self, type_: ExprType, at: int) -> ExprType:
        if type_.scale > MAX_SCALE:
            raise self.error(f"more than {MAX_SCALE} decimal places: simplify the arithmetic", at)
        return type_

    def arith(self, token: Token, left: Node, right: Node) -> Node:
        op = token.text
        for side in (left, right):
            if side.type.kind != "num":
                raise self.error(f"'{op}' needs numbers, this is {side.type.describe()}", side.start)
        lt, rt = left.type, right.type
        const = lt.const and rt.const
        if op in "+-":
            money = self.money_of(left, right, "add" if op == "+" else "subtract", token.start)
            type_ = ExprType("num", max(lt.scale, rt.scale), money, const)
        elif op == "*":
            if lt.money and rt.money:
                raise self.error("cannot multiply money by money", token.start)
            type_ = ExprType("num", lt.scale + rt.scale, lt.money or rt.money, const)
        else:
            if rt.money and not lt.money:
                raise self.error("cannot divide a number by money", token.start)
            if isinstance(right, Const) and right.value == 0:
                raise self.error("division by zero", right.start)
            type_ = ExprType("num", max(lt.scale, DIVISION_SCALE), lt.money and not rt.money, const)
        node = Arith(op, left, right, self.check_scale(type_, token.start))
        if const:  # folded now, so SQL never sees literal-only arithmetic (32-bit literals would overflow)
            try:
                return Const(node.py()({}), type_, left.start, right.end)
            except ArithmeticOverflow:
                raise self.error("constant outside the 64-bit range", left.start) from None
        return self.limit(node)

    def compare(self, token: Token, left: Node, right: Node) -> Node:
        op = token.text
        lt, rt = left.type, right.type
        if lt.kind != rt.kind:
            raise self.error(f"cannot compare {lt.describe()} with {rt.describe()}", token.start)
        if lt.kind == "num":
            self.money_of(left, right, "compare", token.start)
            self.check_scale(ExprType("num", max(lt.scale, rt.scale)), token.start)
        elif op not in ("==", "!="):
            raise self.error(f"{lt.describe()} can only be compared with ==, != or in", token.start)
        if lt.kind == "str":
            self.known_value(left, right)
            self.known_value(right, left)
        return self.limit(Compare(op, left, right))

    def known_value(self, ref: Node, value: Node) -> None:
        if isinstance(ref, Ref) and isinstance(value, Const):
            known = self.schema.known_values(ref.name)
            if known and value.value not in known:
                raise self.error(
                    f"{value.value!r} is not a value of {ref.name} (known: {', '.join(sorted(known))})",
                    value.start,
                )

    def member(self, operand: Node, negated: bool) -> Node:
        if operand.type.kind == "bool":
            raise self.error("'in' needs a number or a string on its left, not true/false", operand.start)
        self.expect_op("[", "to start the list after 'in'")
        items: list[Const] = []
        while True:
            item = self.unary()
            if not isinstance(item, Const) or item.type.kind == "bool":
                raise self.error("a list after 'in' holds literal numbers or strings only", item.start)
            if item.type.kind != operand.type.kind:
                raise self.error(
                    f"cannot compare {operand.type.describe()} with {item.type.describe()}", item.start
                )
            if item.type.kind == "str":
                self.known_value(operand, item)
            items.append(item)
            if self.at_op(","):
                self.take()
                continue
            close = self.expect_op("]", "to close the list")
            break
        if operand.type.kind == "num":
            self.money_of(operand, items[0], "compare", operand.start)
            self.check_scale(ExprType("num", max(n.type.scale for n in (operand, *items))), operand.start)
        return self.limit(Member(operand, tuple(items), negated, close.start + 1))


# ------------------------------------------------------------------------------------------ the result
def _atoms(node: Node) -> list[Node]:
    if isinstance(node, Logic | Not):
        return [a for child in node.children() for a in _atoms(child)]
    return [node]


@dataclass(frozen=True, eq=False)
class Expression:
    """A parsed, type-checked expression with its Python evaluator; compiles to SQL on demand."""

    text: str
    root: Node = field(repr=False)
    _evaluate: Evaluator = field(repr=False)
    _atoms: tuple[tuple[str, Evaluator], ...] = field(repr=False)

    @property
    def type(self) -> ExprType:
        return self.root.type

    @property
    def is_condition(self) -> bool:
        return self.root.type.kind == "bool"

    @property
    def features(self) -> frozenset[str]:
        """The features the expression reads."""
        found: set[str] = set()
        stack = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, Ref):
                found.add(node.name)
            stack.extend(node.children())
        return frozenset(found)

    def evaluate(self, row: Row) -> Any:
        """The value over a feature row: bool, str, or a number as an integer at `type.scale`."""
        return self._evaluate(row)

    def holds(self, row: Row) -> bool:
        """Whether a condition is true for a feature row."""
        return bool(self._evaluate(row))

    def to_sql(self, dialect: SqlDialect = DUCKDB, column: Callable[[str], str] | None = None) -> str:
        """The SQL over columns named like the features (or as `column(name)` says)."""
        return self.root.sql(_Sql(dialect, column or dialect.quote))

    def trace(self, row: Row) -> tuple[tuple[str, bool], ...]:
        """Each elementary condition (comparison, `in`, flag) with whether it held: the 'why' of explain."""
        return tuple((text, bool(fn(row))) for text, fn in self._atoms)


def parse_expression(text: str, schema: FeatureSchema | None = None) -> Expression:
    """Parse and type-check `text` against the feature schema (default: CNY, default buckets)."""
    schema = schema or FeatureSchema.for_policy()
    source = text.strip()
    root = _Parser(source, schema).parse()
    atoms = tuple((source[a.start : a.end], a.py()) for a in _atoms(root)) if root.type.kind == "bool" else ()
    return Expression(source, root, root.py(), atoms)


def parse_condition(text: str, schema: FeatureSchema | None = None) -> Expression:
    """Parse an expression that must be true/false (a segment, step or jump condition)."""
    expr = parse_expression(text, schema)
    if not expr.is_condition:
        raise ExpressionError(
            f"a condition must be true or false, this is {expr.type.describe()}", expr.text, 1
        )
    return expr
