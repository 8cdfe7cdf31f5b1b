"""Synthetic population and furnisher files, with the ground truth kept apart (`truth/`)."""

from openbureau.synth.service import SynthSummary, generate_population

__all__ = ["SynthSummary", "generate_population"]
