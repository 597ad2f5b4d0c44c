"""Every stored code the pages show has a label."""

from __future__ import annotations

from assess.store.models import (
    CertificateStatus,
    ConflictKind,
    Decision,
    Role,
    StaffBand,
    Status,
)
from web import labels


def test_every_stored_code_has_a_label():
    assert set(labels.STATUS) == set(Status)
    assert set(labels.ROLE) == set(Role)
    assert set(labels.STAFF_BAND) == set(StaffBand)
    assert set(labels.CERTIFICATE_STATUS) == set(CertificateStatus)
    assert set(labels.DECISION) == set(Decision)
    assert set(labels.CONFLICT_KIND) == set(ConflictKind)
