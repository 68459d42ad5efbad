"""Business and proposal imports from CSV or XLSX: validate every row, then save all or nothing.

Businesses are merged by NIB plus normalised name (case, punctuation and CV/UD/PT prefixes
ignored); one NIB may carry several KBLI codes, which are united. Errors are reported per row
and column, in the user's language; row numbers are the spreadsheet's (the header is row 1).

The package is split by audience: `tables` reads a file and checks cells, `businesses` imports
business and roster files, `proposals` imports proposal files.
"""
from participation.intake.imports.businesses import (
    BUSINESS_COLUMNS,
    ROSTER_COLUMNS,
    business_key,
    find_business,
    import_businesses,
    import_roster,
    not_registered_message,
    registered_business,
)
from participation.intake.imports.proposals import (
    PROPOSAL_COLUMNS,
    accepts_proposal_imports,
    import_proposals,
    proposal_imports_closed_message,
)
from participation.intake.imports.tables import (
    MAX_CELL,
    MAX_ROWS,
    ImportFileError,
    ImportRefused,
    ImportResult,
    RowError,
    RowReader,
    TableLimits,
    estimate_rows,
    read_table,
)

__all__ = [
    "BUSINESS_COLUMNS", "MAX_CELL", "MAX_ROWS", "PROPOSAL_COLUMNS", "ROSTER_COLUMNS", "ImportFileError",
    "ImportRefused", "ImportResult", "RowError", "RowReader", "TableLimits", "accepts_proposal_imports", "business_key",
    "estimate_rows", "find_business", "import_businesses", "import_proposals", "import_roster",
    "not_registered_message", "proposal_imports_closed_message", "read_table", "registered_business",
]
