"""Pods: state dirs and lifecycle, prestart, volumes, isolators, exit codes, gc.

A pod lives under ``<data dir>/pods/<state>/<uuid>/`` (rkt's model, see
:mod:`carpool.runtime.pods`); its apps are runc containers (see :mod:`carpool.oci`)
joining UTS, IPC and network namespaces that carpool pins with bind mounts
(:mod:`carpool.runtime.namespaces`), each app on its own overlay rootfs whose lower
dir is the store's rendered tree.  A pod that is a single container and on no CNI
network has nobody to share them with: runc creates its namespaces (hostname and
sysctls from the bundle) and mounts the overlay itself, so nothing is pinned or mounted
in carpool's namespace.

Library entry points (all in :mod:`carpool.runtime.lifecycle`):

``run(data_dir, PodOptions, RunOptions, on_started=None) -> int``
    Prepare and run a pod in the foreground; returns the pod's exit status (first
    failing app's status, 0, or 128+signal when carpool was signalled); raises
    :class:`carpool.errors.RuntimeFailure` (exit 254) for carpool's own failures.
``prepare`` / ``run_prepared`` / ``stop`` / ``rm`` / ``gc`` / ``pod_info`` /
``wait_exited`` / ``trees_in_use``
    The other commands; ``trees_in_use`` lists the rendered trees pods still need
    (pass it to the store's ``gc(in_use=...)``).

On-disk layout of a pod: ``pod`` (pod manifest), ``pod-created``, ``started``,
``runtime.json`` (trees and run options), ``apps/<app>/{upper,work,oci/<step>,log,exit}``,
``sharedVolumes/<volume>``, and ``mounts/`` (a private bind mount holding the pinned
namespaces ``mounts/ns/{uts,ipc,net}`` and the app rootfs ``mounts/apps/<app>``; for a
lone container a plain directory, ``mounts/apps/<app>`` being where runc mounts ``/``).
runc state lives in ``<data dir>/runc``; cgroups in ``/carpool/<uuid>/<app>``.

Networking plugs in through :func:`carpool.runtime.network.register_backend`.
"""
