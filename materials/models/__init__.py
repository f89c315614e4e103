"""Materials and what is made from them; one module per concern, names re-exported."""

from materials.models.material import (
    EMBEDDING_DIMENSIONS,
    Chunk,
    ChunkCrossVector,
    Material,
    upload_path,
)
from materials.models.study import (
    CardState,
    ContentReport,
    Flashcard,
    NoteSection,
    PrivateEdit,
    QuizAttempt,
    QuizQuestion,
    ReviewLog,
    StudyProfile,
    StudySet,
)

__all__ = [
    "EMBEDDING_DIMENSIONS",
    "Chunk",
    "ChunkCrossVector",
    "ContentReport",
    "CardState",
    "Flashcard",
    "Material",
    "NoteSection",
    "PrivateEdit",
    "QuizAttempt",
    "QuizQuestion",
    "ReviewLog",
    "StudyProfile",
    "StudySet",
    "upload_path",
]
