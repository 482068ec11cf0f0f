"""Built-in tools that need nothing outside the process: `current_time` and `calculator`.

(`search_documents` reads the caller's uploads and lives in ``document_search``.)
"""

from __future__ import annotations

import ast
import asyncio
import math
import operator
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import simpleeval

from lambda_chat.tools.registry import Tool, ToolContext, ToolError

# --- current_time --------------------------------------------------------------------------------

CURRENT_TIME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "timezone": {
            "type": "string",
            "description": "An IANA time zone name such as Europe/Paris or Asia/Tokyo; default UTC",
            "maxLength": 64,
        }
    },
    "additionalProperties": False,
}


def time_in_zone(zone_name: str, epoch_seconds: float) -> dict[str, Any]:
    """Date, time, weekday, UTC offset and zone abbreviation at `epoch_seconds` in an IANA zone.

    Raises ToolError for a name that is not an IANA zone (zoneinfo also refuses path-like keys
    with ValueError). Zone data: the OS's, else the pinned ``tzdata`` package.
    """
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ToolError(
            f"Unknown time zone {zone_name!r}: use an IANA name such as UTC, Europe/London or Asia/Tokyo."
        ) from exc
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC).astimezone(zone)
    offset = moment.strftime("%z")  # +0900
    return {
        "timezone": zone_name,
        "abbreviation": moment.tzname(),
        "utcOffset": f"{offset[:3]}:{offset[3:]}",
        "date": moment.date().isoformat(),
        "time": moment.strftime("%H:%M:%S"),
        "weekday": moment.strftime("%A"),
        "iso8601": moment.isoformat(timespec="seconds"),
    }


def current_time_tool(clock: Callable[[], float] = time.time) -> Tool:
    async def run(arguments: dict[str, Any], context: ToolContext) -> dict[str, Any]:
        return time_in_zone(str(arguments.get("timezone") or "UTC"), clock())

    return Tool(
        name="current_time",
        title="Current time",
        description=(
            "The current date, time, weekday and UTC offset in a time zone. Use it whenever the "
            "answer depends on today's date or the time now."
        ),
        input_schema=CURRENT_TIME_SCHEMA,
        run=run,
    )


# --- calculator ----------------------------------------------------------------------------------

MAX_EXPRESSION_CHARS = 500
# Integers stay below 10,000 bits (about 3,000 digits): CPython refuses to print integers over
# 4,300 digits (sys.int_info.default_max_str_digits), and every operation on such sizes takes
# microseconds, so with the length limit above an expression is bounded in time and memory.
MAX_INT_BITS = 10_000
MAX_FACTORIAL = 1_000


class _TooLarge(simpleeval.InvalidExpression):
    pass


def _bits(value: Any) -> float:
    """An upper bound on the bits of |value| for ints; floats are bounded by IEEE 754 already."""
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return value.bit_length()


def _check_int(value: Any) -> Any:
    if _bits(value) > MAX_INT_BITS:
        raise _TooLarge(f"the result would have more than {MAX_INT_BITS:,} bits")
    return value


def _power(base: Any, exponent: Any) -> Any:
    # bits(base ** exponent) ≈ exponent * log2|base|: refuse before computing.
    exact = isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1
    if exact and exponent * math.log2(abs(base)) > MAX_INT_BITS:
        raise _TooLarge(f"{base} ** {exponent} would have more than {MAX_INT_BITS:,} bits")
    if isinstance(exponent, int) and abs(exponent) > 1_000_000:
        raise _TooLarge("the exponent is too large")
    return _check_int(base**exponent)


def _number(value: Any) -> Any:
    # Strings exist only as literals; letting them into * or + would allow "x" * 10**9.
    if not isinstance(value, int | float):
        raise simpleeval.InvalidExpression("only numbers are supported")
    return value


def _add(left: Any, right: Any) -> Any:
    return operator.add(_number(left), _number(right))


def _multiply(left: Any, right: Any) -> Any:
    _number(left), _number(right)
    if _bits(left) + _bits(right) > MAX_INT_BITS + 1:
        raise _TooLarge(f"the product would have more than {MAX_INT_BITS:,} bits")
    return operator.mul(left, right)


def _shift_left(value: Any, count: Any) -> Any:
    if isinstance(count, int) and count > MAX_INT_BITS:
        raise _TooLarge("the shift is too large")
    return _check_int(value << count)


def _round(value: Any, digits: Any = None) -> Any:
    # round(10**3000, -10**9) would compute 10**(10**9) first.
    if digits is not None and (not isinstance(digits, int) or abs(digits) > 400):
        raise ValueError("round() takes at most 400 digits")
    return round(value, digits)


def _factorial(n: Any) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError("factorial() takes a non-negative integer")
    if n > MAX_FACTORIAL:
        raise _TooLarge(f"factorial() is limited to n <= {MAX_FACTORIAL}")
    return math.factorial(n)


_OPERATORS: dict[type[ast.AST], Callable[..., Any]] = {
    ast.Add: _add,
    ast.Sub: operator.sub,
    ast.Mult: _multiply,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.LShift: _shift_left,
    ast.RShift: operator.rshift,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}

_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "round": _round,
    "min": min,
    "max": max,
    "int": int,
    "float": float,
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "ln": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "atan2": math.atan2,
    "hypot": math.hypot,
    "degrees": math.degrees,
    "radians": math.radians,
    "floor": math.floor,
    "ceil": math.ceil,
    "factorial": _factorial,
    "gcd": math.gcd,
}

_NAMES: dict[str, Any] = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}

CALCULATOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "expression": {
            "type": "string",
            "description": (
                "An arithmetic expression, e.g. (17.5 * 3 + 2) / 4, 2**10, sqrt(2), "
                "log(100, 10), factorial(20). Operators: + - * / // % ** and parentheses; "
                "functions: " + ", ".join(sorted(_FUNCTIONS)) + "; constants: pi, e, tau."
            ),
            "minLength": 1,
            "maxLength": MAX_EXPRESSION_CHARS,
        }
    },
    "required": ["expression"],
    "additionalProperties": False,
}


def evaluate_expression(expression: str) -> int | float | bool:
    """Evaluate an arithmetic expression with simpleeval (a whitelist over Python's ``ast``; no
    ``eval``, no names or attributes beyond the constants and functions above).

    Bounds: at most MAX_EXPRESSION_CHARS characters; integers below MAX_INT_BITS bits; powers and
    products refused before they are computed when the result would be larger. Raises ToolError
    with a plain message for anything invalid, too large, not finite, or not a number.
    """
    text = expression.strip()
    if not text:
        raise ToolError("The expression is empty.")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"The expression is longer than {MAX_EXPRESSION_CHARS} characters.")
    evaluator = simpleeval.SimpleEval(operators=_OPERATORS, functions=_FUNCTIONS, names=_NAMES)
    try:
        result = evaluator.eval(text.replace("^", "**"))
    except _TooLarge as exc:
        raise ToolError(f"The numbers are too large: {exc}.") from exc
    except ZeroDivisionError as exc:
        raise ToolError("Division by zero.") from exc
    except OverflowError as exc:
        raise ToolError("The result is too large for a floating-point number.") from exc
    except simpleeval.InvalidExpression as exc:
        raise ToolError(f"Not a supported arithmetic expression: {exc}") from exc
    except SyntaxError as exc:
        raise ToolError(f"The expression is not valid: {exc.msg}.") from exc
    except (TypeError, ValueError) as exc:
        raise ToolError(f"The expression cannot be computed: {exc}.") from exc
    if isinstance(result, complex) or not isinstance(result, int | float):
        raise ToolError("The expression does not evaluate to a real number.")
    if isinstance(result, float) and not math.isfinite(result):
        raise ToolError("The result is not a finite number.")
    return result


def format_number(value: int | float | bool) -> str:
    """Integers in full, floats with up to 15 significant digits (what a double holds exactly)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.15g}"


def calculator_tool() -> Tool:
    async def run(arguments: dict[str, Any], context: ToolContext) -> dict[str, Any]:
        expression = str(arguments["expression"])
        # Off the event loop: evaluation is CPU work (bounded, see evaluate_expression).
        result = await asyncio.to_thread(evaluate_expression, expression)
        return {"expression": expression, "result": format_number(result)}

    return Tool(
        name="calculator",
        title="Calculator",
        description=(
            "Evaluates an arithmetic expression exactly (integers of any size up to about 3,000 "
            "digits) or in double precision. Use it for any arithmetic instead of computing in your head."
        ),
        input_schema=CALCULATOR_SCHEMA,
        run=run,
    )
