"""The activities domain's operations, in one place for the faces to import.

Service that really happened becomes points in four steps, each kept in its own module:

- ``publishing``: an organizer publishes an activity; volunteers sign up (a waiting list
  when it is full);
- ``attendance``: the rotating check-in code, check-in and check-out, the roster;
- ``records``: service entered by hand or reported, reversal, invariant 7;
- ``approval``: approval (which rates a record with the rules domain and writes exactly
  one earn entry) and rejection, one record or a whole activity at once;
- ``rerating``: simulating a draft rule set, re-rating a period, re-rating a year whose
  holiday calendar arrived;
- ``calendars``: a year's holiday calendar read from a file, entered and applied;
- ``imports``: spreadsheets of hours, all or nothing;
- ``common``: the checks every way of recording service shares.

This module only gathers their public operations; it keeps no rule of its own.
"""

from .approval import (
    Decisions,
    NotApproved,
    approve_activity,
    approve_record,
    count_pending_records,
    decide_records,
    may_approve,
    pending_records,
    recent_decisions,
    reject_record,
)
from .attendance import (
    Attendance,
    CheckinCode,
    RosterLine,
    activity_records,
    check_in_member,
    check_in_with_code,
    check_in_with_typed_code,
    checkin_code_is_valid,
    checkin_is_open,
    current_checkin_code,
    mark_present,
    roster,
    toggle_attendance,
)
from .calendars import CalendarImport, import_year_calendar, read_calendar_file
from .publishing import (
    ActivityView,
    activity_for_staff,
    activity_for_volunteer,
    cancel_activity,
    cancel_signup,
    category_label,
    create_activity,
    get_activity,
    list_activities,
    list_categories,
    list_my_signups,
    list_open_activities,
    organizations_in_scope,
    sign_up,
    update_activity,
)
from .records import (
    ExplainedRecord,
    RecordReversal,
    check_service_records,
    enter_record,
    get_record,
    my_records,
    record_for_staff,
    report_service,
    reverse_record,
    volunteer_level,
    volunteer_names,
)
from .rerating import (
    Backtest,
    Rerate,
    backtest_draft,
    backtest_from_json,
    backtest_run_state,
    get_backtest_run,
    latest_backtest_run,
    request_backtest,
    rerate_calendar_year,
    rerate_period,
    run_backtest,
    simulate_draft,
)

__all__ = [
    "ActivityView",
    "Attendance",
    "Backtest",
    "CalendarImport",
    "CheckinCode",
    "Decisions",
    "ExplainedRecord",
    "NotApproved",
    "RecordReversal",
    "Rerate",
    "RosterLine",
    "activity_for_staff",
    "backtest_draft",
    "backtest_from_json",
    "backtest_run_state",
    "get_backtest_run",
    "latest_backtest_run",
    "request_backtest",
    "run_backtest",
    "activity_for_volunteer",
    "activity_records",
    "approve_activity",
    "approve_record",
    "cancel_activity",
    "cancel_signup",
    "category_label",
    "check_in_member",
    "check_in_with_code",
    "check_in_with_typed_code",
    "check_service_records",
    "checkin_code_is_valid",
    "checkin_is_open",
    "count_pending_records",
    "create_activity",
    "update_activity",
    "current_checkin_code",
    "decide_records",
    "enter_record",
    "get_activity",
    "get_record",
    "import_year_calendar",
    "list_activities",
    "list_categories",
    "list_my_signups",
    "list_open_activities",
    "mark_present",
    "may_approve",
    "my_records",
    "organizations_in_scope",
    "pending_records",
    "read_calendar_file",
    "recent_decisions",
    "record_for_staff",
    "reject_record",
    "report_service",
    "rerate_calendar_year",
    "rerate_period",
    "reverse_record",
    "roster",
    "sign_up",
    "simulate_draft",
    "toggle_attendance",
    "volunteer_level",
    "volunteer_names",
]
