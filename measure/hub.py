"""Conversations from Hugging Face `datasets`: hub ids (`hf:OWNER/NAME`),
folders written by `save_to_disk`, and `Dataset` objects in memory.

Each input becomes a list of `RecordStream`s (rows of one data file or one
split, with the source names they imply); `measure.loaders` reads the rows
exactly as it reads the lines of a file, detecting the format per record.
`datasets` is imported only when such an input is given.

Source names: records that do not name their source take the dataset's name
(the hub name's last part, or the folder's name); in the paper's paired
layout the simulator is named by the data file (`gpt-4o.jsonl` -> `gpt-4o`),
or by the config when the dataset has several (or one is picked). `#NAME`
renames either. A hub file's sub-folder (other than `data/` or its config's
folder) is its task, as for local folders (`coding/gpt-4o.jsonl` -> task
`coding`); paired records read from several splits take the split as task.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Callable, Iterator

from .errors import ConfigError, InputError
from .file_names import file_stem

HF_PREFIX = "hf:"
_HUB_ID = re.compile(r"(?P<repo>(?:[\w.-]+/)?[\w.-]+)(?:@(?P<rev>[^:#\s]+))?"
                     r"(?::(?P<split>[^#\s]+))?(?:#(?P<name>.+))?")
_DATASET_TYPES = ("Dataset", "IterableDataset", "DatasetDict", "IterableDatasetDict")
_TRUE = {"1", "true", "yes", "on"}
# Hugging Face user tokens; never let one reach a message.
_TOKEN = re.compile(r"hf_[A-Za-z0-9]{16,}")
_BATCH_ROWS = 1000
_OWN_FORMATS = (".parquet", ".jsonl", ".json", ".jsonl.gz", ".json.gz")

# (row number, record, from a JSON array), or (None, InputError, False): the
# loader's item for one record of a file.
Row = tuple[int | None, object, bool]


@dataclass(frozen=True)
class HubId:
    """A parsed `hf:OWNER/NAME[@REVISION][:[CONFIG/]SPLIT][#NAME]`."""
    repo_id: str
    revision: str | None = None
    config: str | None = None
    split: str | None = None
    rename: str | None = None

    @property
    def name(self) -> str:
        """The source name: `#NAME`, else the hub name's last part."""
        return self.rename or self.repo_id.rsplit("/", 1)[-1]

    def __str__(self) -> str:
        text = HF_PREFIX + self.repo_id + (f"@{self.revision}" if self.revision else "")
        if self.split or self.config:
            text += ":" + (f"{self.config}/" if self.config else "") + (self.split or "")
        return text


@dataclass
class RecordStream:
    """Rows of one data file or split, and the names they give.

    `display` stands for the file in error messages (`display:row`).
    """
    display: str
    name: str          # source of records without a `source` field
    paired_name: str   # simulator of paired-layout records
    task: str | None
    rows: Iterator[Row] | None
    # A local data file the loader reads with its own file reader (then `rows` is None).
    file: Path | None = None
    # The task of paired-layout records: the split, when several are read
    # (the same ids recur in each, e.g. coding and writing).
    paired_task: str | None = None

    def resolved(self, read_file: Callable[[Path, str], Iterator[Row]]
                 ) -> tuple[str, str | None, Iterator[Row]]:
        """(default source name, default task, rows): the first row tells
        whether this is the paired layout, whose simulator the file or config
        names. `read_file(path, display)` reads `file`."""
        rows = self.rows if self.file is None else read_file(self.file, self.display)
        first = next(rows, None)
        if first is None:
            return self.name, self.task, iter(())
        rec = first[1]
        if isinstance(rec, dict) and ("real_messages" in rec or "simulated_messages" in rec):
            return self.paired_name, self.task or self.paired_task, chain([first], rows)
        return self.name, self.task, chain([first], rows)


# --------------------------------------------------------------------------- recognising inputs

def is_hub_id(item) -> bool:
    return isinstance(item, (str, Path)) and str(item).startswith(HF_PREFIX)


def parse_hub_id(text: str) -> HubId:
    """Parse `hf:OWNER/NAME[@REVISION][:[CONFIG/]SPLIT][#NAME]`.

    Raises
    ------
    ConfigError
        When the text does not have that form.
    """
    body = str(text)[len(HF_PREFIX):] if str(text).startswith(HF_PREFIX) else str(text)
    m = _HUB_ID.fullmatch(body)
    if not m:
        raise ConfigError(f"not a Hugging Face dataset id: {text!r} "
                          f"(expected hf:OWNER/NAME[@REVISION][:SPLIT][#NAME])")
    config, split = None, m["split"]
    if split and "/" in split:
        config, split = split.split("/", 1)
    return HubId(m["repo"], m["rev"], config or None, split or None,
                 m["name"].strip() if m["name"] and m["name"].strip() else None)


def is_save_to_disk(path: Path) -> bool:
    """A folder written by `Dataset.save_to_disk` or `DatasetDict.save_to_disk`."""
    return path.is_dir() and ((path / "dataset_dict.json").is_file()
                              or ((path / "state.json").is_file()
                                  and (path / "dataset_info.json").is_file()))


def is_dataset_object(obj) -> bool:
    """A `datasets` Dataset, IterableDataset or their dicts (without importing `datasets`)."""
    return any(cls.__module__.startswith("datasets.") and cls.__name__ in _DATASET_TYPES
               for cls in type(obj).__mro__)


# --------------------------------------------------------------------------- streams

def hub_streams(ref: HubId) -> list[RecordStream]:
    """The streams of a hub dataset: from the Hub, streamed (nothing stored
    but `datasets`' small metadata files), or from the local hub cache when
    offline (HF_DATASETS_OFFLINE / HF_HUB_OFFLINE) or the Hub is unreachable.

    Raises
    ------
    InputError
        Unknown, gated or uncached dataset, unknown split or config.
    """
    ds = _datasets()
    if _offline():
        local = _local_snapshot(ref)
        if local is not None:
            return _repo_streams(ds, ref, local, local)
        # A dataset prepared by an earlier `datasets.load_dataset` lives in
        # datasets' own cache, which `datasets` resolves offline by itself.
        try:
            return _repo_streams(ds, ref, ref.repo_id, None)
        except InputError as err:
            if err.__cause__ is None:  # found, but e.g. no such split
                raise
            raise InputError(f"not in the local cache and offline (HF_DATASETS_OFFLINE, "
                             f"HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE is set): download it first "
                             f"with `hf download --repo-type dataset {ref.repo_id}`, or unset offline mode "
                             f"(looked in {_hub_cache_dir()})", str(ref)) from err
    try:
        return _repo_streams(ds, ref, ref.repo_id, None)
    except InputError as err:
        if isinstance(err.__cause__, ConnectionError):  # the Hub is unreachable
            local = _local_snapshot(ref)
            if local is not None:
                return _repo_streams(ds, ref, local, local)
        raise


def disk_streams(path: Path, rename: str | None = None) -> list[RecordStream]:
    """The splits of a `save_to_disk` folder, named after the folder (or `rename`)."""
    ds = _datasets()
    try:
        obj = ds.load_from_disk(str(path))
    except Exception as e:  # datasets raises many types for a damaged folder
        raise InputError(f"unreadable save_to_disk folder: {_clean(e)}", str(path)) from None
    # Read the folder's own Arrow files: load_from_disk maps exactly those,
    # with no pending transforms (unlike a Dataset object in memory).
    return _object_streams(obj, rename or path.name, str(path), on_disk=True)


def object_streams(obj, name: str | None = None) -> list[RecordStream]:
    """The splits of a Dataset / IterableDataset / DatasetDict given in memory.

    Named `name`, else the dataset's own name (`info.dataset_name`), else `dataset`.
    """
    if name is None:
        first = next(iter(obj.values())) if isinstance(obj, dict) and obj else obj
        info = getattr(first, "info", None)
        name = getattr(info, "dataset_name", None) or "dataset"
    return _object_streams(obj, name, f"<dataset {name}>")


def _object_streams(obj, name: str, display: str, on_disk: bool = False) -> list[RecordStream]:
    parts = list(obj.items()) if isinstance(obj, dict) else [(None, obj)]
    streams = []
    for split, part in parts:
        shown = display if split is None else f"{display}[{split}]"
        files = [f["filename"] for f in part.cache_files] if on_disk else []
        read = (lambda files=files: _arrow_records(files)) if files else \
            (lambda part=part: _iterate(part))
        streams.append(RecordStream(shown, name, name, None, _rows(read, shown),
                                    paired_task=split if len(parts) > 1 else None))
    return streams


def _arrow_records(files: list[str]) -> Iterator[dict]:
    """Rows of `datasets`' Arrow files, batch by batch through ordinary
    reads: a memory map would count the whole file as resident by the end."""
    import pyarrow as pa
    for path in files:
        with pa.OSFile(path) as src:
            for batch in pa.ipc.open_stream(src):
                yield from batch.to_pylist()


def _iterate(part) -> Iterator[dict]:
    """Rows as plain dicts, whatever output format the user set."""
    part = part.with_format(None)
    if hasattr(part, "iter") and hasattr(part, "num_rows"):  # map-style: read in slices
        for batch in part.iter(batch_size=_BATCH_ROWS):
            keys = list(batch)
            for values in zip(*(batch[k] for k in keys)):
                yield dict(zip(keys, values))
    else:
        yield from part


def _rows(open_rows, display: str) -> Iterator[Row]:
    """Number the rows; a failure while reading becomes an InputError row."""
    row = 0
    try:
        for rec in open_rows():
            row += 1
            yield row, rec, False
    except (InputError, ConfigError):
        raise
    except Exception as e:  # pyarrow, fsspec and network errors alike
        yield None, InputError(f"unreadable dataset after row {row}: {_clean(e)}", display), False


def _repo_streams(ds, ref: HubId, path: str, snapshot: str | None) -> list[RecordStream]:
    """One stream per data file of each config and split (the file names
    the simulator in the paired layout), or per split when the dataset has
    no data files (datasets' prepared cache)."""
    revision = None if snapshot else ref.revision
    cache = _datasets_cache_dir()
    try:
        configs = [ref.config] if ref.config else ds.get_dataset_config_names(
            path, revision=revision, cache_dir=cache)
        builders = [(c, ds.load_dataset_builder(path, name=c, revision=revision, cache_dir=cache))
                    for c in configs]
    except Exception as e:
        raise _hub_error(ref, e) from e
    # The config names a paired simulator when there are several, or one was picked.
    by_config = len(configs) > 1 or ref.config is not None
    streams = []
    for config, builder in builders:
        files = builder.config.data_files
        module = _packaged_module(builder)
        split_names = list(files) if files else list(builder.info.splits or {})
        if ref.split and split_names and ref.split not in split_names:
            raise InputError(f"no split '{ref.split}' (splits: {', '.join(split_names)})", str(ref))
        splits = [ref.split] if ref.split else split_names
        for split in splits or [None]:
            if not files or module is None:
                new = [_split_stream(ds, ref, path, config, split, revision, cache, by_config)]
            else:
                new = [_file_stream(ds, ref, str(f), module, config, split, split_names,
                                    snapshot, cache, by_config) for f in files[split]]
            if len(splits) > 1:  # paired ids recur in each split: the split is their task
                for stream in new:
                    stream.paired_task = split
            streams += new
    return streams


def _file_stream(ds, ref: HubId, f: str, module: str, config: str, split: str,
                 split_names: list[str], snapshot: str | None, cache: str,
                 by_config: bool) -> RecordStream:
    rel = (os.path.relpath(f, snapshot) if snapshot else
           re.sub(r"^hf://datasets/[^@]+@[^/]+/", "", f)).replace(os.sep, "/")
    folders = [p for p in rel.split("/")[:-1] if p not in ("data", config)]
    if by_config and config != "default":
        sim = config
    else:
        sim = file_stem(rel.rsplit("/", 1)[-1])
        if sim in split_names or sim == "data":  # push_to_hub shard names say nothing
            sim = ref.name
    display = f"{HF_PREFIX}{ref.repo_id}/{rel}"
    task = "/".join(folders) or None
    if snapshot and f.lower().endswith(_OWN_FORMATS):
        # A cached file in a format the loader reads itself: its reader
        # streams in small batches, locates bad lines, and needs no
        # IterableDataset (which imports torch, ~200 MB).
        return RecordStream(display, ref.name, ref.rename or sim, task, None, Path(f))

    def open_rows():
        return ds.load_dataset(module, data_files={split: [f]}, split=split, streaming=True,
                               cache_dir=cache)
    return RecordStream(display, ref.name, ref.rename or sim, task, _rows(open_rows, display))


def _split_stream(ds, ref: HubId, path: str, config: str, split: str | None,
                  revision: str | None, cache: str, by_config: bool) -> RecordStream:
    display = f"{HF_PREFIX}{ref.repo_id}:{config}/{split}" if split else str(ref)
    sim = config if by_config and config != "default" else ref.name

    def open_rows():
        return ds.load_dataset(path, name=config, split=split, revision=revision, streaming=True,
                               cache_dir=cache)
    return RecordStream(display, ref.name, ref.rename or sim, None, _rows(open_rows, display))


def _packaged_module(builder) -> str | None:
    """`parquet`, `json`, ...: the generic builder that reads one data file."""
    parts = type(builder).__module__.split(".")
    if "packaged_modules" in parts[:-1]:
        name = parts[parts.index("packaged_modules") + 1]
        return None if name == "cache" else name
    return None


# --------------------------------------------------------------------------- environment

def _datasets():
    try:
        import datasets
    except ImportError:
        raise ConfigError("reading Hugging Face datasets needs the `datasets` package: "
                          "pip install datasets") from None
    # The CLI reports its own progress; datasets' bars would interleave with it.
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    # huggingface_hub logs each retry of an unreachable Hub; the error says it once.
    import huggingface_hub.utils.logging as hub_logging
    hub_logging.set_verbosity_error()
    return datasets


def _env_true(name: str) -> bool | None:
    value = os.environ.get(name)
    return None if value is None else value.strip().lower() in _TRUE


def _offline() -> bool:
    """HF_DATASETS_OFFLINE if set, else HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE
    (as `datasets` and huggingface_hub decide)."""
    explicit = _env_true("HF_DATASETS_OFFLINE")
    return explicit if explicit is not None else bool(_env_true("HF_HUB_OFFLINE")
                                                      or _env_true("TRANSFORMERS_OFFLINE"))


def _hf_home() -> str:
    return os.path.expanduser(os.environ.get("HF_HOME") or
                              os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"),
                                           "huggingface"))


def _hub_cache_dir() -> str:
    """Read at call time (huggingface_hub reads it once, at import)."""
    return os.path.expanduser(os.environ.get("HF_HUB_CACHE") or
                              os.environ.get("HUGGINGFACE_HUB_CACHE") or
                              os.path.join(_hf_home(), "hub"))


def _datasets_cache_dir() -> str:
    return os.path.expanduser(os.environ.get("HF_DATASETS_CACHE") or
                              os.path.join(_hf_home(), "datasets"))


def _local_snapshot(ref: HubId) -> str | None:
    """The repo's folder in the hub cache (`datasets--OWNER--NAME/snapshots/
    <commit>`, the commit read from `refs/<revision>`), or None."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError
    try:
        return snapshot_download(ref.repo_id, repo_type="dataset", revision=ref.revision,
                                 cache_dir=_hub_cache_dir(), local_files_only=True)
    except LocalEntryNotFoundError:
        return None
    except Exception as e:  # an incomplete snapshot, a bad revision name
        raise InputError(f"unusable local copy in the hub cache: {_clean(e)}", str(ref)) from None


def _clean(e: Exception) -> str:
    """An exception as one line, any token masked."""
    text = " ".join(str(e).split()) or type(e).__name__
    return _TOKEN.sub("hf_***", f"{type(e).__name__}: {text}")


def _hub_error(ref: HubId, e: Exception) -> InputError:
    """A user-actionable message for a failed hub look-up."""
    from huggingface_hub.errors import (GatedRepoError, RepositoryNotFoundError,
                                        RevisionNotFoundError)
    text = str(e)
    page = f"https://huggingface.co/datasets/{ref.repo_id}"
    if isinstance(e, GatedRepoError) or "gated" in text.lower():
        return InputError(f"gated dataset: accept its conditions at {page}, then log in with "
                          f"`hf auth login` or set HF_TOKEN (ensemble-fit never stores or prints "
                          f"the token)", str(ref))
    if isinstance(e, RevisionNotFoundError) or "Revision '" in text:
        return InputError(f"no revision '{ref.revision}' of this dataset on the Hub", str(ref))
    if isinstance(e, RepositoryNotFoundError) or type(e).__name__ == "DatasetNotFoundError":
        return InputError(f"no such dataset on the Hub, or it is private ({page}; log in with "
                          f"`hf auth login` or set HF_TOKEN for private ones)", str(ref))
    if isinstance(e, ConnectionError):
        return InputError(f"cannot reach the Hugging Face Hub and no copy in the local cache "
                          f"({_clean(e)})", str(ref))
    if isinstance(e, ValueError) and "config" in text.lower():
        return InputError(f"unknown config: {_clean(e)}", str(ref))
    return InputError(f"cannot read this dataset: {_clean(e)}", str(ref))
