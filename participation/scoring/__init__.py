"""The MCDA scoring library (DESIGN §5): numpy, scipy (HiGHS) and krippendorff; no Flask, no database, no models.

Conventions: `matrix` is (n alternatives × k criteria) float; `directions` holds 1 (benefit,
higher is better) or -1 (cost, lower is better); weights are non-negative and are normalised to
sum to 1. Everything is computed in float64.

Errors: bad input raises ValueError whose message names the offending cell as
"(row i, column j)", 0-based, e.g. "matrix cell (row 3, column 1) is NaN"; for a refused matrix
cell it is a CellError (a ValueError) that also carries `row` and `column`.

Edge policies:
- a constant column normalises to 1.0 under SAW (both normalisations) and, under TOPSIS, puts
  every alternative at the same distance on that criterion;
- all alternatives equal: SAW gives every one 1.0, TOPSIS 0.5 (both distances are 0);
- a single alternative: SAW 1.0, TOPSIS 0.5;
- `max` normalisation needs positive values in cost columns (min/x) and non-negative values in
  benefit columns (x/max); a zero or negative cost is refused, naming the cell;
- under TOPSIS a column of zeros has no length to normalise by and contributes nothing.
"""
from participation.scoring._validate import CellError
from participation.scoring.aggregate import aggregate_ratings
from participation.scoring.agreement import rater_leniency, rating_agreement
from participation.scoring.ahp import AhpResult, ahp_weights
from participation.scoring.methods import contributions, saw, topsis
from participation.scoring.ranking import rank
from participation.scoring.reasons import Exclusion, exclusion_reasons
from participation.scoring.selection import select_within_budget
from participation.scoring.stability import rank_stability, selection_stability

__all__ = [
    "AhpResult",
    "CellError",
    "Exclusion",
    "aggregate_ratings",
    "ahp_weights",
    "contributions",
    "exclusion_reasons",
    "rank",
    "rank_stability",
    "rater_leniency",
    "rating_agreement",
    "saw",
    "select_within_budget",
    "selection_stability",
    "topsis",
]
