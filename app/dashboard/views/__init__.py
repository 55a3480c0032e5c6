"""What each dashboard page shows, as plain data for its template (no HTML built here, except
the charts)."""
