"""HTTP interfaces of the token service: the admin API and the internal API."""
