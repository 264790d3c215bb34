"""Pods: state dirs and lifecycle, prestart, volumes, isolators, exit codes, gc.

A pod lives under ``<data dir>/pods/<state>/<uuid>/`` (rkt's model); its apps are
runc containers (see :mod:`carpool.oci`) joining namespaces pinned by carpool.
"""
