"""Kubernetes-style resource quantities."""

from __future__ import annotations

from fractions import Fraction

import pytest

from carpool.appc import Quantity


@pytest.mark.parametrize(
    ("text", "value", "milli"),
    [
        ("0", 0, 0),
        ("1", 1, 1000),
        ("128974848", 128974848, 128974848000),
        ("125952Ki", 128974848, 128974848000),
        ("123Mi", 128974848, 128974848000),
        ("500m", 1, 500),
        ("300m", 1, 300),
        ("0.3", 1, 300),
        ("1.5", 2, 1500),
        (".5", 1, 500),
        ("1G", 10**9, 10**12),
        ("1k", 1000, 10**6),
        ("1K", 1000, 10**6),
        ("2M", 2 * 10**6, 2 * 10**9),
        ("1T", 10**12, 10**15),
        ("1P", 10**15, 10**18),
        ("1E", 10**18, 10**21),
        ("1Ki", 1024, 1024000),
        ("128Mi", 128 * 2**20, 128 * 2**20 * 1000),
        ("1Gi", 2**30, 2**30 * 1000),
        ("1Ti", 2**40, 2**40 * 1000),
        ("1Pi", 2**50, 2**50 * 1000),
        ("1Ei", 2**60, 2**60 * 1000),
        ("1.5Gi", 3 * 2**29, 3 * 2**29 * 1000),
        ("1e3", 1000, 10**6),
        ("12E-3", 1, 12),  # the suffix E with an exponent is the exponent form
        ("100n", 1, 1),
        ("5u", 1, 1),
        ("1m", 1, 1),
        (" 2 ", 2, 2000),
    ],
)
def test_quantity_values(text: str, value: int, milli: int) -> None:
    quantity = Quantity(text)
    assert quantity.value == value
    assert quantity.milli_value == milli
    assert str(quantity) == text.strip()


def test_equal_amounts_written_differently_are_equal() -> None:
    assert Quantity("128974848") == Quantity("125952Ki") == Quantity("123Mi")
    assert Quantity("0.5") == Quantity("500m")
    assert Quantity("1k") == Quantity("1000") == Quantity(1000) == Quantity("1e3")
    assert len({Quantity("1Ki"), Quantity("1024")}) == 1
    assert Quantity("1Ki") != Quantity("1k")
    assert Quantity("1Gi") > Quantity("1G") > Quantity("999M")


def test_exact_amount() -> None:
    assert Quantity("0.3").amount == Fraction(3, 10)
    assert Quantity("1.5Ki").amount == 1536


def test_json_numbers_are_quantities_too() -> None:
    assert Quantity(2).value == 2 and Quantity(2).raw == 2
    assert Quantity(0.25).milli_value == 250


@pytest.mark.parametrize(
    "raw",
    ["", "abc", "1.2.3", "1KB", "1 Mi", "Mi", "1mi", "1e", "--1", "1e999", True, None, [1]],
)
def test_invalid_quantities(raw: object) -> None:
    with pytest.raises(ValueError, match=r"quantity|out of range"):
        Quantity(raw)  # type: ignore[arg-type]
