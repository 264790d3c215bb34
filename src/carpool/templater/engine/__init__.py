"""A faithful pure-Python implementation of Go 1.19's ``text/template``.

>>> from carpool.templater.engine import Template
>>> Template("t").parse("{{range $k, $v := .}}{{$k}}={{$v}} {{end}}").execute({"b": 2.0, "a": 1e6})
'a=1e+06 b=2 '

Errors are :class:`carpool.errors.TemplateError` (``ParseError`` / ``ExecError``) with
Go's message text, e.g. ``template: t:1:2: executing "t" at <.a.b>: nil pointer
evaluating interface {}.b``.  Values are modelled as described in
:mod:`carpool.templater.gotypes`; functions may declare Go signatures with
:func:`carpool.templater.gotypes.go_signature`.
"""

from carpool.templater.engine.executor import ExecError
from carpool.templater.engine.parser import ParseError
from carpool.templater.engine.template import Template

__all__ = ["ExecError", "ParseError", "Template"]
