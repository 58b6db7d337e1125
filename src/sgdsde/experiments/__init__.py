"""Experiment-specific engines for the research programme of notes §4 (one module per experiment).

* :mod:`sgdsde.experiments.wells` — double-well losses with SGD-type noise, and escape times of SGD,
  the Gaussian SDE and the α-stable (Lévy) SDE from a basin (notes §4, heavy tails);
* :mod:`sgdsde.experiments.deep_linear` — Saxe, McClelland & Ganguli's mode dynamics of deep linear
  networks: closed form, whitened teacher data, mode strengths, plateau times (notes §4.1);
* :mod:`sgdsde.experiments.superposition` — Elhage et al.'s toy model of superposition, many
  instances trained at once, and its feature geometry (notes §4);
* :mod:`sgdsde.experiments.grokking` — modular addition, an MLP and Nanda et al.'s one-layer
  transformer, a training loop that tracks accuracy, loss, the gradient-noise tail index and the
  spectrum of Σ (notes §4); also a command-line entry point for the GPU run.

These modules sit above the core floors (they may import ``problems``, ``sampling``, ``sgd``,
``noise``, ``sde``, ``levy``, ``stats``); nothing in the core imports them.
"""

from __future__ import annotations

__all__ = ["wells", "deep_linear", "superposition", "grokking", "assumptions"]
