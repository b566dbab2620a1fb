"""An encoding worker process for `measure.embed` (run as a script, one torch thread).

Started with `python _encode_worker.py MODEL_PATH DEVICE PRECISION`; reads
frames from stdin and answers each on stdout. A frame is an 8-byte
little-endian length and a pickle: requests are (texts, batch_size),
answers ("ok", float32 array) or ("error", message). It is a script, not a
multiprocessing child, so the parent's `__main__` is never re-imported (a
user's unguarded script would otherwise run again in every worker).
"""
from __future__ import annotations

import os
import pickle
import struct
import sys


def read_frame(stream):
    head = stream.read(8)
    if len(head) < 8:
        return None
    (n,) = struct.unpack("<Q", head)
    return pickle.loads(stream.read(n))


def write_frame(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)))
    stream.write(data)
    stream.flush()


def main(argv: list[str]) -> int:
    model_path, device, precision = argv
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    import contextlib

    import numpy as np
    import torch
    torch.set_num_threads(1)
    from sentence_transformers import SentenceTransformer
    try:
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()
    except Exception:
        pass
    model = SentenceTransformer(model_path, device=device)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not corrupt the frames
    while True:
        req = read_frame(stdin)
        if req is None:
            return 0
        texts, batch_size = req
        try:
            ctx = (torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16)
                   if precision == "bf16" else contextlib.nullcontext())
            with ctx:
                vecs = model.encode(texts, batch_size=batch_size, convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False)
            write_frame(stdout, ("ok", np.ascontiguousarray(vecs, dtype=np.float32)))
        except Exception as exc:  # reported to the parent, which raises it
            write_frame(stdout, ("error", f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
