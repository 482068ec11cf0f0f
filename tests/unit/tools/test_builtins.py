from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from lambda_chat.tools.builtins import (
    MAX_EXPRESSION_CHARS,
    calculator_tool,
    current_time_tool,
    evaluate_expression,
)
from lambda_chat.tools.registry import ToolCall, ToolContext, ToolError, ToolRegistry
from tests.async_support import run_coroutine

# Monday 30 November 2026, 21:12:00 UTC
MOMENT = datetime(2026, 11, 30, 21, 12, tzinfo=UTC).timestamp()
REGISTRY = ToolRegistry([current_time_tool(clock=lambda: MOMENT), calculator_tool()])


def call(name: str, value: dict[str, object]):
    return run_coroutine(REGISTRY.run(ToolCall("t", name, value), ToolContext(user_id="u")))


def test_current_time_in_an_iana_zone() -> None:
    outcome = call("current_time", {"timezone": "Asia/Tokyo"})

    assert outcome.status == "success"
    assert json.loads(outcome.text) == {
        "timezone": "Asia/Tokyo",
        "abbreviation": "JST",
        "utcOffset": "+09:00",
        "date": "2026-12-01",
        "time": "06:12:00",
        "weekday": "Tuesday",
        "iso8601": "2026-12-01T06:12:00+09:00",
    }


def test_current_time_defaults_to_utc_and_follows_daylight_saving() -> None:
    utc = json.loads(call("current_time", {}).text)
    new_york = json.loads(call("current_time", {"timezone": "America/New_York"}).text)

    assert (utc["timezone"], utc["utcOffset"], utc["weekday"]) == ("UTC", "+00:00", "Monday")
    assert (new_york["utcOffset"], new_york["abbreviation"]) == ("-05:00", "EST")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime", "Not A Zone"])
def test_unknown_zone_is_an_error_the_model_sees(zone: str) -> None:
    outcome = call("current_time", {"timezone": zone})

    assert outcome.status == "error" and "Unknown time zone" in outcome.text


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("2**10 + 1", "1025"),
        ("(17.5 * 3 + 2) / 4", "13.625"),
        ("2^8", "256"),
        ("sqrt(2)", "1.4142135623731"),
        ("log(100, 10)", "2"),
        ("factorial(25)", "15511210043330985984000000"),
        ("0.1 + 0.2", "0.3"),
        ("round(2.675, 1) + max(1, 2, 3)", "5.7"),
        ("-7 // 2 + 7 % 3", "-3"),
    ],
)
def test_calculator_evaluates_arithmetic(expression: str, result: str) -> None:
    outcome = call("calculator", {"expression": expression})

    assert outcome.status == "success"
    assert json.loads(outcome.text) == {"expression": expression, "result": result}


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("1 / 0", "Division by zero"),
        ("9 ** 9 ** 9", "too large"),
        ("3999999 ** 3999999", "too large"),
        ("10**3000 * 10**3000", "too large"),
        ("1 << 100000", "too large"),
        ("factorial(100000)", "too large"),
        ("round(10**300, -10**9)", "400 digits"),
        ("exp(1000)", "too large"),
        ("1e308 * 10", "not a finite number"),
        ("(-1) ** 0.5", "not evaluate to a real number"),
        ('"ab" * 10**9', "only numbers"),
        ('__import__("os").system("true")', "not a supported"),
        ("().__class__.__bases__", "not a supported"),
        ("open('/etc/passwd')", "not a supported"),
        ("x + 1", "not a supported"),
        ("2 +", "not valid"),
    ],
)
def test_calculator_refuses_what_is_unsafe_or_not_arithmetic(expression: str, fragment: str) -> None:
    outcome = call("calculator", {"expression": expression})

    assert outcome.status == "error"
    assert fragment.lower() in outcome.text.lower()


def test_calculator_length_is_bounded_by_schema_and_evaluator() -> None:
    too_long = "1+" * MAX_EXPRESSION_CHARS + "1"

    outcome = call("calculator", {"expression": too_long})

    assert outcome.status == "error" and "Invalid input for calculator" in outcome.text
    with pytest.raises(ToolError, match="longer than"):
        evaluate_expression(too_long)
