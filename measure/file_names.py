"""A file's name as the default name of its source."""
from __future__ import annotations

import re

# Hugging Face shards a split as `train-00000-of-00014.parquet`; the shards
# of one split are one source.
_SHARD_SUFFIX = re.compile(r"-\d{5}-of-\d{5}$")


def file_stem(name: str) -> str:
    """`sim_a.jsonl.gz` -> `sim_a`: the default source name of a file.

    A Hugging Face shard suffix is dropped (`real-00003-of-00014.parquet` ->
    `real`), so the shards of one split pool into one source.
    """
    lower = name.lower()
    for suffix in (".gz",):
        if lower.endswith(suffix):
            name, lower = name[: -len(suffix)], lower[: -len(suffix)]
    for suffix in (".jsonl", ".json", ".parquet"):
        if lower.endswith(suffix):
            name = name[: -len(suffix)]
            break
    else:
        name = name.rsplit(".", 1)[0] if "." in name else name
    return _SHARD_SUFFIX.sub("", name) or name
