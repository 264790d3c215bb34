"""synapse's HAProxy router: config rendering, process management, runtime API."""
