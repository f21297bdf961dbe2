"""lattice_embed: fast vector similarity and embedding-model migration without downtime."""

__version__ = "0.1.0"

# The model registry (issue 5). The `migration` and `backfill` packages are imported by name.
from .model import DEFAULT_MODEL as DEFAULT_MODEL
from .model import MIN_MRL_OUTPUT_DIM as MIN_MRL_OUTPUT_DIM
from .model import EmbeddingModel as EmbeddingModel
from .model import ModelConfig as ModelConfig
from .model import ModelProvenance as ModelProvenance
from .model import Pooling as Pooling
