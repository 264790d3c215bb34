"""``carpool graph``: the project's image dependencies as a Graphviz dot file.

Edges as dgr drew them: ``aci.dependencies`` black, ``builder.dependencies`` red,
``tester.builder.dependencies`` green, ``tester.aci.dependencies`` blue.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from carpool.builder.project import parse_manifest
from carpool.errors import BuildError


def dot_source(project_dir: Path) -> str:
    project = parse_manifest(project_dir.resolve())
    me = project.full_name
    lines = ["digraph {", f'  "{me}" [shape=box];']
    for deps, colour in (
        (project.aci.dependencies, "black"),
        (project.builder.dependencies, "red"),
        (project.tester_builder.dependencies, "green"),
        (project.tester_aci.dependencies, "blue"),
    ):
        for dep in deps:
            lines.append(f'  "{dep}" -> "{me}" [color={colour}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_graph(project_dir: Path) -> list[Path]:
    """Write ``target/graph.dot`` and, when ``dot`` is installed, ``target/graph.png``."""
    source = dot_source(project_dir)  # a directory that is no project gets no target/
    target = project_dir / "target"
    target.mkdir(parents=True, exist_ok=True)
    dot_file = target / "graph.dot"
    dot_file.write_text(source)
    written = [dot_file]
    dot = shutil.which("dot")
    if dot is not None:
        png = target / "graph.png"
        proc = subprocess.run(
            [dot, "-Tpng", "-o", str(png), str(dot_file)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if proc.returncode != 0:
            raise BuildError(f"dot failed on {dot_file}: {proc.stderr.strip()}")
        written.append(png)
    return written
