"""OCI runtime bundles and the runc driver.

This package knows the OCI runtime spec (``config.json``) and how to drive
``runc``; it does not decide pod policy (which namespaces are shared, which
isolators apply): :mod:`carpool.runtime` decides and hands it plain settings.
"""
