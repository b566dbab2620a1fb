"""Precomputed embeddings, so embedding can run on a GPU box or a cluster.

Accepted files, keyed by conversation id and facet:
- `.npz`: an array `ids` (n,) of conversation keys, and one (n, d) float
  array per facet, named by the facet (e.g. `style`).
- `.npy`: a single facet: a structured file is not needed; give
  `FACET.npy` next to `ids.npy` in one folder and pass the folder.
- `.parquet`: columns `id`, `facet`, `embedding` (list of floats), one row per
  (conversation, facet).

A key is `source/id` or, when ids are unique across sources, just `id`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import InputError


def load_precomputed(path: str | Path) -> tuple[dict[str, dict[str, np.ndarray]], str]:
    """Return facet -> key -> vector, and the file it came from."""
    path = Path(path)
    if not path.exists():
        raise InputError("embeddings file not found", file=path)
    out: dict[str, dict[str, np.ndarray]] = {}
    if path.is_dir():
        ids_file = path / "ids.npy"
        if not ids_file.exists():
            raise InputError("a folder of .npy embeddings needs ids.npy", file=path)
        ids = _ids(_read_array(ids_file, lambda: np.load(ids_file, allow_pickle=False)), ids_file)
        for f in sorted(path.glob("*.npy")):
            if f.name == "ids.npy":
                continue
            out[f.stem] = _rows(_read_array(f, lambda f=f: np.load(f, allow_pickle=False)), ids, f, f.stem)
        return out, str(path)
    if path.suffix == ".npz":
        try:
            with open(path, "rb") as fh:
                magic = fh.read(4)
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", file=path) from None
        if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise InputError("not a .npz file (a .npz is a zip archive of .npy arrays, as np.savez writes)",
                             file=path)
        try:
            z = np.load(path, allow_pickle=False)
            if not hasattr(z, "files"):
                raise ValueError("it holds a single array, not named arrays")
        except Exception as exc:
            raise InputError(f"not a readable .npz file ({exc})", file=path) from None
        with z:
            if "ids" not in z.files:
                raise InputError("missing array 'ids'", file=path, field="ids")
            ids = _ids(_read_array(path, lambda: z["ids"], "ids"), path)
            for name in z.files:
                if name != "ids":
                    out[name] = _rows(_read_array(path, lambda name=name: z[name], name), ids, path, name)
        return out, str(path)
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq
        try:
            table = pq.read_table(path).to_pydict()
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"not a readable Parquet file ({exc})", file=path) from None
        for col in ("id", "facet", "embedding"):
            if col not in table:
                raise InputError(f"missing column '{col}'", file=path, field=col)
        by_facet: dict[str, tuple[list, list]] = {}
        for i, (cid, facet, emb) in enumerate(zip(table["id"], table["facet"], table["embedding"])):
            ids, vecs = by_facet.setdefault(str(facet), ([], []))
            ids.append(str(cid))
            vecs.append(emb)
        for facet, (ids, vecs) in by_facet.items():
            lengths = {len(v) if isinstance(v, (list, tuple)) else -1 for v in vecs}
            if len(lengths) != 1 or -1 in lengths:
                raise InputError(f"embeddings of facet '{facet}' have different lengths {sorted(lengths)}",
                                 file=path, field="embedding")
            out[facet] = _rows(np.asarray(vecs, dtype=np.float32), _ids(np.asarray(ids), path), path, facet)
        return out, str(path)
    raise InputError("embeddings must be .npz, .parquet, or a folder of .npy files", file=path)


def _read_array(file, read, field: str | None = None) -> np.ndarray:
    """Read one array; object arrays (pickles) and torn files are input errors."""
    try:
        return read()
    except Exception as exc:
        raise InputError(f"cannot read the array ({exc})", file=file, field=field) from None


def _ids(arr: np.ndarray, file) -> list[str]:
    if arr.ndim != 1:
        raise InputError(f"'ids' must be a 1-D array of conversation ids, got shape {arr.shape}",
                         file=file, field="ids")
    if arr.dtype.kind not in "UiuS":
        raise InputError(f"'ids' must hold strings or integers, got dtype {arr.dtype}", file=file, field="ids")
    ids = [x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x) for x in arr.tolist()]
    seen: dict[str, int] = {}
    for i, x in enumerate(ids):
        if x in seen:
            raise InputError(f"id '{x}' appears twice (rows {seen[x]} and {i})", file=file, line=i + 1,
                             field="ids")
        seen[x] = i
    return ids


def _rows(arr: np.ndarray, ids: list[str], file, facet: str) -> dict[str, np.ndarray]:
    if arr.ndim != 2 or arr.shape[0] != len(ids):
        raise InputError(f"expected shape ({len(ids)}, d) to match 'ids', got {arr.shape}", file=file, field=facet)
    if arr.dtype.kind not in "fiu":
        raise InputError(f"embeddings must be numbers, got dtype {arr.dtype}", file=file, field=facet)
    if arr.shape[1] == 0:
        raise InputError("embeddings have dimension 0", file=file, field=facet)
    arr = np.asarray(arr, dtype=np.float32)
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{int(bad.sum())} embedding(s) contain NaN or inf, first at row {i} (id '{ids[i]}')",
                         file=file, line=i + 1, field=facet)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    if (norms == 0).any():
        i = int(np.flatnonzero(norms[:, 0] == 0)[0])
        raise InputError(f"zero embedding at row {i} (id '{ids[i]}')", file=file, line=i + 1, field=facet)
    arr = arr / norms  # cosine geometry, like the model's own embeddings
    return dict(zip(ids, arr))


def attach(table, conversations, vectors: dict[str, dict[str, np.ndarray]], origin: str,
           expected_dim: int | None = None) -> list[str]:
    """Replace the embeddings of every facet present in `vectors`, row by row.

    Each row then has its own vector; the column's texts stay (they label the
    clusters in reports). Returns the facets replaced.
    """
    ids = [c.id for c in conversations]
    unique_ids = len(set(ids)) == len(ids)
    replaced = []
    for facet, by_key in vectors.items():
        if facet not in table.columns:
            continue
        col = table.columns[facet]
        dims = {v.shape[0] for v in by_key.values()}
        if len(dims) != 1 or (expected_dim is not None and expected_dim not in dims):
            raise InputError(f"embedding dimension {sorted(dims)} does not match the others "
                             f"({expected_dim})", file=origin, field=facet)
        rows, missing = [], []
        for c in conversations:
            v = by_key.get(f"{c.source}/{c.id}")
            if v is None and unique_ids:
                v = by_key.get(c.id)
            if v is None:
                missing.append(f"{c.source}/{c.id}")
            rows.append(v)
        if missing:
            raise InputError(f"no embedding for {len(missing)} conversation(s), e.g. {missing[:3]}",
                             file=origin, field=facet)
        texts = [col.text_of(i) for i in range(len(conversations))]
        col.texts = texts
        col.index = np.arange(len(conversations), dtype=np.int32)
        col.embeddings = np.stack(rows).astype(np.float32)
        expected_dim = col.embeddings.shape[1] if expected_dim is None else expected_dim
        replaced.append(facet)
    if vectors and not replaced:
        raise InputError(f"no array is named after a measured facet (arrays: {', '.join(sorted(vectors))}; "
                         f"facets: {', '.join(table.columns)})", file=origin)
    return replaced
