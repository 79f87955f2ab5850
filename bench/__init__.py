"""The benchmark: our services against a bare Flask ceiling and scim2-server, then at scale."""
