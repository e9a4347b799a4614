"""Synthetic data: the fictional demo region "Eenheid Doggerland" with years of incidents
(:func:`build_demo`), and synthetic incidents over an imported real geography
(:func:`synthesize_on_imported`, for benchmarks and tests). Same seed, same data."""
from data.demo.build import build_demo
from data.demo.imported import synthesize_on_imported

__all__ = ["build_demo", "synthesize_on_imported"]
