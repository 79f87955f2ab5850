"""HTTP interfaces of the notifications service: the internal ingestion API and the admin JSON API."""
