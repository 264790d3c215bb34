"""``carpool init``: dgr's sample project (``aci-builder/files/dgr/command/init``)."""

from __future__ import annotations

import os
from pathlib import Path

from carpool.errors import BuildError

_SCRIPT = (
    "#!/dgr/bin/busybox sh\n"
    ". /dgr/bin/functions.sh\n"
    'isLevelEnabled "debug" && set -x\n\n'
    'echo "I\'m a {level} script"\n'
)

SAMPLE: dict[str, str] = {
    "aci-manifest.yml": "name: aci.example.com/aci-dummy:1\n",
    "attributes/attributes.yml": "default:\n  dummy: world\n",
    "templates/etc/templated.tmpl": '{{template "header" .}}\nHello {{ .dummy }}\n',
    "templates/etc/templated.tmpl.cfg": "uid: 0\ngid: 0\nmode: 0644\ncheckCmd: true\n",
    "templates/header.partial": '{{define "header"}}# generated from attributes{{end}}\n',
    "files/etc/dummy": "Dummy file\n",
    "tests/dummy.bats": (
        "#!/dgr/bin/bats\n\n"
        '@test "templated file is rendered" {\n'
        '  result="$(tail -n 1 /etc/templated)"\n'
        '  [ "$result" == "Hello world" ]\n'
        "}\n\n"
        '@test "dummy file is copied" {\n'
        '  result="$(cat /etc/dummy)"\n'
        '  [ "$result" == "Dummy file" ]\n'
        "}\n"
    ),
    "tests/wait.sh": "exit 0\n",
    ".gitignore": "target/\n",
}
LEVELS = (
    "builder",
    "build",
    "build-late",
    "inherit-build-early",
    "inherit-build-late",
    "prestart-early",
    "prestart-late",
)


def init_project(directory: Path, *, force: bool = False) -> list[Path]:
    """Write the sample project into ``directory``; refuses a non-empty one without ``force``."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildError(f"{directory}: cannot create ({exc.strerror or exc})") from None
    if any(directory.iterdir()) and not force:
        raise BuildError(f"{directory}: not empty (use -f/--force)")
    files = dict(SAMPLE)
    for level in LEVELS:
        files[f"runlevels/{level}/10.{level}.sh"] = _SCRIPT.format(level=level)
    written = []
    for rel, content in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        if rel.startswith("runlevels/") or rel.endswith(".sh"):
            os.chmod(path, 0o755)
        written.append(path)
    return written
