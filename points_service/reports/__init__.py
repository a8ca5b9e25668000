"""Reports: monthly figures per organization, and the dashboard that reads them.

``models`` holds the running totals, ``aggregates`` keeps them current with every
change (and recomputes them), ``balances`` does the same for the points each home
organization's volunteers hold, ``service`` reads a subtree's figures for the desk.
Importing the package registers the counting with the session and the ledger.
"""

from . import aggregates, balances  # noqa: F401  (registers the counting)
