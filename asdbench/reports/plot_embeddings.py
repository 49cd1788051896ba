"""An embedding map: train and test embeddings of each system's first seed in 2-D.

t-SNE from scikit-learn (perplexity <= 30, PCA init) or UMAP where ``umap-learn`` is installed
(``auto`` picks UMAP then). Rows of ``embeddings.npz`` are named by the trial's
``embeddings.csv``. At most :data:`MAX_POINTS` clips are drawn, a seeded random subset, so the
map costs seconds even for DCASE-sized runs; the subset and the method are seeded by ``seed``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..results.layout import EMBEDDINGS_FILE, EMBEDDINGS_INDEX
from .plots import Figures, Representative, figure_class, first_seed_dir

EMBEDDING_METHODS = ("auto", "tsne", "umap", "none")
MAX_POINTS = 3000
COLOURINGS = (("domain", "domain"), ("label", "label"), ("attribute", "attribute"))


def pick_method(method: str) -> str:
    has_umap = importlib.util.find_spec("umap") is not None
    if method == "umap" and not has_umap:
        raise ConfigError("--embedding umap needs umap-learn (pip install umap-learn)")
    return ("umap" if has_umap else "tsne") if method == "auto" else method


def project(embeddings: np.ndarray, method: str, seed: int) -> np.ndarray:
    """2-D coordinates of the rows of ``embeddings`` (cosine geometry: rows are L2-normalised)."""
    x = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    if method == "umap":
        import warnings

        import umap

        with warnings.catch_warnings():  # "n_jobs overridden by random_state": seeding is the point
            warnings.filterwarnings("ignore", message=".*n_jobs.*", category=UserWarning)
            return umap.UMAP(n_components=2, metric="cosine", random_state=seed).fit_transform(x)
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(2.0, (len(x) - 1) / 3)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)


def _load(folder: Path) -> tuple[np.ndarray, pd.DataFrame] | None:
    npz, index = folder / EMBEDDINGS_FILE, folder / EMBEDDINGS_INDEX
    if not (npz.is_file() and index.is_file()):
        return None
    with np.load(npz) as data:
        matrices = {name: data[name] for name in ("train", "test")}
    rows = pd.read_csv(index, dtype=str, keep_default_na=False)
    vectors = np.stack([matrices[m][int(r)] for m, r in zip(rows["matrix"], rows["row"], strict=True)])
    kind = np.where(rows["matrix"] == "train", "train", "test " + rows["label"].replace("", "unknown"))
    rows = rows.assign(label=kind, domain=rows["domain"].replace("", "unknown"),
                       attribute=rows["machine"] + ": " + rows["attribute"].replace("", "-"))
    return vectors, rows


def _scatter(ax: Any, xy: np.ndarray, values: pd.Series, title: str) -> None:
    from matplotlib import colormaps

    categories = sorted(set(values))
    palette = colormaps["tab10" if len(categories) <= 10 else "tab20"]
    for k, category in enumerate(categories):
        sel = (values == category).to_numpy()
        ax.scatter(xy[sel, 0], xy[sel, 1], s=4, alpha=0.7, color=palette(k % palette.N), label=category)
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    if len(categories) <= 12:
        ax.legend(fontsize=5, markerscale=2, loc="best")
    else:
        ax.text(0.01, 0.01, f"{len(categories)} attributes", transform=ax.transAxes, fontsize=6)


def embedding_figure(reps: list[Representative], figures: Figures, method: str, seed: int) -> list[str]:
    """``embeddings.<fmt>``: one row per system, one column per colouring; returns notes."""
    method = pick_method(method)
    maps, notes = [], []
    rng = np.random.default_rng(seed)
    for rep in reps:
        folder = first_seed_dir(rep)
        loaded = _load(folder) if folder is not None else None
        name = rep.label.split(" (")[0]
        if loaded is None:
            notes.append(f"no embeddings.npz + embeddings.csv for {name}: not in the embedding map")
            continue
        vectors, rows = loaded
        if len(rows) > MAX_POINTS:
            keep = np.sort(rng.choice(len(rows), MAX_POINTS, replace=False))
            vectors, rows = vectors[keep], rows.iloc[keep].reset_index(drop=True)
        maps.append((f"{name} (seed {rep.seeds[0]})", project(vectors, method, seed), rows))
    if not maps:
        return notes
    fig = figure_class()(figsize=(3.6 * len(COLOURINGS), 3.4 * len(maps)))
    for i, (label, xy, rows) in enumerate(maps):
        for j, (column, title) in enumerate(COLOURINGS):
            ax = fig.add_subplot(len(maps), len(COLOURINGS), i * len(COLOURINGS) + j + 1)
            _scatter(ax, xy, rows[column], f"{label}: {title}")
    fig.suptitle(f"embeddings ({'UMAP' if method == 'umap' else 't-SNE'}, cosine), train and test clips", fontsize=10)
    fig.tight_layout()
    figures.save(fig, "embeddings")
    return notes
