"""Every carpool command and the module that defines it (imported on first use)."""

from __future__ import annotations

# command name -> "module:attribute".  A command whose module is not written yet
# is simply not offered; the map is the single place listing carpool's commands.
LAZY_COMMANDS: dict[str, str] = {
    # images (store)
    "fetch": "carpool.cli.image:fetch",
    "image": "carpool.cli.image:image",
    # pods (runtime)
    "run": "carpool.cli.podrun:run",
    "prepare": "carpool.cli.podrun:prepare",
    "run-prepared": "carpool.cli.podrun:run_prepared",
    "status": "carpool.cli.pods:status",
    "list": "carpool.cli.pods:list_pods",
    "enter": "carpool.cli.pods:enter",
    "stop": "carpool.cli.pods:stop",
    "rm": "carpool.cli.pods:rm",
    "gc": "carpool.cli.pods:gc",
    "cat-manifest": "carpool.cli.pods:cat_manifest",
    "logs": "carpool.cli.pods:logs",
    # templater
    "templater": "carpool.cli.templater:templater",
    # builder
    "build": "carpool.cli.build:build",
    "clean": "carpool.cli.build:clean",
    "install": "carpool.cli.build:install",
    "test": "carpool.cli.build:test",
    "try": "carpool.cli.build:try_",
    "graph": "carpool.cli.build:graph",
    "init": "carpool.cli.build:init",
    "aci-version": "carpool.cli.build:aci_version",
    "sign": "carpool.cli.build:sign",
    "bootstrap": "carpool.cli.bootstrap:bootstrap",
    # discovery
    "nerve": "carpool.cli.nerve:nerve",
    "synapse": "carpool.cli.synapse:synapse",
}
