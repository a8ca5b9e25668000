"""Test-data builders for the activities domain (a mixin of tests.builders.Builder)."""

import csv
import io
from datetime import timedelta

from points_service.activities import attendance, imports
from points_service.activities import service as activities
from points_service.timeutil import local_midnight_utc, to_local, utcnow


class ActivitiesBuilder:
    def service_rules(self):
        """The plain test rule table (10 points an hour) on the city, created once."""
        if getattr(self, "_service_rules", None) is None:
            self._service_rules = self.rule_set()
        return self._service_rules

    def organizer(self, organization=None):
        """An organizer of ``organization`` (the first community), made once per node."""
        organization = organization or self.community
        cache = self.__dict__.setdefault("_organizers", {})
        if organization.id not in cache:
            cache[organization.id] = self.staff("organizer", organization)
        return cache[organization.id]

    def activity(
        self,
        organization=None,
        *,
        organizer=None,
        starts_at=None,
        minutes=120,
        capacity=40,
        category="elderly_care",
        urgent=False,
        title="Visiting the elderly",
    ):
        """A published activity; by default it started three hours ago and ended an hour ago."""
        self.service_rules()
        organization = organization or self.community
        starts_at = starts_at or (utcnow() - timedelta(hours=3)).replace(microsecond=0)
        return activities.create_activity(
            organizer or self.organizer(organization),
            organization=organization,
            title=title,
            category=category,
            place="Community hall",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=minutes),
            capacity=capacity,
            urgent=urgent,
        )

    def checked_in_roster(self, activity, volunteers):
        """Each volunteer checked in and out by scanning the activity's code (a pending record each)."""
        records = []
        for volunteer in volunteers:
            during = activity.starts_at
            code = attendance._code(activity, attendance._window(during))
            activities.check_in_with_code(volunteer, activity.id, code, now=during)
            leaving = activity.ends_at
            code = attendance._code(activity, attendance._window(leaving))
            records.append(activities.check_in_with_code(volunteer, activity.id, code, now=leaving).record)
        return records

    def record(
        self,
        volunteer,
        *,
        organization=None,
        started_at=None,
        minutes=60,
        category="elderly_care",
        entered_by=None,
        urgent=False,
    ):
        """A pending record entered by an organizer (yesterday at 09:00 local, by default:
        whatever the hour the tests run, a record of a few hours stays within one day)."""
        self.service_rules()
        organization = organization or self.community
        if started_at is None:
            yesterday = to_local(utcnow(), organization.timezone).date() - timedelta(days=1)
            started_at = local_midnight_utc(yesterday, organization.timezone) + timedelta(hours=9)
        return activities.enter_record(
            entered_by or self.organizer(organization),
            member_no=volunteer.volunteer.member_no,
            organization=organization,
            category=category,
            started_at=started_at,
            ended_at=started_at + timedelta(minutes=minutes),
            urgent=urgent,
        )

    def approver(self, organization=None):
        """A second organizer of ``organization``: may approve what ``organizer()`` entered."""
        organization = organization or self.community
        cache = self.__dict__.setdefault("_approvers", {})
        if organization.id not in cache:
            cache[organization.id] = self.staff("organizer", organization)
        return cache[organization.id]

    def approved_record(self, volunteer, **kwargs):
        record = self.record(volunteer, **kwargs)
        return activities.approve_record(self.approver(kwargs.get("organization")), record.id)

    def imported_records(self, count=100, *, volunteers=10, organization=None, uploader=None, filename="hours.csv"):
        """``count`` pending records imported from one spreadsheet by ``uploader`` (the
        organizer): an hour a day for each of ``volunteers`` volunteers, on past days.
        Returns the import's result (``batch``, ``created``)."""
        self.service_rules()
        organization = organization or self.community
        people = [self.volunteer(organization, name=f"Import Volunteer {n}") for n in range(volunteers)]
        today = to_local(utcnow(), organization.timezone).date()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["Member number", "Category", "Date", "Start", "End"])
        for n in range(count):
            day = today - timedelta(days=2 + n // volunteers)
            writer.writerow(
                [people[n % volunteers].volunteer.member_no, "elderly_care", day.isoformat(), "09:00", "10:00"]
            )
        return imports.import_records(
            uploader or self.organizer(organization), organization, filename, out.getvalue().encode("utf-8")
        )
