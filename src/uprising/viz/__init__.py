"""Optional plotting layer (needs the ``plot`` extra); the core never imports it."""
