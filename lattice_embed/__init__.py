"""lattice_embed: fast vector similarity and embedding-model migration without downtime."""

__version__ = "0.1.0"
