"""Imports the installed `shared` package before any test module is collected.

pytest's importlib mode names shared/tests/test_x.py "shared.tests.test_x" and, if nothing has
imported the real package yet, binds "shared" to the folder shared/ (a namespace package without
the code); importing it here first makes the installed package win.
"""

import shared  # noqa: F401
