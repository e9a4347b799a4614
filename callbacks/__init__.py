"""Callbacks, registered on the app by the factory. Each reads its inputs, gets the scope from
the server, calls query functions and figure builders — no SQL here."""
from __future__ import annotations


def register_callbacks(app) -> None:
    from callbacks import (admin, burglary, driehoek, incidenten, kaart, overview, shell,
                           trends)

    shell.register(app)
    overview.register(app)
    kaart.register(app)
    from callbacks import kaart_near_repeat
    kaart_near_repeat.register(app)
    trends.register(app)
    burglary.register(app)
    driehoek.register(app)
    from callbacks import ondermijning
    ondermijning.register(app)
    incidenten.register(app)
    from callbacks import meldingen
    meldingen.register(app)
    from callbacks import rapportages
    rapportages.register(app)
    admin.register(app)
    from callbacks import account
    account.register(app)
    from callbacks import bronnen
    bronnen.register(app)
