"""Callbacks, registered on the app by the factory. Each reads its inputs, gets the scope from
the server, calls query functions and figure builders — no SQL here."""
from __future__ import annotations


def register_callbacks(app) -> None:
    from callbacks import admin, overview, shell

    shell.register(app)
    overview.register(app)
    admin.register(app)
