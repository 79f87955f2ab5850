"""The contract between the services: schemas, configuration, database, HTTP client, logging."""
