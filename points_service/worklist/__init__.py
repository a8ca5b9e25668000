"""The staff work list: states that have no next action of their own.

A reversal that could not take back points already spent leaves a shortfall, and an
undone redemption whose co-payment was paid leaves a refund due. Neither moves on by
itself unless staff act (or, for a shortfall, the volunteer earns again), so each is
listed here with what can be done about it. See ``service``.
"""
