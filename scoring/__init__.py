"""Pure scoring engine: numbers in, numbers out. Imports none of the application's packages."""

from scoring.answers import (
    NA,
    AnswerArrays,
    AnswerError,
    AnswerErrors,
    encode_answers,
    encode_frame,
)
from scoring.card import IndicatorTrace, ScoreCard, score, what_if
from scoring.engine import BatchResult, Evaluation, evaluate, score_batch
from scoring.roadmap import NextStage, RoadmapItem
from scoring.spec import ASPECTS, LINKS, STAGES, Clause, Condition, Question, Spec, StageRule

__all__ = [
    "ASPECTS",
    "LINKS",
    "NA",
    "STAGES",
    "AnswerArrays",
    "AnswerError",
    "AnswerErrors",
    "BatchResult",
    "Clause",
    "Condition",
    "Evaluation",
    "IndicatorTrace",
    "NextStage",
    "Question",
    "RoadmapItem",
    "ScoreCard",
    "Spec",
    "StageRule",
    "encode_answers",
    "encode_frame",
    "evaluate",
    "score",
    "score_batch",
    "what_if",
]
