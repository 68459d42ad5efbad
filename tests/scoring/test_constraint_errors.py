"""Malformed constraints and must-fund sets that cannot fit are refused, naming the row, list or label."""
from __future__ import annotations

import numpy as np
import pytest

from participation.scoring import exclusion_reasons, select_within_budget

SCORES = [0.9, 0.8, 0.7, 0.6, 0.5]
COSTS = [50, 40, 30, 30, 20]


@pytest.mark.parametrize("method", ["greedy", "optimal"])
@pytest.mark.parametrize("kwargs,message", [
    (dict(must=[True, False]), r"must has 2 entries but there are 5 scores \(rows 2 to 4 have no entry\)"),
    (dict(must=[True] * 6), r"must has 6 entries but there are 5 scores \(must\[5\] has no score\)"),
    (dict(must=[1, 0, 0.5, 0, 0]), r"must\[2\] \(row 2\) is 0.5; use True or False"),
    (dict(must=[[True] * 5]), "must must be 1-D"),
    (dict(exclusive=[[0, 5]]), r"exclusive\[0\]\[1\] is 5 but there are only 5 alternatives \(rows 0 to 4\)"),
    (dict(exclusive=[[0, 1], [-1, 2]]), r"exclusive\[1\]\[0\] is -1; row indices count from 0"),
    (dict(exclusive=[[0, 1.5]]), r"exclusive\[0\]\[1\] is 1.5; row indices are whole numbers"),
    (dict(exclusive=[[0, True]]), r"exclusive\[0\]\[1\] is True; use a row index"),
    (dict(exclusive=[1, 2]), r"exclusive\[0\] is 1, not a list of row indices \(one list of rows 1 and 2 is "
                             r"exclusive=\[\[1, 2\]\]\)"),
    (dict(exclusive="01"), "exclusive must be a list of lists of row indices"),
    (dict(groups=[0, 0, 1]), r"groups has 3 entries but there are 5 scores \(rows 3 to 4 have no group\)"),
    (dict(groups=[0, 0, 1, np.nan, 1]), r"groups\[3\] \(row 3\) is NaN; group labels are whole numbers"),
    (dict(groups=[0, 0, 1, 1.5, 1]), r"groups\[3\] \(row 3\) is 1.5; group labels are whole numbers"),
    (dict(group_caps={0: 10}), "group_caps needs groups"),
    (dict(groups=[0, 0, 1, 1, 1], group_caps=[10, 20]), "group_caps must be a mapping"),
    (dict(groups=[0, 0, 1, 1, 1], group_caps={0: -5}), r"group_caps\[0\] is -5; caps are non-negative whole Rupiah"),
    (dict(groups=[0, 0, 1, 1, 1], group_caps={1: 2.5}), r"group_caps\[1\] is 2.5; caps are non-negative whole"),
    (dict(groups=[0, 0, 1, 1, 1], group_caps={"roads": 5}), "group_caps key 'roads' is not a whole-number group label"),
])
def test_malformed_constraints_are_named(method, kwargs, message):
    with pytest.raises(ValueError, match=message):
        select_within_budget(SCORES, COSTS, 100, method, **kwargs)


@pytest.mark.parametrize("method", ["greedy", "optimal"])
@pytest.mark.parametrize("kwargs,message", [
    (dict(must=[True, True, True, False, False]),
     r"the must-fund alternatives cannot all fit: rows 0, 1 and 2 cost 120 together, over the budget of 100"),
    (dict(must=[False, True, False, True, False], groups=[0, 1, 0, 1, 1], group_caps={1: 60}),
     r"rows 1 and 3 in group 1 cost 70 together, over the group's cap of 60"),
    (dict(must=[True, False, False, False, True], exclusive=[[1, 2], [4, 3, 0]]),
     r"exclusive\[1\] holds rows 0 and 4, and at most one of them may be selected"),
])
def test_must_fund_sets_that_cannot_fit_say_why(method, kwargs, message):
    with pytest.raises(ValueError, match=message):
        select_within_budget(SCORES, COSTS, 100, method, **kwargs)


def test_what_is_accepted():
    # A cap for a label no alternative carries, a label without a cap, a repeated index, a list of
    # one and 0/1 for must are all accepted.
    chosen = select_within_budget(SCORES, COSTS, 100, "optimal", must=[0, 0, 0, 0, 1], exclusive=[[0, 0, 1], [2]],
                                  groups=[0, 0, 1, 1, 2], group_caps={0: 50, 7: 0})
    assert chosen.tolist() == [True, False, True, False, True]
    assert select_within_budget(SCORES, COSTS, 100, "greedy", exclusive=None).tolist() == \
        select_within_budget(SCORES, COSTS, 100, "greedy").tolist()


def test_exclusion_reasons_refuses_a_bad_selection():
    with pytest.raises(ValueError, match=r"selected\[1\] \(row 1\) is 2; use True or False"):
        exclusion_reasons([1, 2, 0, 0, 0], COSTS, 100)
    with pytest.raises(ValueError, match="selected must be 1-D"):
        exclusion_reasons([[True] * 5], COSTS, 100)
    with pytest.raises(ValueError, match=r"exclusive\[0\]\[1\] is 9"):
        exclusion_reasons([True] * 5, COSTS, 1000, exclusive=[[0, 9]])
