"""Storage: the tables (``models``), engines, sessions and migrations (``db``, ``migrations/``),
and backups that check what they restored (``backup``)."""
