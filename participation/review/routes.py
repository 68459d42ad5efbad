"""Planner review, one blueprint in files by audience: the ranked list and weights, rating and
votes, decisions and finalisation, selection constraints, conflicts of interest, joint proposals.
Importing them registers their views on `bp`."""
from participation.review import (  # noqa: F401
    conflict_routes, constraint_routes, decision_routes, joint_routes, ranking_routes, rating_routes,
)
from participation.review.blueprint import bp

__all__ = ["bp"]
