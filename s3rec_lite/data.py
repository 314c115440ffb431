"""Datasets: the authors' file format, a registry with checksums, the leave-one-out split, evaluation
negatives, a synthetic dataset with planted structure, and subsampling for the sparsity study.

File format (the authors' preprocessed files)
---------------------------------------------
``NAME.txt``                   one user a line: ``user_id item_1 item_2 ...`` in time order; ids start at 1.
``NAME_item2attributes.json``  one JSON object ``{"item_id": [attr_id, ...]}``; attribute ids start at 1.
``NAME_sample.txt``            optional: ``user_id neg_1 ... neg_99``, the evaluation negatives.

Id 0 is padding. The item vocabulary has ``n_items + 2`` rows: 0 (padding), 1..n_items, and
``mask_id = n_items + 1`` for masked positions during pre-training.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ChecksumError, DataFormatError, DataNotFoundError, S3RecError
from .files import atomic_file

UPSTREAM = "https://raw.githubusercontent.com/RUCAIBox/CIKM2020-S3Rec/master/"

# name -> file kind -> (upstream path, bytes or None, sha256 or None, git blob sha1).
# From ../shared/data/s3rec/MANIFEST.tsv. Where only the git blob id is known, it verifies the download.
_R = {
    "Beauty": {
        "seq": ("data/Beauty.txt", 1090094, "226cce9c3105299ca0db9615d7d3fb32b3175e90da43100ae352599f0f0107b8", "a29773026846d857ec8176cb25f37b23ecf20155"),
        "attr": ("data/Beauty_item2attributes.json", 305674, "129e40f67486f6877eff0f5318cfa8530ee8ac23d8b0d1de04e1bb7a2ba0b2d4", "805189e7a6dd1005ef38344f5d556f27b8dc240f"),
        "sample": ("data/Beauty_sample.txt", None, None, "a516bb7a9ccaabadbb13be731382f30bd977c7a8"),
        "checkpoint": ("reproduce/Beauty-epochs-150.pt", 3750013, "a196408d383719bccd1898b5f3f879bd2cdf6490ad9ee21ce0291cae97bd0508", "8734c2dae423caab5b197f157581b9e07508fdeb"),
        "log_sasrec": ("reproduce/Finetune_sample-Beauty-0.txt", 23210, '7a8e919f3343b72e433d3e2f7700fed5220fd394f8104b673a3a372014faffb9', "a12ac7f1b11219af3a459a519d427cae9c913359"),
        "log_s3rec": ("reproduce/Finetune_sample-Beauty-150.txt", 14354, 'b1ef40611e6ceb84965a14c2989364aea2d43e1db808803253a0c131c4a06939', "ffa00430e69f31ae4770da149f6c0d20b288dd68"),
    },
    "Sports_and_Outdoors": {
        "seq": ("data/Sports_and_Outdoors.txt", 1707483, "2a095e0648872beb9982408958290f5d655db5be2911c3756b5446de9f0b8de2", "50a7023ca502b42eb0e840c603abda6e851b2018"),
        "attr": ("data/Sports_and_Outdoors_item2attributes.json", 653780, "7fb10733ac4f1811384a52144cdefa7fcc7536fa80a7232c5da9bd789155c34b", "7c2e9a40c6534163fd8d6d1e3abfbfb860f137b6"),
        "sample": ("data/Sports_and_Outdoors_sample.txt", None, None, "17dc8cab2b54c6ee0ba1dc9d5cc273e70427e81b"),
        "checkpoint": ("reproduce/Sports_and_Outdoors-epochs-100.pt", None, None, "eef60bee9360ad233a005ddde63f62d7c547b840"),
        "log_sasrec": ("reproduce/Finetune_sample-Sports_and_Outdoors-0.txt", 14846, None, "253637128548c65eeb8f5230ea3d22b8295f6b36"),
        "log_s3rec": ("reproduce/Finetune_sample-Sports_and_Outdoors-100.txt", 11396, None, "2472880d7328648d4434dccfed78824845a8a207"),
    },
    "Toys_and_Games": {
        "seq": ("data/Toys_and_Games.txt", 922166, "176c680c688d497598c4a89a03b402c0fe78d795e5db335c2e78dd5f2d778a3f", "5459307b30f65949605b34d350bfad37586a1b97"),
        "attr": ("data/Toys_and_Games_item2attributes.json", 327536, "d371acd25101eedac04afc727626464b7acec770c4eda708705d51eb76eb1ad0", "d13b361c07f57fc032014b86a0723461bbc8e30d"),
        "sample": ("data/Toys_and_Games_sample.txt", None, None, "97e609efc6228cc342df2ce480bebec4b7c3911b"),
        "checkpoint": ("reproduce/Toys_and_Games-epochs-150.pt", 3804543, None, "c6fe8b360a2df9a010aca8e538fc0e849ba023b3"),
        "log_sasrec": ("reproduce/Finetune_sample-Toys_and_Games-0.txt", 13525, None, "e9e8e486ea78b0e3c9fd9729b997ad8b032f869a"),
        "log_s3rec": ("reproduce/Finetune_sample-Toys_and_Games-150.txt", 17635, None, "6e29bf19430a433f63296617a9e9bc8865f8027b"),
    },
    "Yelp": {
        "seq": ("data/Yelp.txt", 1814224, "724b219106b81dd2349027da997334ddb6da9fe2f152ad6e0d97a93170f7caed", "d0f642c11487b3bcb515249d676aa1e37a1bb99e"),
        "attr": ("data/Yelp_item2attributes.json", 600360, "f25acd5e1e680e0b22fd4e3f4fb6be4b2a7461e9222610616e3e1ee6702dd58d", "0fa737fd1add345f852c5b789ebcbd57b8fb0282"),
        "sample": ("data/Yelp_sample.txt", None, None, "fbd75af7efe10bab288245c0d4a54ca3bf2faa3b"),
        "checkpoint": ("reproduce/Yelp-epochs-100.pt", None, None, "c0dece4a4ddf14016066ab194eb021fac5460d1d"),
        "log_sasrec": ("reproduce/Finetune_sample-Yelp-0.txt", 13475, None, "de470f283ad1c17556c6d6a17bb3a6733059c341"),
        "log_s3rec": ("reproduce/Finetune_sample-Yelp-100.txt", 36069, None, "315f8c8cc97df734d0216c5e253057ce12531a72"),
    },
    "LastFM": {
        "seq": ("data/LastFM.txt", 239312, "9ded486adb5b0fe9dc761950afa0a9a05e93ff018992e0c52bf11afec529f802", "3c46bd58d4c8582d0496fe42570af06d977b58db"),
        "attr": ("data/LastFM_item2attributes.json", 524368, "a4ccd678dc9ff6d43fe5073f491db5c9b02eb98dfa4f8c0382913a784be217ef", "468fb72c2fc155ad6df7feda7077901ff79c7870"),
        "sample": ("data/LastFM_sample.txt", 511746, "60194cc2e4fd1aa8b5dc8872e1f3af9c6abd09c39d478d3df9337cb97e6e2f0d", "4b4e019acf2fad7d36a706a6d1a2d574591f4c34"),
        "checkpoint": ("reproduce/LastFM-epochs-150.pt", 1521785, "7f06dc6e0756bf42defccb3317021f786a027c2e7dc9a3661c439bd9fe40a262", "bf84b1fa7d5d68c917d33b132855188c713eee1e"),
        "log_sasrec": ("reproduce/Finetune_sample-LastFM-0.txt", 21690, 'e3f9d688f8deda7a5f8d70c1875624065af9c63783943f1aed20bb53188f355a', "3fc0297781f3b2bafed4ed1f2b1b0cde3116c029"),
        "log_s3rec": ("reproduce/Finetune_sample-LastFM-150.txt", 18024, '84ca47c03da51726ff70e30ce4c8f39f3844c2b675c3669066dcab07f40da7ff', "ac83c2e5dca4b1ce9278c849d3b532f331b08da5"),
    },
}


@dataclass(frozen=True)
class RemoteFile:
    dataset: str
    kind: str  # "seq", "attr", "sample", "checkpoint", "log_sasrec" or "log_s3rec" (fine-tuning logs)
    upstream_path: str
    size: int | None
    sha256: str | None
    git_blob_sha1: str

    @property
    def url(self) -> str:
        return UPSTREAM + self.upstream_path

    @property
    def filename(self) -> str:
        # Checkpoints and logs live in checkpoints/ and logs/ as in ../shared/data/s3rec; the rest at the top level.
        base = self.upstream_path.rsplit("/", 1)[-1]
        folder = {"checkpoint": "checkpoints/", "log_sasrec": "logs/", "log_s3rec": "logs/"}.get(self.kind, "")
        return folder + base


REGISTRY: dict[str, dict[str, RemoteFile]] = {
    name: {kind: RemoteFile(name, kind, *spec) for kind, spec in kinds.items()} for name, kinds in _R.items()
}
DATASETS = tuple(REGISTRY)


# ------------------------------------------------------------------------------------------------
# Checksums, locations and downloads
# ------------------------------------------------------------------------------------------------
def file_digests(path: Path) -> tuple[str, str]:
    """(sha256, git blob sha1) of a file, the two ids the manifest uses."""
    data = Path(path).read_bytes()
    blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    return hashlib.sha256(data).hexdigest(), blob


def verify(path: Path, remote: RemoteFile) -> None:
    sha256, blob = file_digests(path)
    if (remote.sha256 and sha256 != remote.sha256) or blob != remote.git_blob_sha1:
        raise ChecksumError(
            f"{path}: checksum mismatch for {remote.dataset} {remote.kind} file "
            f"(expected sha256 {remote.sha256 or '-'} / git blob {remote.git_blob_sha1}, got {sha256} / {blob}). "
            "The file is corrupt or not the authors' release: delete it and download again."
        )


def cache_dir() -> Path:
    """Where downloads go: $S3REC_CACHE_DIR, else ``data/`` of a source checkout, else ~/.cache/s3rec_lite."""
    env = os.environ.get("S3REC_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    checkout_data = Path(__file__).resolve().parent.parent / "data"
    if (checkout_data / "README.md").exists():
        return checkout_data
    return Path.home() / ".cache" / "s3rec_lite"


def search_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Resolution order: explicit directory, then $S3REC_DATA_DIR, then the local cache."""
    dirs = []
    if data_dir is not None:
        dirs.append(Path(data_dir).expanduser())
    if os.environ.get("S3REC_DATA_DIR"):
        dirs.append(Path(os.environ["S3REC_DATA_DIR"]).expanduser())
    dirs.append(cache_dir())
    return dirs


def download(remote: RemoteFile, dest_dir: Path | None = None, progress: bool = True, timeout: float = 60) -> Path:
    """Download one registry file atomically (temporary file, checksum, rename)."""
    from tqdm.auto import tqdm

    dest = Path(dest_dir or cache_dir()) / remote.filename
    with atomic_file(dest) as (out, tmp):
        try:
            with urllib.request.urlopen(remote.url, timeout=timeout) as response:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=remote.filename, disable=not progress) as bar:
                    while chunk := response.read(1 << 16):
                        out.write(chunk)
                        bar.update(len(chunk))
        except (urllib.error.URLError, OSError) as exc:
            raise DataNotFoundError(
                f"could not download {remote.url} ({exc}). If you are offline, point the package at a local copy "
                f"of the authors' files: set S3REC_DATA_DIR=/path/to/folder (holding {remote.filename}) or pass "
                f"--data-dir."
            ) from None
        out.flush()
        verify(tmp, remote)
    return dest


def locate(name: str, kind: str, data_dir=None, allow_download: bool = True, progress: bool = True) -> Path | None:
    """Find one file of a registered dataset; download it into the cache if allowed and missing.

    Returns None for an optional file (``sample``) that is not found locally and not downloaded.
    """
    remote = REGISTRY[name][kind]
    for d in search_dirs(data_dir):
        p = d / remote.filename
        if p.exists():
            return p
    if not allow_download:
        return None
    return download(remote, progress=progress)


# ------------------------------------------------------------------------------------------------
# Reading and validating the authors' format
# ------------------------------------------------------------------------------------------------
def _parse_int(token: str, path, line_no: int, what: str) -> int:
    try:
        return int(token)
    except ValueError:
        raise DataFormatError(path, line_no, f"{what} {token!r} is not an integer") from None


#: The largest item or attribute id accepted: ids index an embedding table (64 floats each), so an id of 10^12
#: would ask for 256 TB. The authors' datasets stay below 60,000.
MAX_ID = 10_000_000


def _text_lines(path: Path):
    """``(line number, line)`` of a UTF-8 text file; a DataFormatError naming the line for other bytes."""
    with open(path, "rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            try:
                yield line_no, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataFormatError(path, line_no, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column "
                                                     f"{exc.start + 1})") from None


def read_sequences(path: Path, min_length: int = 3) -> tuple[np.ndarray, list[np.ndarray]]:
    """Read ``NAME.txt``: returns (user ids [U], list of item-id arrays in time order)."""
    users, seqs, seen, blank = [], [], {}, None
    for line_no, line in _text_lines(path):
        tokens = line.split()
        if not tokens:
            blank = blank or line_no  # allowed only at the end of the file
            continue
        if blank:
            raise DataFormatError(path, blank, "empty line (expected 'user_id item_1 item_2 ...')")
        user = _parse_int(tokens[0], path, line_no, "user id")
        items = [_parse_int(t, path, line_no, "item id") for t in tokens[1:]]
        if user < 1:
            raise DataFormatError(path, line_no, f"user id {user} out of range (ids start at 1)")
        if user in seen:
            raise DataFormatError(path, line_no, f"user {user} appears again (first on line {seen[user]})")
        seen[user] = line_no
        if len(items) < min_length:
            raise DataFormatError(
                path, line_no, f"user {user} has {len(items)} item(s); leave-one-out needs at least {min_length}"
            )
        bad = [i for i in items if i < 1]
        if bad:
            raise DataFormatError(path, line_no, f"item id {bad[0]} out of range (ids start at 1; 0 is padding)")
        huge = [i for i in items if i > MAX_ID]
        if huge:
            raise DataFormatError(path, line_no, f"item id {huge[0]} is above {MAX_ID:,}: ids index an embedding "
                                                 "table, so they must run 1..N over the N items")
        users.append(user)
        seqs.append(np.asarray(items, dtype=np.int64))
    if not seqs:
        raise DataFormatError(path, None, "no users in file")
    return np.asarray(users, dtype=np.int64), seqs


def read_finetune_log(path: Path) -> dict:
    """The authors' fine-tuning log (``Finetune_sample-NAME-{0,150}.txt``): ``{"valid": [per-epoch dicts with
    epoch, HR@1, HR@5, NDCG@5, HR@10, NDCG@10, MRR], "test": {...}}`` (their HIT@k is our HR@k)."""
    import ast

    rows = []
    for line_no, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.startswith("{'Epoch'"):
            continue
        try:
            d = ast.literal_eval(line)
        except (ValueError, SyntaxError):
            raise DataFormatError(f"{path}, line {line_no}: not a metrics line") from None
        rows.append({"epoch": int(d["Epoch"]), **{k.replace("HIT", "HR"): float(v) for k, v in d.items()
                                                  if k not in ("Epoch", "NDCG@1")}})
    if len(rows) < 2:
        raise DataFormatError(f"{path}: no per-epoch validation lines and test line")
    # the file ends with the test line, written twice (once with the run's name between)
    test = rows[-1]
    valid = rows[:-2] if rows[-2] == test else rows[:-1]
    return {"valid": valid, "test": {k: v for k, v in test.items() if k != "epoch"}}


def read_item_attributes(path: Path, n_items: int) -> dict[int, list[int]]:
    """Read ``NAME_item2attributes.json``: ``{item: [attr, ...]}``. Items with no attributes are allowed."""
    text = "".join(line for _, line in _text_lines(Path(path)))
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(path, exc.lineno, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(raw, dict):
        raise DataFormatError(path, 1, f"expected one JSON object {{\"item_id\": [attr_id, ...]}}, got {type(raw).__name__}")
    out: dict[int, list[int]] = {}
    for key, attrs in raw.items():
        try:
            item = int(key)
        except ValueError:
            raise DataFormatError(path, 1, f"key {key!r} is not an integer item id") from None
        if not 1 <= item <= n_items:
            raise DataFormatError(path, 1, f"item id {item} out of range 1..{n_items} (the largest item in the sequences)")
        if not isinstance(attrs, list) or not all(isinstance(a, int) and not isinstance(a, bool) for a in attrs):
            raise DataFormatError(path, 1, f"item {key}: expected a list of integer attribute ids, got {attrs!r:.60}")
        bad = [a for a in attrs if a < 1]
        if bad:
            raise DataFormatError(path, 1, f"item {key}: attribute id {bad[0]} out of range (ids start at 1)")
        if any(a > MAX_ID for a in attrs):
            raise DataFormatError(path, 1, f"item {key}: attribute id {max(attrs)} is above {MAX_ID:,}")
        out[item] = attrs
    return out


def read_eval_negatives(path: Path, users: np.ndarray, seqs: list[np.ndarray], n_items: int, k: int) -> np.ndarray:
    """Read ``NAME_sample.txt`` (one line per user, in the same order as ``NAME.txt``)."""
    rows = []
    for line_no, line in _text_lines(path):
        tokens = line.split()
        if not tokens:
            continue
        if line_no > len(users):
            raise DataFormatError(path, line_no, f"more lines than users ({len(users)})")
        user = _parse_int(tokens[0], path, line_no, "user id")
        if user != users[line_no - 1]:
            raise DataFormatError(path, line_no, f"user {user} where user {users[line_no - 1]} was expected")
        negs = [_parse_int(t, path, line_no, "item id") for t in tokens[1:]]
        if len(negs) != k:
            raise DataFormatError(path, line_no, f"{len(negs)} negatives, expected {k}")
        bad = [i for i in negs if not 1 <= i <= n_items]
        if bad:
            raise DataFormatError(path, line_no, f"negative item {bad[0]} out of range 1..{n_items}")
        rows.append(negs)
    if len(rows) != len(users):
        raise DataFormatError(path, len(rows), f"{len(rows)} lines for {len(users)} users")
    return np.asarray(rows, dtype=np.int64)


def generate_eval_negatives(seqs: list[np.ndarray], n_items: int, k: int = 99, seed: int = 12345) -> np.ndarray:
    """Draw ``k`` distinct items per user, uniformly among the items the user never interacted with.

    Deterministic in ``seed``. Not the authors' released files (their script does not reproduce them).
    """
    rng = np.random.default_rng(seed)
    out = np.empty((len(seqs), k), dtype=np.int64)
    for u, seq in enumerate(seqs):
        if n_items - len(np.unique(seq)) < k:
            raise S3RecError(f"user {u + 1}: only {n_items - len(np.unique(seq))} items left to draw {k} evaluation negatives from")
        chosen: list[int] = []
        seen = set(seq.tolist())
        while len(chosen) < k:
            for c in rng.integers(1, n_items + 1, size=2 * k).tolist():
                if c not in seen:
                    seen.add(c)
                    chosen.append(c)
                    if len(chosen) == k:
                        break
        out[u] = chosen
    return out


# ------------------------------------------------------------------------------------------------
# The dataset object
# ------------------------------------------------------------------------------------------------
@dataclass
class SequenceDataset:
    """A sequential-recommendation dataset in memory (one row per user, time-ordered item ids)."""

    name: str
    users: np.ndarray  # [U] original user ids
    sequences: list  # U arrays of item ids
    item_attributes: dict  # item -> list of attribute ids
    n_items: int  # largest item id
    n_attributes: int  # largest attribute id
    eval_negatives: np.ndarray | None = None  # [U, 99]
    negatives_source: str = "none"
    files: dict = field(default_factory=dict)  # kind -> {"path", "sha256"}
    train_users: np.ndarray | None = None  # indices of users whose training part is used (sparsity study)

    # vocabulary sizes (authors' conventions)
    @property
    def item_vocab_size(self) -> int:
        return self.n_items + 2

    @property
    def mask_id(self) -> int:
        return self.n_items + 1

    @property
    def attribute_vocab_size(self) -> int:
        return self.n_attributes + 1

    @property
    def num_users(self) -> int:
        return len(self.sequences)

    def stats(self) -> dict:
        lengths = np.array([len(s) for s in self.sequences])
        n_attr = [len(self.item_attributes.get(i, [])) for i in range(1, self.n_items + 1)]
        return {
            "dataset": self.name,
            "users": int(len(lengths)),
            "items": int(self.n_items),
            "actions": int(lengths.sum()),
            "attributes": int(self.n_attributes),
            "attrs/item": round(float(np.mean(n_attr)), 1),
            "max len": int(lengths.max()),
            "avg len": round(float(lengths.mean()), 1),
            "density": float(lengths.sum()) / (len(lengths) * self.n_items),
        }

    # --- leave-one-out split (authors' convention) ---------------------------------------------
    def split(self, max_len: int = 50) -> "Split":
        """Training input ``seq[:-3]`` -> targets ``seq[1:-2]``; validation input ``seq[:-2]`` -> ``seq[-2]``;
        test input ``seq[:-1]`` -> ``seq[-1]``; each input keeps its last ``max_len`` items."""
        return Split(self, max_len)

    def pretrain_parts(self, max_len: int = 50) -> list[np.ndarray]:
        """Each (training) user's pre-training part ``seq[-(max_len+2):-2]``; every prefix is one sample."""
        idx = range(self.num_users) if self.train_users is None else self.train_users
        return [self.sequences[u][:-2][-max_len:] for u in idx]

    def attribute_matrix(self) -> np.ndarray:
        """Dense multi-hot [item_vocab_size, attribute_vocab_size] (uint8); rows 0 and mask_id are empty."""
        m = np.zeros((self.item_vocab_size, self.attribute_vocab_size), dtype=np.uint8)
        for item, attrs in self.item_attributes.items():
            m[item, attrs] = 1
        return m

    # --- subsets --------------------------------------------------------------------------------
    def first_users(self, n: int | None) -> "SequenceDataset":
        """The first ``n`` users (tiny runs). Vocabularies stay those of the whole dataset."""
        if n is None or n >= self.num_users:
            return self
        return SequenceDataset(
            name=self.name, users=self.users[:n], sequences=self.sequences[:n], item_attributes=self.item_attributes,
            n_items=self.n_items, n_attributes=self.n_attributes,
            eval_negatives=None if self.eval_negatives is None else self.eval_negatives[:n],
            negatives_source=self.negatives_source, files=self.files,
        )

    def subsample_training(self, fraction: float, seed: int = 0) -> "SequenceDataset":
        """Keep the training part of a seeded random ``fraction`` of users (Fig. 4: 20%..100% of the
        training data). Every user is still validated and tested, on the same split."""
        if not 0 < fraction <= 1:
            raise S3RecError(f"fraction must be in (0, 1], got {fraction}")
        rng = np.random.default_rng(seed)
        n_keep = max(1, int(round(fraction * self.num_users)))
        keep = np.sort(rng.permutation(self.num_users)[:n_keep])
        out = copy.copy(self)
        out.train_users = keep
        return out


class Split:
    """Fixed-length, left-padded tensors (as numpy arrays) for fine-tuning and evaluation."""

    def __init__(self, ds: SequenceDataset, max_len: int):
        self.dataset, self.max_len = ds, max_len
        pad = lambda arrays: _left_pad(arrays, max_len)  # noqa: E731
        seqs = ds.sequences
        train_idx = np.arange(ds.num_users) if ds.train_users is None else ds.train_users
        self.train_users = train_idx
        self.train_inputs = pad([seqs[u][:-3] for u in train_idx])  # [U_train, L]
        self.train_targets = pad([seqs[u][1:-2] for u in train_idx])  # [U_train, L]
        self.valid_inputs = pad([s[:-2] for s in seqs])  # [U, L]
        self.valid_answers = np.array([s[-2] for s in seqs], dtype=np.int64)  # [U]
        self.test_inputs = pad([s[:-1] for s in seqs])  # [U, L]
        self.test_answers = np.array([s[-1] for s in seqs], dtype=np.int64)  # [U]
        self.eval_negatives = ds.eval_negatives  # [U, 99]
        self._histories: dict[str, np.ndarray] = {}
        # every item of each user, sorted, padded with a sentinel (for "not interacted" tests)
        longest = max(len(s) for s in seqs)
        self.user_items = np.full((ds.num_users, longest), np.iinfo(np.int64).max, dtype=np.int64)
        for u, s in enumerate(seqs):
            uniq = np.unique(s)
            self.user_items[u, : len(uniq)] = uniq


    def history(self, which: str) -> np.ndarray:
        """Every distinct item each user interacted with before the ``which`` ("valid" or "test") target,
        not only the last ``max_len`` of them: what full-ranking evaluation removes from the candidates.
        [U, M] int64, sorted, padded with 0 at the end."""
        if which not in self._histories:
            cut = 2 if which == "valid" else 1
            uniq = [np.unique(s[:-cut]) for s in self.dataset.sequences]
            out = np.zeros((len(uniq), max(len(u) for u in uniq)), dtype=np.int64)
            for r, u in enumerate(uniq):
                out[r, : len(u)] = u
            self._histories[which] = out
        return self._histories[which]


def _left_pad(arrays: list[np.ndarray], length: int) -> np.ndarray:
    out = np.zeros((len(arrays), length), dtype=np.int64)
    for r, a in enumerate(arrays):
        a = a[-length:]
        if len(a):
            out[r, length - len(a):] = a
    return out


def load_dataset(
    name: str,
    data_dir=None,
    allow_download: bool = True,
    negatives: str = "auto",
    num_negatives: int = 99,
    negatives_seed: int = 12345,
    progress: bool = True,
) -> SequenceDataset:
    """Load one of the five datasets (or a folder holding ``NAME.txt`` for any other name).

    ``negatives``: ``"auto"`` (the released ``NAME_sample.txt``: found locally, else downloaded when
    ``allow_download``; generated and cached only when neither works, said in one line on stderr),
    ``"released"`` (required: an error if it can be neither found nor downloaded), ``"generated"`` (always
    generated from ``negatives_seed``). The source is kept in ``negatives_source`` (every result records it).
    """
    if name in SYNTHETIC_VARIANTS:
        return make_synthetic(**SYNTHETIC_VARIANTS[name])
    if name in REGISTRY:
        seq_path = locate(name, "seq", data_dir, allow_download, progress)
        attr_path = locate(name, "attr", data_dir, allow_download, progress)
        for path, kind in ((seq_path, "seq"), (attr_path, "attr")):
            if path is None:
                raise DataNotFoundError(
                    f"{REGISTRY[name][kind].filename} not found in {', '.join(str(d) for d in search_dirs(data_dir))} "
                    "and downloads are off (--no-download): set S3REC_DATA_DIR or --data-dir to a folder holding it")
        sample_path = released_negatives(name, data_dir, negatives, allow_download, progress, negatives_seed)
        for path, kind in ((seq_path, "seq"), (attr_path, "attr"), (sample_path, "sample")):
            if path is not None:
                verify(path, REGISTRY[name][kind])
    else:
        candidates = [d for d in search_dirs(data_dir) if (d / f"{name}.txt").exists()]
        if not candidates:
            raise DataNotFoundError(
                f"unknown dataset {name!r}: not one of {', '.join(DATASETS)} or 'synthetic', and no {name}.txt "
                f"in {', '.join(str(d) for d in search_dirs(data_dir))}"
            )
        d = candidates[0]
        seq_path, attr_path = d / f"{name}.txt", d / f"{name}_item2attributes.json"
        sample_path = d / f"{name}_sample.txt" if (d / f"{name}_sample.txt").exists() and negatives != "generated" else None
        if negatives == "released" and sample_path is None:
            raise DataNotFoundError(f"{d / (name + '_sample.txt')} not found (negatives='released' needs it)")
        if not attr_path.exists():
            raise DataNotFoundError(f"{attr_path} not found (every dataset needs its item-to-attributes file)")
    users, seqs = read_sequences(seq_path)
    n_items = int(max(int(s.max()) for s in seqs))  # the authors' convention: the largest id in NAME.txt
    item_attributes = read_item_attributes(attr_path, n_items)
    n_attributes = max((max(a) for a in item_attributes.values() if a), default=0)
    files = {"seq": {"path": str(seq_path), "sha256": file_digests(seq_path)[0]},
             "attr": {"path": str(attr_path), "sha256": file_digests(attr_path)[0]}}
    ds = SequenceDataset(name, users, seqs, item_attributes, n_items, n_attributes, files=files)
    if sample_path is not None:
        ds.eval_negatives = read_eval_negatives(sample_path, users, seqs, n_items, num_negatives)
        ds.negatives_source = f"released file {sample_path.name}"
        files["sample"] = {"path": str(sample_path), "sha256": file_digests(sample_path)[0]}
    else:
        ds.eval_negatives = _cached_generated_negatives(ds, num_negatives, negatives_seed)
        ds.negatives_source = f"generated (uniform over non-interacted items, seed {negatives_seed})"
    return ds


_SAMPLE_DOWNLOAD_FAILED: set[str] = set()  # datasets whose sample file could not be downloaded (this process)


def released_negatives(name: str, data_dir=None, negatives: str = "auto", allow_download: bool = True,
                       progress: bool = True, negatives_seed: int = 12345) -> Path | None:
    """The authors' ``NAME_sample.txt`` for ``negatives`` = "auto" | "released" | "generated" (see
    :func:`load_dataset`): a local copy first, then a download (checksum verified) when allowed. ``None``
    means "generate them": always for "generated"; for "auto" when there is no local copy and downloading is
    not allowed or fails (tried once per process, with a short timeout, and said in one line on stderr)."""
    if negatives not in ("auto", "released", "generated"):
        raise S3RecError(f"negatives must be 'auto', 'released' or 'generated', got {negatives!r}")
    if negatives == "generated":
        return None
    path = locate(name, "sample", data_dir, allow_download=False)
    if path is not None:
        return path
    remote = REGISTRY[name]["sample"]
    if negatives == "released":
        if not allow_download:
            raise DataNotFoundError(f"{remote.filename} (the released evaluation negatives) not found in "
                                    f"{', '.join(str(d) for d in search_dirs(data_dir))} and downloads are off")
        return download(remote, progress=progress)
    if not allow_download or name in _SAMPLE_DOWNLOAD_FAILED:
        return None
    try:
        return download(remote, progress=progress, timeout=15)
    except DataNotFoundError as exc:  # offline: a checksum error still stops everything
        _SAMPLE_DOWNLOAD_FAILED.add(name)
        reason = str(exc).split(" (", 1)[-1].split(")", 1)[0]
        print(f"note: {remote.filename} (the authors' evaluation negatives) is not in "
              f"{', '.join(str(d) for d in search_dirs(data_dir))} and could not be downloaded ({reason}); "
              f"using generated negatives (seed {negatives_seed}), recorded in every result", file=sys.stderr)
        return None


def _cached_generated_negatives(ds: SequenceDataset, k: int, seed: int) -> np.ndarray:
    key = f"{ds.name}-{ds.files['seq']['sha256'][:12]}-k{k}-seed{seed}"
    path = cache_dir() / "negatives" / f"{key}.npy"
    if path.exists():
        arr = np.load(path)
        if arr.shape == (ds.num_users, k):
            return arr
    arr = generate_eval_negatives(ds.sequences, ds.n_items, k, seed)
    try:
        with atomic_file(path) as (fh, _):
            np.save(fh, arr)
    except OSError:
        pass  # a read-only cache only costs a regeneration next time
    return arr


# ------------------------------------------------------------------------------------------------
# Synthetic data with planted structure
# ------------------------------------------------------------------------------------------------
#: The synthetic datasets by name, each ``make_synthetic``'s arguments: ``synthetic`` (the default, uniform
#: within clusters) and ``synthetic-longtail`` (many items, a Zipf long tail within
#: each cluster, so that most items are rare in the training sequences and only their attributes place them).
SYNTHETIC_VARIANTS: dict[str, dict] = {
    "synthetic": {},
    "synthetic-longtail": dict(num_users=300, num_items=800, num_clusters=40, min_len=8, max_len=20,
                               popularity_exponent=1.0, seed=0, name="synthetic-longtail"),
}


def make_synthetic(
    num_users: int = 400,
    num_items: int = 200,
    num_clusters: int = 10,
    attributes_per_cluster: int = 3,
    min_len: int = 8,
    max_len: int = 30,
    stay_prob: float = 0.8,
    seed: int = 0,
    num_negatives: int = 99,
    popularity_exponent: float = 0.0,
    name: str = "synthetic",
) -> SequenceDataset:
    """A small dataset where the truth is known.

    Items fall into ``num_clusters`` clusters; cluster ``c`` owns attributes ``c*A+1 .. c*A+A`` and each
    item carries its cluster's first attribute plus one more of them. A user walks between items: the next
    item stays in the current cluster with probability ``stay_prob``, otherwise moves to the next cluster
    (c+1 mod C). So attributes predict items (AAP/MAP), and recent items predict the next one (MIP/SP).

    ``popularity_exponent`` > 0 makes a long tail: within its cluster the k-th item (k = 1, 2, ...) is picked
    with probability proportional to ``k ** -popularity_exponent`` (Zipf) instead of uniformly, so a few items
    per cluster are frequent and most are rare in the training sequences; a user never repeats an item, so
    the later items of a user who stays in a cluster, the validation and test items among them, are more
    often rare ones. Only their attributes (shared with the frequent items of their cluster) say where they
    belong. The default 0 is the uniform walk (the same data as before for every seed). ``name``: the
    dataset's name (``SYNTHETIC_VARIANTS``).
    """
    if popularity_exponent < 0:
        raise ValueError(f"popularity_exponent must be at least 0, got {popularity_exponent}")
    rng = np.random.default_rng(seed)
    cluster_of = np.sort(rng.integers(0, num_clusters, size=num_items))  # item i+1 -> cluster
    cluster_of[:num_clusters] = np.arange(num_clusters)  # every cluster non-empty
    cluster_of = np.sort(cluster_of)
    members = [np.flatnonzero(cluster_of == c) + 1 for c in range(num_clusters)]
    A = attributes_per_cluster
    item_attributes = {}
    for item in range(1, num_items + 1):
        c = int(cluster_of[item - 1])
        extra = int(rng.integers(1, A)) if A > 1 else 0
        item_attributes[item] = sorted({c * A + 1, c * A + 1 + extra})
    # popularity[i - 1]: item i's weight, its rank within its cluster to the power -popularity_exponent
    rank_in_cluster = np.concatenate([np.arange(1, len(m) + 1) for m in members])  # items are sorted by cluster
    popularity = rank_in_cluster.astype(float) ** -popularity_exponent  # [num_items]
    seqs = []
    for _ in range(num_users):
        length = int(rng.integers(min_len, max_len + 1))
        c = int(rng.integers(num_clusters))
        seq, used = [], set()
        while len(seq) < length:
            if rng.random() >= stay_prob:
                c = (c + 1) % num_clusters
            choices = [i for i in members[c] if i not in used] or [i for i in range(1, num_items + 1) if i not in used]
            if popularity_exponent > 0:  # Zipf over the cluster's items in id order (the first is the most popular)
                p = popularity[np.asarray(choices) - 1]  # [len(choices)]
                item = int(rng.choice(choices, p=p / p.sum()))
            else:
                item = int(rng.choice(choices))
            used.add(item)
            seq.append(item)
        seqs.append(np.asarray(seq, dtype=np.int64))
    n_used = int(max(s.max() for s in seqs))  # as when read back from files: items 1..largest id used
    item_attributes = {i: a for i, a in item_attributes.items() if i <= n_used}
    ds = SequenceDataset(
        name=name, users=np.arange(1, num_users + 1), sequences=seqs, item_attributes=item_attributes,
        n_items=n_used, n_attributes=max(max(a) for a in item_attributes.values()),
        files={"generator": {"path": "s3rec_lite.data.make_synthetic", "sha256": f"seed={seed}" + (
            f", popularity_exponent={popularity_exponent}" if popularity_exponent > 0 else "")}},
    )
    ds.eval_negatives = generate_eval_negatives(seqs, n_used, num_negatives, seed + 1)
    ds.negatives_source = f"generated (uniform over non-interacted items, seed {seed + 1})"
    ds.cluster_of = cluster_of  # the planted truth, for teaching
    return ds


def write_dataset(ds: SequenceDataset, folder) -> Path:
    """Write a dataset in the authors' format (``NAME.txt``, ``NAME_item2attributes.json``, ``NAME_sample.txt``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{ds.name}.txt", "w") as fh:
        for u, s in zip(ds.users, ds.sequences):
            fh.write(" ".join(map(str, [u, *s.tolist()])) + "\n")
    (folder / f"{ds.name}_item2attributes.json").write_text(json.dumps({str(k): v for k, v in ds.item_attributes.items()}))
    if ds.eval_negatives is not None:
        with open(folder / f"{ds.name}_sample.txt", "w") as fh:
            for u, negs in zip(ds.users, ds.eval_negatives):
                fh.write(" ".join(map(str, [u, *negs.tolist()])) + "\n")
    return folder
