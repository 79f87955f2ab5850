"""HTTP interface of the SCIM API."""
