"""What every Deliver-to-Bill package shares: the settings tree (:mod:`d2b.settings`)."""
