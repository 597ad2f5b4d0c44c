"""UI labels for stored codes (statuses, roles, staff bands), translated at render time."""

from __future__ import annotations

from assess.accounts.enterprises import sector_names
from assess.store.models import (
    CertificateStatus,
    ConflictKind,
    Decision,
    Role,
    StaffBand,
    Status,
)
from web.i18n import gettext, pick


def N_(message: str) -> str:
    """Mark a message for the catalog; it is translated later, when shown."""
    return message


STATUS: dict[str, str] = {
    Status.draft: N_("Draft"),
    Status.submitted: N_("Submitted"),
    Status.under_review: N_("Under review"),
    Status.returned: N_("Returned for action"),
    Status.resubmitted: N_("Resubmitted"),
    Status.certified: N_("Certified"),
    Status.rejected: N_("Certification refused"),
}
CERTIFICATE_STATUS: dict[str, str] = {
    CertificateStatus.valid: N_("Valid"),
    CertificateStatus.suspended: N_("Suspended"),
    CertificateStatus.revoked: N_("Revoked"),
    CertificateStatus.expired: N_("Expired"),
}
DECISION: dict[str, str] = {
    Decision.accepted: N_("Accepted"),
    Decision.adjusted: N_("Adjusted"),
    Decision.evidence: N_("Evidence requested"),
}
CONFLICT_KIND: dict[str, str] = {
    ConflictKind.own_firm: N_("Works or worked for the firm"),
    ConflictKind.consulting: N_("Advised the firm"),
    ConflictKind.financial: N_("Financial interest"),
    ConflictKind.family: N_("Close relative in a senior post"),
    ConflictKind.other: N_("Other relation"),
}
ROLE: dict[str, str] = {
    Role.enterprise: N_("Enterprise user"),
    Role.certifier: N_("Certifier"),
    Role.cluster_manager: N_("Cluster manager"),
    Role.admin: N_("Administrator"),
}
STAFF_BAND: dict[str, str] = {
    StaffBand.micro: N_("Fewer than 20"),
    StaffBand.small: N_("20–299"),
    StaffBand.medium: N_("300–999"),
    StaffBand.large: N_("1,000 or more"),
}


def status(code: str | None) -> str:
    """An assessment status in the UI language."""
    return gettext(STATUS[code]) if code in STATUS else (code or "—")


def role(code: str) -> str:
    """A role in the UI language."""
    return gettext(ROLE[code]) if code in ROLE else code


def staff_band(code: str) -> str:
    """A staff size band in the UI language."""
    return gettext(STAFF_BAND[code]) if code in STAFF_BAND else code


def sector(code: str) -> str:
    """A sector (its questionnaire id) by name in the UI language."""
    names = sector_names()
    return pick(*names[code]) if code in names else code


def label(table: dict[str, str], code: str | None) -> str:
    """A stored code from one of the tables above, in the UI language."""
    return gettext(table[code]) if code in table else (code or "—")
