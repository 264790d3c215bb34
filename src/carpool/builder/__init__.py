"""Building images: dgr projects (later) and bootstrapped base images (:mod:`.bootstrap`)."""
