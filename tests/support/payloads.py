"""Shared test flows, moved out of test_fuzz.py so no test module imports another."""

from __future__ import annotations

from bot import callbacks


def _valid(rule) -> str:
    if isinstance(rule, callbacks.Range):
        return str(rule.low if rule.low > 0 else 1)
    if isinstance(rule, callbacks.Shape):
        return "0" * int(rule.pattern.split("{")[1].rstrip("}"))
    return next(iter(rule)).value


def out_of_range_payloads() -> list[str]:
    """Every numeric field of every button, one at a time just below and just above its
    range (and written in other scripts' digits), the other fields valid."""
    payloads = []
    for cls in callbacks.ALL:
        fields = cls.schema()
        for k, field in enumerate(fields):
            if not isinstance(field.rule, callbacks.Range):
                continue
            for bad in (field.rule.low - 1, field.rule.high + 1, "٣", "１", f"0{field.rule.low}"):
                values = [_valid(f.rule) for f in fields]
                values[k] = str(bad)
                payloads.append(":".join([cls.prefix, *values]))
    return payloads
