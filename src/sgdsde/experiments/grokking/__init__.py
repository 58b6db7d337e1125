"""Grokking on modular addition, with the gradient noise tracked through training (notes §4).

Task: predict (a + b) mod p from the pair (a, b); a fraction ``frac_train`` of the p² pairs is the
training set, the rest the test set. Models:

* :class:`ModAddMLP` — embeddings of a and b (shared table), concatenated, one ReLU hidden layer,
  p logits: small enough to grok on a CPU in seconds;
* :class:`OneLayerTransformer` — the model of Nanda et al. (2023): tokens (a, b, "="), learned
  positional embeddings, one attention layer (4 heads, causal mask) and one ReLU MLP, no LayerNorm,
  read-out at the last position over p + 1 classes; their initialisation (N(0, 1/d_model) etc.).

:func:`train` runs full-batch or minibatch AdamW / SGD with everything on one device, logs train /
test loss and accuracy every ``log_every`` steps (the only host synchronisations) and, every
``noise_every`` steps, the gradient-noise statistics at the current θ from the per-sample gradients
G ``(m, d)`` of a fixed subsample of m training examples (``torch.func``):

* the spectrum of Σ_emp = (1/m) Σ_i (g_i − ḡ)(g_i − ḡ)ᵀ (top eigenvalues from the m×m Gram
  matrix, and its trace);
* the tail index of the minibatch noise ξ = ḡ − g_B at batch size ``noise_batch``: Mohammadi's
  estimator on the norms of R noise vectors (``alpha_norm``) and on their pooled coordinates as in
  Şimşekli et al. (2019) (``alpha_coord``).

Command line (the GPU run of the chapter)::

    python -m sgdsde.experiments grokking --profile nanda --device cuda --out chapters/data/18_grokking/nanda.json

writes the :class:`~sgdsde.experiments.record.Record` of :func:`run` as JSON: the configuration,
the device name, the git commit, the wall time and the whole history.

Layout: ``_data`` (the modular-addition split), ``_models`` (the two models),
``_config`` (:class:`GrokConfig` and its profiles), ``_noise`` (the noise statistics),
``_training`` (the training loop, :func:`run`, :func:`summarize` and the checks).
"""

from __future__ import annotations

from ._config import CONFIGS, PROFILES, GrokConfig
from ._data import modular_addition_data
from ._models import ModAddMLP, OneLayerTransformer, build_model
from ._noise import noise_statistics
from ._training import check_grokking, load_run, run, summarize, train

#: The experiment's config class under the name every experiment uses.
Config = GrokConfig

__all__ = [
    "modular_addition_data",
    "ModAddMLP",
    "OneLayerTransformer",
    "GrokConfig",
    "Config",
    "CONFIGS",
    "PROFILES",
    "build_model",
    "noise_statistics",
    "train",
    "run",
    "summarize",
    "check_grokking",
    "load_run",
]
