"""dgr's whitespace clean-up of template files (``CleanupOfTemplate``).

Existing dgr templates were written against this pre-pass, not against plain Go
trim markers, so it is applied to every template file, partial and manifest
before parsing:

* trailing spaces (only ``' '``, not tabs) of every line are removed;
* a line whose first non-space text is ``{{-`` loses its indentation and the
  ``-`` (it strips *this line's* indentation instead of all preceding
  whitespace, as Go would);
* a line ending in ``-}}`` is joined with the next one (its newline is eaten
  and the marker becomes ``}}``);
* ``-`` markers elsewhere keep Go's meaning;
* lines are split like Go's ``bufio.ScanLines`` (``\\n``, a ``\\r`` before it is
  dropped) and joined back with ``\\n``, so the result has no final newline —
  :func:`finish_output` adds the one dgr appends to every rendered file.
"""

from __future__ import annotations


def split_lines(text: str) -> list[str]:
    """Lines as Go's ``bufio.ScanLines`` yields them (no empty token after a final ``\\n``)."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def cleanup_template(content: str) -> str:
    """Apply dgr's ``CleanupOfTemplate`` to a template's source text."""
    lines: list[str] = []
    current = ""
    for raw in split_lines(content):
        part = raw.rstrip(" ")
        stripped = part.lstrip(" ")
        if stripped.startswith("{{-"):
            part = "{{" + stripped[3:]
        current += part
        if current.endswith("-}}"):
            current = current[:-3] + "}}"
        else:
            lines.append(current)
            current = ""
    if current:
        lines.append(current)
    return "\n".join(lines)


def finish_output(rendered: str) -> str:
    """dgr appends one newline to every rendered template."""
    return rendered + "\n"


def find_no_value(output: str) -> tuple[int, str] | None:
    """The first ``(line number, line)`` of ``output`` containing ``<no value>``, if any."""
    if "<no value>" not in output:
        return None
    for number, line in enumerate(split_lines(output), start=1):
        if "<no value>" in line:
            return number, line
    return None
