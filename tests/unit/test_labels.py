"""Every stored code the pages show has a label, and the status rules have one home."""

from __future__ import annotations

from assess.store.models import EDITABLE, REPORTED, WITHDRAWABLE, Role, StaffBand, Status
from web import labels


def test_every_status_role_and_staff_band_has_a_label():
    assert set(labels.STATUS) == set(Status)
    assert set(labels.ROLE) == set(Role)
    assert set(labels.STAFF_BAND) == set(StaffBand)


def test_a_draft_is_editable_and_a_submission_counts_and_may_be_withdrawn():
    assert Status.draft.editable and not Status.draft.reported and not Status.draft.withdrawable
    s = Status.submitted
    assert not s.editable and s.reported and s.withdrawable
    assert EDITABLE.isdisjoint(REPORTED)  # a result that counts can no longer change
    assert WITHDRAWABLE <= REPORTED
