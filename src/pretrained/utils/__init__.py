"""Small shared helpers (logging, progress bars, lazy imports). Framework-free."""
