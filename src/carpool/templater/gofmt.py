"""Go's ``fmt`` printing (``Sprintf``, ``Sprint``, ``Sprintln``) for Go values in Python.

Templates print every value through ``fmt``, and dgr's users depend on its exact output
(``1e+06`` for a YAML ``1000000``, ``map[a:1 b:2]``, ``%!d(float64=3)``), so this is a
port of the verb and flag handling of Go 1.19's ``fmt`` and of ``strconv``'s float
formatting, over the value model of :mod:`carpool.templater.gotypes`.

A value that has a ``go_string()`` method is a ``fmt.Stringer`` (its result is printed
for ``%v %s %q %x %X``); one with ``go_error()`` is an ``error``.
"""

from __future__ import annotations

import bisect
import math
import unicodedata
from typing import Any

from carpool.templater.gotypes import UINT_TYPES, go_type

__all__ = [
    "format_float",
    "format_value",
    "quote",
    "quote_rune",
    "sprint",
    "sprintf",
    "sprintln",
]

_LDIGITS = "0123456789abcdefx"
_UDIGITS = "0123456789ABCDEFX"


# --------------------------------------------------------------------------- strconv


def _shortest_digits(f: float, bits: int = 64) -> tuple[str, int]:
    """Shortest decimal digits that round-trip ``abs(f)``: (digits, dp), value = 0.d * 10**dp."""
    f = abs(f)
    if f == 0:
        return "", 0
    if bits == 32:
        import struct  # float32 values are rare: not imported at every start

        target = struct.pack("<f", f)
        for p in range(1, 10):
            s = f"{f:.{p - 1}e}"
            if struct.pack("<f", float(s)) == target:
                break
    else:
        s = repr(f)
    return _digits_of(s)


def _digits_of(s: str) -> tuple[str, int]:
    """Split a Python float literal into significant digits and decimal-point position."""
    mant, _, exp_s = s.partition("e")
    exp = int(exp_s) if exp_s else 0
    intpart, _, frac = mant.partition(".")
    digits = intpart + frac
    dp = len(intpart) + exp
    stripped = digits.lstrip("0")
    dp -= len(digits) - len(stripped)
    stripped = stripped.rstrip("0")
    if not stripped:
        return "", 0
    return stripped, dp


def _fmt_e(neg: bool, digits: str, dp: int, prec: int, ch: str) -> str:
    out = ["-" if neg else ""]
    out.append(digits[0] if digits else "0")
    if prec > 0:
        out.append(".")
        frac = digits[1 : prec + 1]
        out.append(frac + "0" * (prec - len(frac)))
    exp = dp - 1 if digits else 0
    sign = "-" if exp < 0 else "+"
    exp = abs(exp)
    out.append(f"{ch}{sign}{exp:02d}")
    return "".join(out)


def _fmt_f(neg: bool, digits: str, dp: int, prec: int) -> str:
    out = ["-" if neg else ""]
    if dp > 0:
        whole = digits[:dp]
        out.append(whole + "0" * (dp - len(whole)))
    else:
        out.append("0")
    if prec > 0:
        out.append(".")
        for i in range(1, prec + 1):
            j = dp + i - 1
            out.append(digits[j] if 0 <= j < len(digits) else "0")
    return "".join(out)


def format_float(f: float, fmt: str = "g", prec: int = -1, bits: int = 64) -> str:
    """``strconv.FormatFloat(f, fmt, prec, bits)`` for fmt in ``eEfgGbxX``."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    neg = math.copysign(1.0, f) < 0
    if fmt == "b":
        return _fmt_b(f)
    if fmt in "xX":
        return _fmt_x(f, prec, fmt)
    shortest = prec < 0
    if shortest:
        digits, dp = _shortest_digits(f, bits)
        if fmt in "eE":
            prec = max(len(digits) - 1, 0)
        elif fmt == "f":
            prec = max(len(digits) - dp, 0)
        else:
            prec = len(digits)
    else:
        if fmt in "eE":
            s = f"{abs(f):.{prec}e}"
            return ("-" if neg else "") + (s.upper() if fmt == "E" else s)
        if fmt == "f":
            return ("-" if neg else "") + f"{abs(f):.{prec}f}"
        if prec == 0:
            prec = 1
        digits, dp = _digits_of(f"{abs(f):.{prec - 1}e}")
    if fmt in "eE":
        return _fmt_e(neg, digits, dp, prec, fmt)
    if fmt == "f":
        return _fmt_f(neg, digits, dp, prec)
    # %g / %G
    eprec = prec
    nd = len(digits)
    if eprec > nd and nd >= dp:
        eprec = nd
    if shortest:
        eprec = 6
    exp = dp - 1
    if exp < -4 or exp >= eprec:
        if prec > nd:
            prec = nd
        return _fmt_e(neg, digits, dp, prec - 1, "e" if fmt == "g" else "E")
    if prec > dp:
        prec = nd
    return _fmt_f(neg, digits, dp, max(prec - dp, 0))


def _fmt_b(f: float) -> str:
    neg = math.copysign(1.0, f) < 0
    a = abs(f)
    if a < 2.2250738585072014e-308:
        mant, exp = round(a / 5e-324), -1074
    else:
        m, e = math.frexp(a)
        mant, exp = int(m * (1 << 53)), e - 53
    return f"{'-' if neg else ''}{mant}p{'+' if exp >= 0 else '-'}{abs(exp)}"


def _fmt_x(f: float, prec: int, fmt: str) -> str:
    neg = math.copysign(1.0, f) < 0
    a = abs(f)
    if a == 0:
        mant, exp = 0, 0
    else:
        m, e = math.frexp(a)  # a = m * 2**e, 0.5 <= m < 1
        mant, exp = int(m * (1 << 53)), e - 1  # mant has 53 bits, leading 1
    # mantissa as 1.xxxx (52 fraction bits = 13 hex digits)
    frac = mant & ((1 << 52) - 1)
    lead = mant >> 52
    if prec >= 0 and prec < 13:
        shift = 4 * (13 - prec)
        full = (lead << 52) | frac
        q, r = divmod(full, 1 << shift)
        half = 1 << (shift - 1)
        if r > half or (r == half and q & 1):
            q += 1
        if q >> (4 * prec) >= 2:
            q >>= 1
            exp += 1
        lead = q >> (4 * prec)
        frac_s = f"{q & ((1 << (4 * prec)) - 1):0{prec}x}" if prec else ""
    else:
        frac_s = f"{frac:013x}"
        if prec < 0:
            frac_s = frac_s.rstrip("0")
        elif prec > 13:
            frac_s += "0" * (prec - 13)
    s = f"{'-' if neg else ''}0x{lead}"
    if frac_s:
        s += "." + frac_s
    s += f"p{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    return s.upper().replace("0X", "0X") if fmt == "X" else s


# Characters Python 3.11 (Unicode 14) knows but Go 1.19 (Unicode 13) does not: Go treats
# them as unassigned (not printable, not letters, not digits).  Generated by comparing
# Go's unicode.IsPrint/IsLetter/IsDigit with Python's over every code point.
_UNICODE_14_ONLY: tuple[tuple[int, int], ...] = (
    (0x61D, 0x61D),
    (0x870, 0x88E),
    (0x898, 0x89F),
    (0x8B5, 0x8B5),
    (0x8C8, 0x8D2),
    (0xC3C, 0xC3C),
    (0xC5D, 0xC5D),
    (0xCDD, 0xCDD),
    (0x170D, 0x170D),
    (0x1715, 0x1715),
    (0x171F, 0x171F),
    (0x180F, 0x180F),
    (0x1AC1, 0x1ACE),
    (0x1B4C, 0x1B4C),
    (0x1B7D, 0x1B7E),
    (0x1DFA, 0x1DFA),
    (0x20C0, 0x20C0),
    (0x2C2F, 0x2C2F),
    (0x2C5F, 0x2C5F),
    (0x2E53, 0x2E5D),
    (0x9FFD, 0x9FFF),
    (0xA7C0, 0xA7C1),
    (0xA7D0, 0xA7D1),
    (0xA7D3, 0xA7D3),
    (0xA7D5, 0xA7D9),
    (0xA7F2, 0xA7F4),
    (0xFBC2, 0xFBC2),
    (0xFD40, 0xFD4F),
    (0xFDCF, 0xFDCF),
    (0xFDFE, 0xFDFF),
    (0x10570, 0x1057A),
    (0x1057C, 0x1058A),
    (0x1058C, 0x10592),
    (0x10594, 0x10595),
    (0x10597, 0x105A1),
    (0x105A3, 0x105B1),
    (0x105B3, 0x105B9),
    (0x105BB, 0x105BC),
    (0x10780, 0x10785),
    (0x10787, 0x107B0),
    (0x107B2, 0x107BA),
    (0x10F70, 0x10F89),
    (0x11070, 0x11075),
    (0x110C2, 0x110C2),
    (0x116B9, 0x116B9),
    (0x11740, 0x11746),
    (0x11AB0, 0x11ABF),
    (0x12F90, 0x12FF2),
    (0x16A70, 0x16ABE),
    (0x16AC0, 0x16AC9),
    (0x1AFF0, 0x1AFF3),
    (0x1AFF5, 0x1AFFB),
    (0x1AFFD, 0x1AFFE),
    (0x1B11F, 0x1B122),
    (0x1CF00, 0x1CF2D),
    (0x1CF30, 0x1CF46),
    (0x1CF50, 0x1CFC3),
    (0x1D1E9, 0x1D1EA),
    (0x1DF00, 0x1DF1E),
    (0x1E290, 0x1E2AE),
    (0x1E7E0, 0x1E7E6),
    (0x1E7E8, 0x1E7EB),
    (0x1E7ED, 0x1E7EE),
    (0x1E7F0, 0x1E7FE),
    (0x1F6DD, 0x1F6DF),
    (0x1F7F0, 0x1F7F0),
    (0x1F979, 0x1F979),
    (0x1F9CC, 0x1F9CC),
    (0x1FA7B, 0x1FA7C),
    (0x1FAA9, 0x1FAAC),
    (0x1FAB7, 0x1FABA),
    (0x1FAC3, 0x1FAC5),
    (0x1FAD7, 0x1FAD9),
    (0x1FAE0, 0x1FAE7),
    (0x1FAF0, 0x1FAF6),
    (0x2A6DE, 0x2A6DF),
    (0x2B735, 0x2B738),
)
_U14_STARTS = [a for a, _ in _UNICODE_14_ONLY]


def unassigned_in_go(r: str) -> bool:
    """Whether Go 1.19's Unicode tables do not know the character ``r``."""
    o = ord(r)
    if o < 0x61D:
        return False
    i = bisect.bisect_right(_U14_STARTS, o) - 1
    return i >= 0 and o <= _UNICODE_14_ONLY[i][1]


def _is_print(r: str) -> bool:
    """Go's ``unicode.IsPrint`` (letters, marks, numbers, punctuation, symbols, ASCII space)."""
    if r == " ":
        return True
    cat = unicodedata.category(r)
    return cat[0] in "LMNPS" and not unassigned_in_go(r)


def is_letter(r: str) -> bool:
    """Go's ``unicode.IsLetter``."""
    return r.isalpha() and not unassigned_in_go(r)


def is_digit(r: str) -> bool:
    """Go's ``unicode.IsDigit`` (category Nd)."""
    return r.isdecimal() and not unassigned_in_go(r)


def _quote_with(s: str, quote_ch: str, ascii_only: bool) -> str:
    out = [quote_ch]
    for ch in s:
        o = ord(ch)
        if ch == quote_ch or ch == "\\":
            out.append("\\" + ch)
            continue
        if o < 0x80 or not ascii_only:
            if 0xD800 <= o <= 0xDFFF:
                out.append("\\ufffd" if ascii_only else "\ufffd")
                continue
            if _is_print(ch):
                out.append(ch)
                continue
        esc = {
            "\a": "\\a",
            "\b": "\\b",
            "\f": "\\f",
            "\n": "\\n",
            "\r": "\\r",
            "\t": "\\t",
            "\v": "\\v",
        }.get(ch)
        if esc is not None:
            out.append(esc)
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append(quote_ch)
    return "".join(out)


def quote(s: str, ascii_only: bool = False) -> str:
    """``strconv.Quote`` (or ``QuoteToASCII``)."""
    return _quote_with(s, '"', ascii_only)


def quote_rune(r: int, ascii_only: bool = False) -> str:
    """``strconv.QuoteRune`` (or ``QuoteRuneToASCII``)."""
    if r > 0x10FFFF or r < 0 or 0xD800 <= r <= 0xDFFF:
        r = 0xFFFD
    return _quote_with(chr(r), "'", ascii_only)


def _can_backquote(s: str) -> bool:
    for ch in s:
        o = ord(ch)
        if ch == "`" or ch == "\ufeff":
            return False
        if (o < 0x20 and ch != "\t") or o == 0x7F:
            return False
    return True


# --------------------------------------------------------------------------- printer


class _Printer:
    """One ``fmt.pp``: a buffer plus the flags of the verb being printed."""

    __slots__ = (
        "buf",
        "minus",
        "plus",
        "plus_v",
        "prec",
        "prec_present",
        "sharp",
        "sharp_v",
        "space",
        "wid",
        "wid_present",
        "zero",
    )

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.clear_flags()

    def clear_flags(self) -> None:
        self.wid_present = False
        self.prec_present = False
        self.minus = False
        self.plus = False
        self.sharp = False
        self.space = False
        self.zero = False
        self.plus_v = False
        self.sharp_v = False
        self.wid = 0
        self.prec = 0

    # -- padding
    def write_padding(self, n: int) -> None:
        if n > 0:
            self.buf.append(("0" if self.zero else " ") * n)

    def pad(self, s: str) -> None:
        if not self.wid_present or self.wid == 0:
            self.buf.append(s)
            return
        width = self.wid - len(s)
        if not self.minus:
            self.write_padding(width)
            self.buf.append(s)
        else:
            self.buf.append(s)
            self.write_padding(width)

    # -- basic formatters (fmt.fmt)
    def fmt_integer(self, u: int, base: int, verb: str, digits: str) -> None:
        negative = u < 0
        if negative:
            u = -u
        prec = 0
        if self.prec_present:
            prec = self.prec
            if prec == 0 and u == 0:
                old = self.zero
                self.zero = False
                self.write_padding(self.wid)
                self.zero = old
                return
        elif self.zero and self.wid_present:
            prec = self.wid
            if negative or self.plus or self.space:
                prec -= 1
        if base == 10:
            s = str(u)
        elif base == 16:
            s = format(u, "x")
            if digits is _UDIGITS:
                s = s.upper()
        elif base == 8:
            s = format(u, "o")
        else:
            s = format(u, "b")
        if prec > len(s):
            s = "0" * (prec - len(s)) + s
        if self.sharp:
            if base == 2:
                s = "0b" + s
            elif base == 8:
                if s[0] != "0":
                    s = "0" + s
            elif base == 16:
                s = "0" + digits[16] + s
        if verb == "O":
            s = "0o" + s
        if negative:
            s = "-" + s
        elif self.plus:
            s = "+" + s
        elif self.space:
            s = " " + s
        old = self.zero
        self.zero = False
        self.pad(s)
        self.zero = old

    def fmt_unicode(self, u: int) -> None:
        prec = 4
        if self.prec_present and self.prec > 4:
            prec = self.prec
        s = "U+" + format(u, "X").rjust(prec, "0")
        if self.sharp and 0 <= u <= 0x10FFFF and _is_print_rune(u):
            s += " '" + chr(u) + "'"
        old = self.zero
        self.zero = False
        self.pad(s)
        self.zero = old

    def truncate(self, s: str) -> str:
        if self.prec_present and self.prec < len(s):
            return s[: self.prec]
        return s

    def fmt_s(self, s: str) -> None:
        self.pad(self.truncate(s))

    def fmt_sx(self, b: bytes, digits: str) -> None:
        length = len(b)
        if self.prec_present and self.prec < length:
            length = self.prec
        width = 2 * length
        if width > 0:
            if self.space:
                if self.sharp:
                    width *= 2
                width += length - 1
            elif self.sharp:
                width += 2
        else:
            if self.wid_present:
                self.write_padding(self.wid)
            return
        if self.wid_present and self.wid > width and not self.minus:
            self.write_padding(self.wid - width)
        out = []
        if self.sharp:
            out.append("0" + digits[16])
        for i in range(length):
            if self.space and i > 0:
                out.append(" ")
                if self.sharp:
                    out.append("0" + digits[16])
            c = b[i]
            out.append(digits[c >> 4] + digits[c & 0xF])
        self.buf.append("".join(out))
        if self.wid_present and self.wid > width and self.minus:
            self.write_padding(self.wid - width)

    def fmt_q(self, s: str) -> None:
        s = self.truncate(s)
        if self.sharp and _can_backquote(s):
            self.pad("`" + s + "`")
            return
        self.pad(quote(s, self.plus))

    def fmt_c(self, c: int) -> None:
        if c > 0x10FFFF or c < 0 or 0xD800 <= c <= 0xDFFF:
            c = 0xFFFD
        self.pad(chr(c))

    def fmt_qc(self, c: int) -> None:
        self.pad(quote_rune(c, self.plus))

    def fmt_float_raw(self, v: float, bits: int, verb: str, prec: int) -> None:
        if self.prec_present:
            prec = self.prec
        num = format_float(v, verb, prec, bits)
        if num[0] in "-+":
            pass
        else:
            num = "+" + num
        if self.space and num[0] == "+" and not self.plus:
            num = " " + num[1:]
        if num[1] in "IN":
            old = self.zero
            self.zero = False
            if num[1] == "N" and not self.space and not self.plus:
                num = num[1:]
            self.pad(num)
            self.zero = old
            return
        if self.sharp and verb != "b":
            digits = 0
            if verb in "vgGx":
                digits = prec
                if digits == -1:
                    digits = 6
            tail = ""
            body = list(num)
            has_point = False
            saw_nonzero = False
            i = 1
            while i < len(body):
                c = body[i]
                if c == ".":
                    has_point = True
                elif c in "pP" or (c in "eE" and verb not in "xX"):
                    tail = "".join(body[i:])
                    body = body[:i]
                    break
                else:
                    if c != "0":
                        saw_nonzero = True
                    if saw_nonzero:
                        digits -= 1
                i += 1
            if not has_point:
                if len(body) == 2 and body[1] == "0":
                    digits -= 1
                body.append(".")
            while digits > 0:
                body.append("0")
                digits -= 1
            num = "".join(body) + tail
        if self.plus or num[0] != "+":
            if self.zero and self.wid_present and self.wid > len(num):
                self.buf.append(num[0])
                self.write_padding(self.wid - len(num))
                self.buf.append(num[1:])
                return
            self.pad(num)
            return
        self.pad(num[1:])

    # -- pp level
    def bad_verb(self, verb: str, arg: Any, has_arg: bool = True) -> None:
        self.buf.append("%!" + verb + "(")
        if has_arg and arg is not None:
            self.buf.append(_type_string(arg))
            self.buf.append("=")
            self.print_arg(arg, "v", 1)
        else:
            self.buf.append("<nil>")
        self.buf.append(")")

    def fmt_bool(self, v: bool, verb: str) -> None:
        if verb in "tv":
            self.pad("true" if v else "false")
        else:
            self.bad_verb(verb, v)

    def fmt_int(self, v: int, unsigned: bool, verb: str, arg: Any) -> None:
        if verb == "v":
            if self.sharp_v and unsigned:
                sharp = self.sharp
                self.sharp = True
                self.fmt_integer(v, 16, "v", _LDIGITS)
                self.sharp = sharp
            else:
                self.fmt_integer(v, 10, verb, _LDIGITS)
        elif verb == "d":
            self.fmt_integer(v, 10, verb, _LDIGITS)
        elif verb == "b":
            self.fmt_integer(v, 2, verb, _LDIGITS)
        elif verb in "oO":
            self.fmt_integer(v, 8, verb, _LDIGITS)
        elif verb == "x":
            self.fmt_integer(v, 16, verb, _LDIGITS)
        elif verb == "X":
            self.fmt_integer(v, 16, verb, _UDIGITS)
        elif verb == "c":
            self.fmt_c(v if v >= 0 else 1 << 64)
        elif verb == "q":
            self.fmt_qc(v if v >= 0 else 1 << 64)
        elif verb == "U":
            self.fmt_unicode(v if v >= 0 else v + (1 << 64))
        else:
            self.bad_verb(verb, arg)

    def fmt_float(self, v: float, bits: int, verb: str, arg: Any) -> None:
        if verb == "v":
            self.fmt_float_raw(v, bits, "g", -1)
        elif verb in "bgGxX":
            self.fmt_float_raw(v, bits, verb, -1)
        elif verb in "feE":
            self.fmt_float_raw(v, bits, verb, 6)
        elif verb == "F":
            self.fmt_float_raw(v, bits, "f", 6)
        else:
            self.bad_verb(verb, arg)

    def fmt_complex(self, v: complex, verb: str, arg: Any) -> None:
        if verb in "vbgGxXfFeE":
            old_plus = self.plus
            self.buf.append("(")
            self.fmt_float(v.real, 64, verb, arg)
            self.plus = True
            self.fmt_float(v.imag, 64, verb, arg)
            self.buf.append("i)")
            self.plus = old_plus
        else:
            self.bad_verb(verb, arg)

    def fmt_string(self, v: str, verb: str, arg: Any) -> None:
        if verb == "v":
            if self.sharp_v:
                self.fmt_q(v)
            else:
                self.fmt_s(v)
        elif verb == "s":
            self.fmt_s(v)
        elif verb == "x":
            self.fmt_sx(v.encode("utf-8", "surrogatepass"), _LDIGITS)
        elif verb == "X":
            self.fmt_sx(v.encode("utf-8", "surrogatepass"), _UDIGITS)
        elif verb == "q":
            self.fmt_q(v)
        else:
            self.bad_verb(verb, arg)

    def print_arg(self, arg: Any, verb: str, depth: int = 0) -> None:
        """``pp.printArg`` (depth 0) and ``pp.printValue`` (depth > 0) in one."""
        if arg is None:
            if depth > 0:
                # a nil interface inside a container
                self.buf.append("interface {}(nil)" if self.sharp_v else "<nil>")
                return
            if verb in "Tv":
                self.pad("<nil>")
            else:
                self.bad_verb(verb, None, False)
            return
        if verb == "T":
            self.fmt_s(_type_string(arg))
            return
        if verb == "p":
            self.bad_verb(verb, arg)
            return
        t = type(arg)
        if t is str:
            self.fmt_string(arg, verb, arg)
        elif t is bool:
            self.fmt_bool(arg, verb)
        elif t is int:
            self.fmt_int(arg, False, verb, arg)
        elif t is float:
            self.fmt_float(arg, 64, verb, arg)
        elif t is dict or isinstance(arg, dict):
            self.print_map(arg, verb, depth)
        elif t is list or isinstance(arg, list | tuple):
            self.print_list(arg, verb, depth)
        else:
            self.print_other(arg, verb, depth)

    def print_other(self, arg: Any, verb: str, depth: int) -> None:
        if self.handle_methods(arg, verb):
            return
        if isinstance(arg, bool):
            self.fmt_bool(bool(arg), verb)
        elif isinstance(arg, int):
            self.fmt_int(int(arg), go_type(arg) in UINT_TYPES, verb, arg)
        elif isinstance(arg, float):
            self.fmt_float(float(arg), 32 if go_type(arg) == "float32" else 64, verb, arg)
        elif isinstance(arg, complex):
            self.fmt_complex(arg, verb, arg)
        elif isinstance(arg, str):
            self.fmt_string(str(arg), verb, arg)
        elif isinstance(arg, bytes | bytearray):
            self.print_bytes(bytes(arg), verb, depth)
        elif callable(arg):
            self.fmt_pointer(arg, verb)
        else:
            # a struct-like value: print its repr inside braces, like fmt does for structs
            self.buf.append("{" + str(arg) + "}")

    def handle_methods(self, arg: Any, verb: str) -> bool:
        if self.sharp_v:
            return False
        if verb not in "vsxXq":
            return False
        method = getattr(arg, "go_error", None) or getattr(arg, "go_string", None)
        if method is None or not callable(method):
            return False
        self.fmt_string(str(method()), verb, arg)
        return True

    def fmt_pointer(self, arg: Any, verb: str) -> None:
        u = id(arg)
        if verb == "v":
            if self.sharp_v:
                self.buf.append("(" + _type_string(arg) + ")(")
                self.buf.append(f"0x{u:x})")
            else:
                self.pad(f"0x{u:x}")
        elif verb == "p":
            self.pad(f"0x{u:x}")
        elif verb in "bodxX":
            sharp = self.sharp
            self.sharp = (verb != "d" and not sharp) or sharp
            self.fmt_int(u, True, verb, arg)
            self.sharp = sharp
        else:
            self.bad_verb(verb, arg)

    def print_bytes(self, v: bytes, verb: str, depth: int) -> None:
        if verb in "vd":
            if self.sharp_v:
                self.buf.append("[]byte{" + ", ".join(f"0x{c:x}" for c in v) + "}")
            else:
                self.buf.append("[")
                for i, c in enumerate(v):
                    if i:
                        self.buf.append(" ")
                    self.fmt_integer(c, 10, verb, _LDIGITS)
                self.buf.append("]")
        elif verb == "s":
            self.fmt_s(v.decode("utf-8", "replace"))
        elif verb == "x":
            self.fmt_sx(v, _LDIGITS)
        elif verb == "X":
            self.fmt_sx(v, _UDIGITS)
        elif verb == "q":
            self.fmt_q(v.decode("utf-8", "replace"))
        else:
            self.print_list(list(v), verb, depth)

    def print_map(self, m: dict[Any, Any], verb: str, depth: int) -> None:
        if self.sharp_v:
            self.buf.append(_type_string(m) + "{")
        else:
            self.buf.append("map[")
        for i, key in enumerate(sorted_keys(m)):
            if i > 0:
                self.buf.append(", " if self.sharp_v else " ")
            self.print_arg(key, verb, depth + 1)
            self.buf.append(":")
            self.print_arg(m[key], verb, depth + 1)
        self.buf.append("}" if self.sharp_v else "]")

    def print_list(self, seq: Any, verb: str, depth: int) -> None:
        if verb in "sqxX" and go_type(seq) == "[]uint8":
            self.print_bytes(bytes(seq), verb, depth)
            return
        if self.sharp_v:
            self.buf.append(_type_string(seq) + "{")
            for i, item in enumerate(seq):
                if i:
                    self.buf.append(", ")
                self.print_arg(item, verb, depth + 1)
            self.buf.append("}")
            return
        self.buf.append("[")
        for i, item in enumerate(seq):
            if i:
                self.buf.append(" ")
            self.print_arg(item, verb, depth + 1)
        self.buf.append("]")

    # -- Printf
    def do_printf(self, fmt: str, args: tuple[Any, ...]) -> None:
        end = len(fmt)
        argnum = 0
        after_index = False
        reordered = False
        i = 0
        nargs = len(args)
        while i < end:
            good_argnum = True
            lasti = i
            j = fmt.find("%", i)
            i = end if j < 0 else j
            if i > lasti:
                self.buf.append(fmt[lasti:i])
            if i >= end:
                break
            i += 1
            self.clear_flags()
            simple_done = False
            while i < end:
                c = fmt[i]
                if c == "#":
                    self.sharp = True
                elif c == "0":
                    self.zero = not self.minus
                elif c == "+":
                    self.plus = True
                elif c == "-":
                    self.minus = True
                    self.zero = False
                elif c == " ":
                    self.space = True
                else:
                    if "a" <= c <= "z" and argnum < nargs:
                        if c == "v":
                            self.sharp_v = self.sharp
                            self.sharp = False
                            self.plus_v = self.plus
                            self.plus = False
                        self.print_arg(args[argnum], c)
                        argnum += 1
                        i += 1
                        simple_done = True
                    break
                i += 1
            if simple_done:
                continue

            # argument index
            argnum, i, after_index, ok_arg, re = _arg_number(argnum, fmt, i, nargs)
            reordered = reordered or re
            good_argnum = good_argnum and ok_arg

            if i < end and fmt[i] == "*":
                i += 1
                self.wid, self.wid_present, argnum = _int_from_arg(args, argnum)
                if not self.wid_present:
                    self.buf.append("%!(BADWIDTH)")
                if self.wid < 0:
                    self.wid = -self.wid
                    self.minus = True
                    self.zero = False
                after_index = False
            else:
                self.wid, self.wid_present, i = _parsenum(fmt, i, end)
                if after_index and self.wid_present:
                    good_argnum = False

            if i + 1 < end and fmt[i] == ".":
                i += 1
                if after_index:
                    good_argnum = False
                argnum, i, after_index, ok_arg, re = _arg_number(argnum, fmt, i, nargs)
                reordered = reordered or re
                good_argnum = good_argnum and ok_arg
                if i < end and fmt[i] == "*":
                    i += 1
                    self.prec, self.prec_present, argnum = _int_from_arg(args, argnum)
                    if self.prec < 0:
                        self.prec = 0
                        self.prec_present = False
                    if not self.prec_present:
                        self.buf.append("%!(BADPREC)")
                    after_index = False
                else:
                    self.prec, self.prec_present, i = _parsenum(fmt, i, end)
                    if not self.prec_present:
                        self.prec = 0
                        self.prec_present = True

            if not after_index:
                argnum, i, after_index, ok_arg, re = _arg_number(argnum, fmt, i, nargs)
                reordered = reordered or re
                good_argnum = good_argnum and ok_arg

            if i >= end:
                self.buf.append("%!(NOVERB)")
                break

            verb = fmt[i]
            i += 1
            if verb == "%":
                self.buf.append("%")
            elif not good_argnum:
                self.buf.append("%!" + verb + "(BADINDEX)")
            elif argnum >= nargs:
                self.buf.append("%!" + verb + "(MISSING)")
            else:
                if verb == "v":
                    self.sharp_v = self.sharp
                    self.sharp = False
                    self.plus_v = self.plus
                    self.plus = False
                self.print_arg(args[argnum], verb)
                argnum += 1

        if not reordered and argnum < nargs:
            self.clear_flags()
            self.buf.append("%!(EXTRA ")
            for k, arg in enumerate(args[argnum:]):
                if k > 0:
                    self.buf.append(", ")
                if arg is None:
                    self.buf.append("<nil>")
                else:
                    self.buf.append(_type_string(arg))
                    self.buf.append("=")
                    self.print_arg(arg, "v")
            self.buf.append(")")


def _is_print_rune(u: int) -> bool:
    try:
        return _is_print(chr(u))
    except ValueError:
        return False


def _type_string(v: Any) -> str:
    t = go_type(v)
    return "<nil>" if t is None else t


def _too_large(x: int) -> bool:
    return x > 1_000_000 or x < -1_000_000


def _parsenum(s: str, start: int, end: int) -> tuple[int, bool, int]:
    if start >= end:
        return 0, False, end
    num = 0
    isnum = False
    newi = start
    while newi < end and "0" <= s[newi] <= "9":
        if _too_large(num):
            return 0, False, end
        num = num * 10 + ord(s[newi]) - 48
        isnum = True
        newi += 1
    return num, isnum, newi


def _parse_arg_number(fmt: str) -> tuple[int, int, bool]:
    if len(fmt) < 3:
        return 0, 1, False
    for i in range(1, len(fmt)):
        if fmt[i] == "]":
            width, ok, newi = _parsenum(fmt, 1, i)
            if not ok or newi != i:
                return 0, i + 1, False
            return width - 1, i + 1, True
    return 0, 1, False


def _arg_number(argnum: int, fmt: str, i: int, nargs: int) -> tuple[int, int, bool, bool, bool]:
    """(new argnum, new i, found, good argnum, reordered)."""
    if len(fmt) <= i or fmt[i] != "[":
        return argnum, i, False, True, False
    index, wid, ok = _parse_arg_number(fmt[i:])
    if ok and 0 <= index < nargs:
        return index, i + wid, True, True, True
    return argnum, i + wid, ok, False, True


def _int_from_arg(args: tuple[Any, ...], argnum: int) -> tuple[int, bool, int]:
    num, is_int, new = 0, False, argnum
    if argnum < len(args):
        a = args[argnum]
        if isinstance(a, int) and not isinstance(a, bool):
            num, is_int = int(a), True
            if not -(1 << 63) <= num < (1 << 63):
                num, is_int = 0, False
        new = argnum + 1
        if _too_large(num):
            num, is_int = 0, False
    return num, is_int, new


def sorted_keys(m: dict[Any, Any]) -> list[Any]:
    """Map keys in the order of Go's ``internal/fmtsort`` (numbers, then strings, by value)."""
    keys = list(m)
    if all(type(k) is str for k in keys):
        # the usual map[string]…: UTF-8 byte order is code point order, Python's own
        return sorted(keys)
    try:
        return sorted(keys, key=_key_order)
    except TypeError:
        return sorted(keys, key=lambda k: (str(type(k)), str(k)))


def _key_order(k: Any) -> tuple[int, Any]:
    if k is None:
        return (0, 0)
    if isinstance(k, bool):
        return (1, int(k))
    if isinstance(k, int | float):
        return (2, k)
    if isinstance(k, str):
        return (3, k.encode("utf-8", "surrogatepass"))
    return (4, str(k))


def sprintf(fmt: str, *args: Any) -> str:
    """``fmt.Sprintf``."""
    p = _Printer()
    p.do_printf(fmt, args)
    return "".join(p.buf)


def _is_string(v: Any) -> bool:
    return isinstance(v, str)


def sprint(*args: Any) -> str:
    """``fmt.Sprint``: operands are separated by a space when neither side is a string."""
    p = _Printer()
    prev_string = False
    for n, arg in enumerate(args):
        is_string = _is_string(arg)
        if n > 0 and not is_string and not prev_string:
            p.buf.append(" ")
        p.print_arg(arg, "v")
        prev_string = is_string
    return "".join(p.buf)


def sprintln(*args: Any) -> str:
    """``fmt.Sprintln``: operands always separated by a space, newline appended."""
    p = _Printer()
    for n, arg in enumerate(args):
        if n > 0:
            p.buf.append(" ")
        p.print_arg(arg, "v")
    p.buf.append("\n")
    return "".join(p.buf)


def format_value(v: Any) -> str:
    """``fmt.Sprint(v)`` of one value: what ``%v`` prints (``<nil>`` for nil)."""
    t = type(v)
    if t is str:
        return v  # type: ignore[no-any-return]
    if t is float:
        if -1e6 < v < 1e6 and v == int(v) and (v != 0 or math.copysign(1.0, v) > 0):
            return str(int(v))  # integral and below 1e6: %v prints the plain integer
        return format_float(v)
    if t is int:
        return str(v)
    if t is bool:
        return "true" if v else "false"
    return sprint(v)
