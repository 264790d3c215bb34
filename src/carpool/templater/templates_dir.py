"""Rendering a dgr ``templates/`` directory into a target tree.

Follows dgr's ``template/directory.go`` and ``template/file.go``:

* ``*.partial`` files directly in the templates dir are parsed first (dgr's
  clean-up applied) and their ``{{define}}`` blocks are visible to every template;
* a file named ``x.tmpl`` renders to ``x``; one containing ``.tmpl.`` (and not
  ending in ``.cfg``) renders to its name with the first ``.tmpl.`` replaced by
  ``.`` (``nerve.tmpl.yml`` → ``nerve.yml``); anything else is ignored;
* the relative path under ``templates/`` is the path under the target; every
  directory of the templates tree is created in the target with its mode;
* ``<template file>.cfg`` (YAML) may set ``uid``, ``gid`` (default: this
  process's), ``mode`` (default: the template file's) and ``checkCmd`` (run with
  ``/dgr/bin/busybox sh -c`` after writing; non-zero fails the template);
* the output gets a final newline; a line containing ``<no value>`` fails the
  template naming the line.

Deliberate differences: files are written atomically (temp file + rename), so a
failing template leaves the previous file (or none) instead of an empty one; the
entries of each directory are processed in sorted order (dgr used directory
order); with ``continue_on_error`` a template that fails to *parse* is also
reported and skipped (dgr stopped there even with ``-c``).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carpool.errors import TemplateError
from carpool.log import get_logger
from carpool.templater.preprocess import cleanup_template, find_no_value, finish_output

if TYPE_CHECKING:
    from carpool.templater.cache import Bundle

log = get_logger(__name__)

CheckRunner = Callable[[str, Path], None]
"""Runs a template's ``checkCmd`` (the command, the file just written); raises on failure."""


class RenderReport:
    """What a run of the templater did.

    A plain class, not a dataclass: ``dataclasses`` imports ``inspect`` (~10 ms of
    every ``carpool templater`` start on a small host).
    """

    __slots__ = ("failures", "rendered")

    def __init__(
        self, rendered: list[Path] | None = None, failures: list[str] | None = None
    ) -> None:
        self.rendered: list[Path] = [] if rendered is None else rendered
        """Target files written, in order."""
        self.failures: list[str] = [] if failures is None else failures
        """One message per template that failed (only with ``continue_on_error``)."""

    def __repr__(self) -> str:
        return f"RenderReport(rendered={self.rendered!r}, failures={self.failures!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RenderReport):
            return NotImplemented
        return (self.rendered, self.failures) == (other.rendered, other.failures)

    __hash__ = None  # type: ignore[assignment]

    @property
    def ok(self) -> bool:
        return not self.failures


class TemplateConfig:
    """A template's ``.cfg``: owner, mode and check command of the rendered file.

    Records here are slotted classes: a NamedTuple or dataclass costs ~0.5 ms each to
    define, at every start of the templater.
    """

    __slots__ = ("check_cmd", "gid", "mode", "uid")

    def __init__(self, uid: int, gid: int, mode: int, check_cmd: str = "") -> None:
        self.uid = uid
        self.gid = gid
        self.mode = mode
        self.check_cmd = check_cmd

    def __repr__(self) -> str:
        return (
            f"TemplateConfig(uid={self.uid}, gid={self.gid}, mode={self.mode:#o}, "
            f"check_cmd={self.check_cmd!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TemplateConfig):
            return NotImplemented
        return (self.uid, self.gid, self.mode, self.check_cmd) == (
            other.uid,
            other.gid,
            other.mode,
            other.check_cmd,
        )

    __hash__ = None  # type: ignore[assignment]


def output_name(name: str) -> str | None:
    """The rendered file name of a templates-dir entry, or None if it is not a template."""
    if name.endswith(".tmpl"):
        return name[: -len(".tmpl")]
    if ".tmpl." in name and not name.endswith(".cfg"):
        return name.replace(".tmpl.", ".", 1)
    return None


def default_check_runner(command: str, path: Path) -> None:
    """Run ``checkCmd`` as dgr does: ``/dgr/bin/busybox sh -c CMD`` (``/bin/sh`` if absent)."""
    import subprocess

    shell = ["/dgr/bin/busybox", "sh", "-c"]
    if not os.path.exists(shell[0]):
        shell = ["/bin/sh", "-c"]
    result = subprocess.run([*shell, command], check=False)
    if result.returncode != 0:
        raise TemplateError(
            f"{path}: check command {command!r} failed with exit status {result.returncode}"
        )


def load_config(
    source: Path,
    file_mode: int,
    default_owner: tuple[int, int] | None = None,
    cache: Bundle | None = None,
) -> TemplateConfig:
    """Read ``<template>.cfg`` next to ``source`` (defaults when there is none).

    Without ``uid``/``gid`` the file belongs to ``default_owner``, by default
    this process's uid and gid (dgr's templater ran as the app).  ``cache``: a
    persistent cache bundle that may hold the file's YAML data already.
    """
    uid, gid = default_owner if default_owner is not None else (os.getuid(), os.getgid())
    mode, check = file_mode, ""
    cfg_path = source.with_name(source.name + ".cfg")
    try:
        content = cfg_path.read_bytes()
    except FileNotFoundError:
        return TemplateConfig(uid, gid, mode)
    except OSError as exc:
        raise TemplateError(f"{cfg_path}: cannot read: {exc.strerror}") from exc
    data = _cfg_data(cfg_path, content, cache)
    if data is None:
        return TemplateConfig(uid, gid, mode)
    if not isinstance(data, dict):
        raise TemplateError(f"{cfg_path}: must be a map of uid, gid, mode, checkCmd")

    from carpool.templater.goint import parse_go_int

    def integer(key: str, current: int) -> int:
        value = data.get(key)
        if value is None or value in ("", "~", "null", "Null", "NULL"):
            return current
        number = parse_go_int(value) if isinstance(value, str) else value
        if not isinstance(number, int) or isinstance(number, bool):
            raise TemplateError(f"{cfg_path}: {key}: {value!r} is not an integer")
        return number

    uid = integer("uid", uid)
    gid = integer("gid", gid)
    mode = integer("mode", mode) & 0o777 if "mode" in data else mode
    command = data.get("checkCmd")
    if command is not None and command not in ("~", "null", "Null", "NULL"):
        if not isinstance(command, str):
            raise TemplateError(f"{cfg_path}: checkCmd must be a string")
        check = command
    return TemplateConfig(uid, gid, mode, check)


def _cfg_data(cfg_path: Path, content: bytes, cache: Bundle | None) -> Any:
    """A ``.cfg``'s YAML (scalars as text), from ``cache`` when it holds it."""
    key = None
    if cache is not None:
        from carpool.templater.cache import MISS, entry_key

        key = entry_key("cfg", content)
        data = cache.get(key)
        if data is not MISS:
            if data is None or type(data) is dict:
                return data
            cache.forget(key)  # only maps are stored: a shape error must come from the file
    import yaml

    from carpool.templater.yamlgo import describe_yaml_error, load_yaml_strings

    try:
        data = load_yaml_strings(content)
    except yaml.YAMLError as exc:
        raise TemplateError(f"{cfg_path}: {describe_yaml_error(exc)}") from exc
    if cache is not None and key is not None:
        from carpool.templater.cache import json_exact

        if (data is None or type(data) is dict) and json_exact(data):
            cache.put(key, data)
    return data


def write_atomically(path: Path, content: str, mode: int, uid: int, gid: int) -> None:
    """Write ``content`` to ``path`` via a temp file in the same dir, then rename.

    Rendered files are re-created at every start, so they are not fsynced (dgr
    did, at a cost of milliseconds per file); the rename still guarantees that a
    reader never sees a half-written file.  Plain ``os`` calls on string paths: this
    runs for every template, and file objects and ``Path`` arithmetic cost more here
    than the system calls.
    """
    target = os.fspath(path)
    directory, _, name = target.rpartition("/")
    tmp = f"{directory}/.{name}.{os.getpid()}.tmp" if directory else f".{name}.{os.getpid()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    data = memoryview(content.encode("utf-8", "surrogateescape"))
    fd = os.open(tmp, flags, 0o600)
    try:
        try:
            while data:
                data = data[os.write(fd, data) :]
            os.fchmod(fd, mode)
            os.fchown(fd, uid, gid)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_text(path: str) -> str:
    """A file's text as ``Path.read_text(errors="surrogateescape")`` gives it, for less.

    UTF-8, undecodable bytes kept as surrogates, and universal newlines (``\\r\\n``
    and a lone ``\\r`` read as ``\\n``), without the cost of a text file object.
    """
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "surrogateescape")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


class _Dir:
    """A directory of the templates tree: created in the target with its mode."""

    __slots__ = ("mode", "rel")

    def __init__(self, rel: str, mode: int) -> None:
        self.rel = rel
        self.mode = mode


class _File:
    """A template file, read when the tree was scanned (``content`` None if it could not be)."""

    __slots__ = ("content", "error", "has_cfg", "mode", "out_rel", "rel", "source")

    def __init__(
        self,
        source: Path,
        rel: str,
        out_rel: str,
        content: str | None,
        mode: int,
        error: str,
        has_cfg: bool = True,
    ) -> None:
        self.source = source
        self.rel = rel
        self.out_rel = out_rel
        self.content = content
        self.mode = mode
        self.error = error
        self.has_cfg = has_cfg
        """Whether the dir listed a ``.cfg`` for it (if not, none is looked for)."""


class _Failure:
    """A directory that could not be scanned: the error is raised when rendering reaches it."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


_Step = _Dir | _File | _Failure


class TemplatesDir:
    """A templates dir with its partials loaded, ready to render into targets.

    The tree is scanned and every template read when the object is made (a snapshot),
    so that the persistent cache (``cache_dir``, see :mod:`carpool.templater.cache`)
    can be found by the content of the whole dir before anything is parsed; errors of
    the scan are raised when rendering reaches the file or dir concerned, as before.
    """

    def __init__(
        self,
        source: Path,
        *,
        name_prefix: str | None = None,
        default_owner: tuple[int, int] | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.source = source
        self.default_owner = default_owner
        # Go template names are the paths dgr built: "<dir>/templates/<rel path>"
        self.prefix = str(source) if name_prefix is None else name_prefix
        self.partials: Any = None
        self._shared_has_template_funcs = False
        partials = self._scan_partials()
        self._steps: list[_Step] = []
        self._scan(source, "")
        self.cache: Bundle | None = None
        if cache_dir is not None:
            from carpool.templater.cache import Bundle

            self.cache = Bundle.open(cache_dir, "templates", self._cache_inputs(partials))
        self._load_partials(partials)

    def _scan_partials(self) -> list[tuple[str, str]]:
        """``(template name, text)`` of the ``*.partial`` files, in name order."""
        try:
            entries = sorted(os.scandir(self.source), key=lambda e: e.name)
        except OSError as exc:
            raise TemplateError(f"{self.source}: cannot read templates: {exc.strerror}") from exc
        partials = []
        for entry in entries:
            if not entry.name.endswith(".partial") or entry.is_dir():
                continue
            try:
                content = read_text(entry.path)
            except OSError as exc:
                raise TemplateError(f"{entry.path}: cannot read partial: {exc.strerror}") from exc
            partials.append((f"{self.prefix}/{entry.name}", content))
        return partials

    def _scan(self, src: Path, rel: str) -> None:
        """Add the steps of rendering ``src`` (at ``rel`` in the tree), depth first."""
        try:
            mode = stat.S_IMODE(os.stat(src).st_mode)
            entries = sorted(os.scandir(src), key=lambda e: e.name)
        except OSError as exc:
            self._steps.append(_Failure(f"{exc.filename or src}: {exc.strerror}"))
            return
        self._steps.append(_Dir(rel, mode))
        names = {entry.name for entry in entries}
        for entry in entries:
            child_rel = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):  # Go's Readdir: a symlink is no dir
                self._scan(Path(entry.path), child_rel)
                continue
            out_name = output_name(entry.name)
            if out_name is None:
                continue
            out_rel = f"{rel}/{out_name}" if rel else out_name
            source = Path(entry.path)
            try:
                file_mode = stat.S_IMODE(os.stat(entry.path).st_mode)
                content = read_text(entry.path)
            except OSError as exc:
                message = f"{source}: cannot read template: {exc.strerror}"
                self._steps.append(_File(source, child_rel, out_rel, None, 0, message))
                continue
            has_cfg = entry.name + ".cfg" in names
            self._steps.append(
                _File(source, child_rel, out_rel, content, file_mode, "", has_cfg=has_cfg)
            )

    def _cache_inputs(self, partials: list[tuple[str, str]]) -> list[str | bool | None]:
        """What names this dir's cache bundle: the name prefix and every template's text."""
        inputs: list[str | bool | None] = [self.prefix]
        for name, content in partials:
            inputs += ("partial", name, content)
        for step in self._steps:
            if isinstance(step, _File):
                inputs += ("file", step.rel, step.content)
        return inputs

    def _load_partials(self, partials: list[tuple[str, str]]) -> None:
        from carpool.templater.engine import Template
        from carpool.templater.functions import shared_function_map

        funcs = shared_function_map("partial")
        for name, content in partials:
            if self.partials is None:
                template = Template(name).funcs(funcs)
            else:
                template = self.partials.new(name).funcs(funcs)
            template.parse(cleanup_template(content), cache=self.cache)
            self.partials = template

    def render(
        self,
        attributes: Mapping[str, Any],
        target: Path,
        *,
        continue_on_error: bool = False,
        check_runner: CheckRunner | None = None,
        trace: bool = False,
    ) -> RenderReport:
        """Render every template under the source into ``target``.

        The persistent cache is saved after a run that raised no error.
        """
        report = RenderReport()
        for step in self._steps:
            if isinstance(step, _Dir):
                dst = target / step.rel if step.rel else target
                try:
                    os.makedirs(dst, mode=step.mode, exist_ok=True)
                except OSError as exc:
                    raise TemplateError(f"{exc.filename or dst}: {exc.strerror}") from exc
                continue
            if isinstance(step, _Failure):
                raise TemplateError(step.message)
            destination = target / step.out_rel
            try:
                warning = self._render_step(
                    step,
                    destination,
                    attributes,
                    check_runner,
                    trace,
                    fail_on_no_value=not continue_on_error,
                )
            except TemplateError as exc:
                if not continue_on_error:
                    raise
                log.error("templating %s failed: %s", step.source, exc)
                report.failures.append(str(exc))
                continue
            if warning is not None:
                log.error("%s", warning)
                report.failures.append(warning)
            report.rendered.append(destination)
        if self.cache is not None:
            self.cache.save()
        return report

    def _render_step(
        self,
        step: _File,
        destination: Path,
        attributes: Mapping[str, Any],
        check_runner: CheckRunner | None,
        trace: bool,
        *,
        fail_on_no_value: bool,
    ) -> str | None:
        if step.content is None:
            raise TemplateError(step.error)
        return self._render_text(
            step.source,
            step.rel,
            step.content,
            step.mode,
            destination,
            attributes,
            check_runner,
            trace,
            fail_on_no_value=fail_on_no_value,
            has_cfg=step.has_cfg,
        )

    def render_file(
        self,
        source: Path,
        rel: str,
        destination: Path,
        attributes: Mapping[str, Any],
        check_runner: CheckRunner | None = None,
        trace: bool = False,
        *,
        fail_on_no_value: bool = True,
    ) -> str | None:
        """Render one template file to ``destination`` (dgr's ``RunTemplate``).

        A rendered ``<no value>`` raises, or with ``fail_on_no_value=False`` is
        returned as a message and the file is written anyway (dgr's ``-c``).
        """
        try:
            file_mode = stat.S_IMODE(source.stat().st_mode)
            content = source.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError as exc:
            raise TemplateError(f"{source}: cannot read template: {exc.strerror}") from exc
        return self._render_text(
            source,
            rel,
            content,
            file_mode,
            destination,
            attributes,
            check_runner,
            trace,
            fail_on_no_value=fail_on_no_value,
        )

    def _render_text(
        self,
        source: Path,
        rel: str,
        content: str,
        file_mode: int,
        destination: Path,
        attributes: Mapping[str, Any],
        check_runner: CheckRunner | None,
        trace: bool,
        *,
        fail_on_no_value: bool,
        has_cfg: bool = True,
    ) -> str | None:
        from carpool.templater.engine import Template
        from carpool.templater.functions import shared_function_map

        name = f"{self.prefix}/{rel}"
        if self.partials is not None:
            # one Go template set shared with the partials: its function map only
            # needs the template-file functions added once (Funcs is additive)
            template = self.partials.new(name)
            if not self._shared_has_template_funcs:
                template.funcs(shared_function_map("template"))
                self._shared_has_template_funcs = True
        else:
            template = Template(name).new(name).funcs(shared_function_map("template"))
        template.parse(cleanup_template(content), cache=self.cache)
        if has_cfg:
            config = load_config(source, file_mode, self.default_owner, self.cache)
        else:
            owner = self.default_owner
            uid, gid = owner if owner is not None else (os.getuid(), os.getgid())
            config = TemplateConfig(uid, gid, file_mode)
        log.debug("templating %s -> %s", source, destination)
        output = finish_output(template.execute(attributes))
        if trace:
            log.info("%s:\n%s", destination, output)
        warning = None
        missing = find_no_value(output)
        if missing is not None:
            line, text = missing
            warning = (
                f"{source}: rendered line {line} has <no value> (missing attribute?): "
                f"{text.strip()}"
            )
            if fail_on_no_value:
                raise TemplateError(warning)
        try:
            write_atomically(destination, output, config.mode, config.uid, config.gid)
        except OSError as exc:
            raise TemplateError(f"{destination}: cannot write: {exc.strerror}") from exc
        if config.check_cmd:
            (check_runner or default_check_runner)(config.check_cmd, destination)
        return warning
