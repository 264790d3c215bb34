"""A faithful pure-Python implementation of Go 1.19's ``text/template``.

>>> from carpool.templater.engine import Template
>>> Template("t").parse("{{range $k, $v := .}}{{$k}}={{$v}} {{end}}").execute({"b": 2.0, "a": 1e6})
'a=1e+06 b=2 '

Errors are :class:`carpool.errors.TemplateError` (``ParseError`` / ``ExecError``) with
Go's message text, e.g. ``template: t:1:4: executing "t" at <.a.b>: nil pointer
evaluating interface {}.b``.  Values are modelled as described in
:mod:`carpool.templater.gotypes`; functions may declare Go signatures with
:func:`carpool.templater.gotypes.go_signature`; objects may expose Go methods as
capitalised callable attributes (``{{$cell.Set 1}}``).

The lexer, parser and executor are ports of Go's, checked against Go itself by
``tests/templater/engine`` (hand-written cases plus fuzzers; outputs and error messages
identical).  Known differences, all outside what templates can normally observe:

* Template names containing ``%``: Go 1.19 formats parse-error locations with the name
  inside a format string, which garbles them (``file%!d(…)``); carpool prints the name.
* ``slice`` indexes may go up to a Go slice's *capacity*, which depends on how Go's
  decoder grew it; carpool's lists have capacity == length, so ``slice .l 4`` on a
  3-element list says ``index out of range: 4`` where Go may say ``invalid slice index``.
* Strings are Python text: a ``"\\xff"`` escape that is not valid UTF-8 becomes U+FFFD
  instead of a raw byte (``len``/``index``/``slice`` count UTF-8 bytes like Go).
* Printing a function value (``%p``, ``%v`` of a func) shows a different address.
* The template call depth limit is Go's 100000 or Python's frame limit, whichever comes
  first; both end in ``exceeded maximum template depth (100000)``.
"""

from carpool.templater.engine.executor import ExecError
from carpool.templater.engine.nodes import ParseError
from carpool.templater.engine.template import Template

__all__ = ["ExecError", "ParseError", "Template"]
