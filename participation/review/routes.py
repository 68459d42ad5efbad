"""Planner review, one blueprint in three files by audience: the ranked list and weights, rating and
votes, decisions and finalisation. Importing them registers their views on `bp`."""
from participation.review import decision_routes, joint_routes, ranking_routes, rating_routes  # noqa: F401
from participation.review.blueprint import bp

__all__ = ["bp"]
