"""Planner review, one blueprint in four files by audience: the ranked list and weights, rating and
votes, decisions and finalisation, conflicts of interest. Importing them registers their views on `bp`."""
from participation.review import conflict_routes, decision_routes, ranking_routes, rating_routes  # noqa: F401
from participation.review.blueprint import bp

__all__ = ["bp"]
