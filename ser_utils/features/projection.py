"""Two-dimensional views of a feature set (PCA and t-SNE), for exploring the corpus in notebook 02."""

from __future__ import annotations

import numpy as np

from .. import config


def project_2d(features: np.ndarray, *, seed: int = config.DEFAULT_SEED) -> dict[str, np.ndarray]:
    """Standardise ``features`` and embed them in 2-D with PCA (linear) and t-SNE (neighbourhoods)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from sklearn.preprocessing import StandardScaler

    scaled = StandardScaler().fit_transform(features)
    pca = PCA(n_components=2, random_state=seed).fit(scaled)
    explained = pca.explained_variance_ratio_.sum()
    return {
        f"PCA ({explained:.0%} of variance)": pca.transform(scaled),
        "t-SNE (perplexity 30)": TSNE(n_components=2, perplexity=30, init="pca", random_state=seed).fit_transform(scaled),
    }


# --------------------------------------------------------------------------- corrupted copies
