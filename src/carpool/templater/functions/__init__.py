"""The function maps templates see, with dgr's precedence in each context.

dgr registers three function sets (``gtf``, ``sprig`` v2 and its own) in a different
order depending on what is being parsed; a later set overrides an earlier one:

``template`` (template files and the manifest)
    gtf, then sprig, then dgr's own: ``join``/``replace``/``split`` are dgr's (Go
    stdlib signatures), ``default``/``first``/``trim`` are sprig's.
``partial`` (``*.partial`` files)
    gtf and dgr's own only, so a partial calling a sprig-only function fails to
    parse.  Partials and template files share one Go template set: once a template
    file is parsed its functions (sprig included) are the ones every template of
    the set — partials too — *execute* with, exactly as in Go.
``attribute`` (string attribute values)
    dgr's own, then gtf: gtf wins, so ``join``/``replace``/``default`` have gtf's
    semantics there, and there is no sprig.

dgr's ``eq`` overrides Go's builtin ``eq`` in every context.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from carpool.templater.cache import Bundle

Context = Literal["template", "partial", "attribute"]

CONTEXTS: tuple[Context, ...] = ("template", "partial", "attribute")


@cache
def _dgr() -> dict[str, Callable[..., Any]]:
    from carpool.templater.functions import dgr

    return dgr.functions()


@cache
def _gtf() -> dict[str, Callable[..., Any]]:
    from carpool.templater.functions import gtf

    return gtf.functions()


@cache
def _sprig() -> dict[str, Callable[..., Any]]:
    from carpool.templater.functions import sprig

    return sprig.functions()


@cache
def _function_map(context: Context) -> dict[str, Callable[..., Any]]:
    if context == "template":
        return {**_gtf(), **_sprig(), **_dgr()}
    if context == "partial":
        return {**_gtf(), **_dgr()}
    if context == "attribute":
        return {**_dgr(), **_gtf()}
    raise ValueError(f"unknown function context {context!r}")


NONDETERMINISTIC = frozenset(
    {
        # time and the local time zone
        "date",
        "dateInZone",
        "date_in_zone",
        "dateModify",
        "date_modify",
        "datetime",
        "htmlDate",
        "htmlDateInZone",
        "now",
        # the process environment
        "env",
        "expandenv",
        # randomness (and keys made by openssl)
        "randAlpha",
        "randAlphaNum",
        "randAscii",
        "randNumeric",
        "random",
        "shuffle",
        "uuidv4",
        "genPrivateKey",
        "derivePassword",
    }
)
"""Functions (of any context) whose result is not a function of their arguments.

A run of templates calling none of these renders the same text from the same
templates and attributes, which is what lets :mod:`carpool.templater.outputs` reuse
a previous run's text.  Every function name must be in this set or in
:data:`DETERMINISTIC` (a test holds them to it), so a new function is not assumed
repeatable by default.
"""

DETERMINISTIC = frozenset(
    {
        # Go's builtins
        "and", "call", "eq", "ge", "gt", "html", "index", "js", "le", "len", "lt", "ne",
        "not", "or", "print", "printf", "println", "slice", "urlquery",
        # gtf, sprig and dgr
        "HowDeep", "IsMapFirst", "IsMapLast", "abbrev", "abbrevboth", "add", "add1",
        "apnumber", "append", "atoi", "b32dec", "b32enc", "b64dec", "b64enc", "base",
        "biggest", "camelcase", "capfirst", "cat", "ceil", "cell", "center", "clean",
        "coalesce", "compact", "contains", "default", "dict", "dir", "div", "divisibleby",
        "empty", "ext", "fail", "filesizeformat", "first", "float64", "floor", "has",
        "hasKey", "hasPrefix", "hasSuffix", "hello", "howDeep", "ifOrDef", "indent",
        "initial", "initials", "int", "int64", "intcomma", "isAbs", "isArray", "isKind",
        "isMap", "isMapFirst", "isMapLast", "isNil", "isString", "isType", "join", "json",
        "jsonArray", "keys", "kindIs", "kindOf", "last", "length", "lengthis", "list",
        "ljust", "lower", "max", "merge", "min", "mod", "mul", "nospace", "omit", "orDef",
        "orDefs", "ordinal", "pairs", "pick", "pluck", "plural", "pluralize", "prepend",
        "push", "quote", "regexFind", "regexFindAll", "regexMatch", "regexReplaceAll",
        "regexReplaceAllLiteral", "regexSplit", "repeat", "replace", "rest", "reverse",
        "rjust", "round", "semver", "semverCompare", "set", "sha256sum", "snakecase",
        "sortAlpha", "split", "splitList", "squote", "striptags", "sub", "substr",
        "swapcase", "title", "toJson", "toLower", "toPrettyJson", "toString", "toStrings",
        "toUpper", "toYaml", "trim", "trimAll", "trimPrefix", "trimSuffix", "trimall",
        "trunc", "truncatechars", "tuple", "typeIs", "typeIsLike", "typeOf", "uniq",
        "unset", "until", "untilStep", "untitle", "upper", "urlencode", "without",
        "wordcount", "wrap", "wrapWith", "yesno",
    }
)  # fmt: skip
"""Functions whose result depends only on their arguments (and the data they are given)."""


def function_map(context: Context = "template") -> dict[str, Callable[..., Any]]:
    """The functions a template parsed in ``context`` can call (a fresh copy)."""
    return dict(_function_map(context))


def shared_function_map(context: Context) -> dict[str, Callable[..., Any]]:
    """Like :func:`function_map` but the cached dict itself: do not modify it."""
    return _function_map(context)


def dgr_functions() -> dict[str, Callable[..., Any]]:
    return dict(_dgr())


def sprig_functions() -> dict[str, Callable[..., Any]]:
    return dict(_sprig())


def gtf_functions() -> dict[str, Callable[..., Any]]:
    return dict(_gtf())


def attribute_template(
    text: str, data: Any, *, cache: Bundle | None = None, used: set[str] | None = None
) -> str:
    """Render one attribute value as dgr does: a template named ``""``, dgr+gtf functions.

    ``cache``: a persistent cache bundle that may hold the parse of ``text``.
    ``used`` receives the names of the functions ``text`` calls.
    """
    from carpool.templater.engine import Template

    template = Template("").funcs(_function_map("attribute"))
    template.parse(text, cache=cache)
    if used is not None:
        if template.tree is not None:
            used |= template.tree.used_funcs
        else:
            used.add("<unknown>")
    return template.execute(data)
