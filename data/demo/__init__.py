"""Synthetic data: the fictional demo region "Eenheid Doggerland" with years of incidents
(:func:`build_demo`), and synthetic incidents over an imported real geography
(:func:`synthesize_on_imported`, for benchmarks and tests). Same seed, same data.
:func:`seed_state` gives a freshly built demo its meldingen and a few rapportages."""
from data.demo.build import build_demo
from data.demo.imported import synthesize_on_imported
from data.demo.seed import seed_state

__all__ = ["build_demo", "seed_state", "synthesize_on_imported"]
