"""Marshmallow schemas of every payload that crosses a service boundary."""
