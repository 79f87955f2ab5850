"""HTTP interfaces of the directory."""
