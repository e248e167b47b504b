"""The one error a user can fix: bad input (preset, option, file, folder, a full disk).

It lives at the bottom of the house so that every layer (core, config, the stages) can raise it;
pipeline.config re-exports it, as `from pipeline.config import UserError` has always worked.
"""
from __future__ import annotations


class UserError(Exception):
    """Bad input from the user (preset, option, file, folder): reported as one line, exit 2."""
