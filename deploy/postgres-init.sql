-- One database per service: no service reads another's tables.
-- Run by the postgres image once, when its volume is empty, as POSTGRES_USER (compose.yaml).
-- Each service creates its own tables on start (ordered migrations under an advisory lock).
CREATE DATABASE token_service;
CREATE DATABASE directory;
CREATE DATABASE notifications;
