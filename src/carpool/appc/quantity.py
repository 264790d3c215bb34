"""Resource quantities, Kubernetes style (appc ``schema/types/resource``).

``"128974848" == "125952Ki" == "123Mi"``; ``"500m"`` is half a unit; ``"0.3"`` is 300m.
Values are exact (:class:`fractions.Fraction`); :attr:`Quantity.value` and
:attr:`Quantity.milli_value` round up like Kubernetes' ``Value()``/``MilliValue()``.
The text as written is kept so that manifests round-trip unchanged.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import total_ordering

_QUANTITY_RE = re.compile(
    r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|K|M|G|T|P|E)|[eE](?P<exponent>[+-]?\d+))?$"
)

#: Multiplier of each suffix.
SUFFIXES: dict[str, Fraction] = {
    "": Fraction(1),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "k": Fraction(10**3),
    "K": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}

_MAX_EXPONENT = 30  # keeps "1e999999999" from allocating a huge integer


@total_ordering
class Quantity:
    """An exact amount of a resource (cores, bytes, bytes/s, ops/s)."""

    __slots__ = ("_amount", "raw", "text")

    text: str
    raw: str | int | float
    _amount: Fraction

    def __init__(self, raw: str | int | float) -> None:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise ValueError(f"{raw!r} is not a quantity")
        text = raw.strip() if isinstance(raw, str) else repr(raw)
        match = _QUANTITY_RE.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not a quantity")
        amount = Fraction(match["number"])
        if match["exponent"] is not None:
            exponent = int(match["exponent"])
            if abs(exponent) > _MAX_EXPONENT:
                raise ValueError(f"{text!r} is out of range")
            amount *= Fraction(10) ** exponent
        else:
            amount *= SUFFIXES[match["suffix"] or ""]
        self.raw = raw
        self.text = text
        self._amount = amount

    @classmethod
    def parse(cls, text: str) -> Quantity:
        return cls(text)

    @property
    def amount(self) -> Fraction:
        """The exact value in base units."""
        return self._amount

    @property
    def value(self) -> int:
        """Base units (bytes, cores…), rounded up."""
        return math.ceil(self._amount)

    @property
    def milli_value(self) -> int:
        """Thousandths of a base unit (``"500m"`` -> 500, ``"1"`` -> 1000), rounded up."""
        return math.ceil(self._amount * 1000)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Quantity):
            return self._amount == other._amount
        return NotImplemented

    def __lt__(self, other: object) -> bool:
        if isinstance(other, Quantity):
            return self._amount < other._amount
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._amount)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Quantity({self.text!r})"
