"""What a migration is: from which model to which, over how many embeddings."""

from __future__ import annotations

from dataclasses import dataclass

from .._serde import (
    Json,
    check_str,
    check_usize,
    describe,
    expect_object,
    field,
    read_str,
    read_usize,
)
from ..model import EmbeddingModel

__all__ = ["MigrationPlan"]


def _model(model: object, where: str) -> EmbeddingModel:
    """An EmbeddingModel, or one named by a string (`EmbeddingModel.parse`)."""
    if isinstance(model, EmbeddingModel):
        return model
    if isinstance(model, str):
        try:
            return EmbeddingModel.parse(model)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
    raise TypeError(f"{where} must be an EmbeddingModel or a model name, got {describe(model)}")


@dataclass(frozen=True)
class MigrationPlan:
    """The immutable input of a migration (the original's `MigrationPlan`).

    As in the original, nothing here is checked against the world: `id` need not be
    unique, the two models may be equal, `batch_size` is descriptive only (the backfill
    coordinator sizes batches from its own config) and `created_at` is an ISO 8601 string
    stored without parsing. Only the types are checked: counts are non-negative ints.
    The models may be given by name or alias (`"bge-small"`, read by `EmbeddingModel.parse`);
    they are stored as `EmbeddingModel`s.
    """

    id: str
    source_model: EmbeddingModel
    target_model: EmbeddingModel
    total_embeddings: int
    batch_size: int
    created_at: str

    def __init__(
        self,
        id: str,  # noqa: A002 - the original's field name
        source_model: EmbeddingModel | str,
        target_model: EmbeddingModel | str,
        total_embeddings: int,
        batch_size: int,
        created_at: str,
    ) -> None:
        check_str(id, "MigrationPlan.id")
        object.__setattr__(self, "id", id)
        for name, model in (("source_model", source_model), ("target_model", target_model)):
            object.__setattr__(self, name, _model(model, f"MigrationPlan.{name}"))
        object.__setattr__(self, "total_embeddings", total_embeddings)
        object.__setattr__(self, "batch_size", batch_size)
        object.__setattr__(self, "created_at", created_at)
        check_usize(self.total_embeddings, "MigrationPlan.total_embeddings")
        check_usize(self.batch_size, "MigrationPlan.batch_size")
        check_str(self.created_at, "MigrationPlan.created_at")

    def to_dict(self) -> dict[str, Json]:
        return {
            "id": self.id,
            "source_model": self.source_model.to_dict(),
            "target_model": self.target_model.to_dict(),
            "total_embeddings": self.total_embeddings,
            "batch_size": self.batch_size,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: object) -> MigrationPlan:
        where = "MigrationPlan"
        obj = expect_object(data, where)
        return cls(
            id=read_str(obj, "id", where),
            source_model=EmbeddingModel.from_dict(field(obj, "source_model", where)),
            target_model=EmbeddingModel.from_dict(field(obj, "target_model", where)),
            total_embeddings=read_usize(obj, "total_embeddings", where),
            batch_size=read_usize(obj, "batch_size", where),
            created_at=read_str(obj, "created_at", where),
        )
