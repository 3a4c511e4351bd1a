"""Writes in a consultation, one module per concern; each write is an action
(:func:`spinepath.actions.action`) taking the actor who states it.

Every write asks the authority table (:mod:`spinepath.pathway.authority`) first, whatever the
route (form, autosave, import, admin, API). A signed consultation is locked; a clinician
reopens it with an amendment, and the next signature closes it.

- :mod:`.records`: what every write checks (locked consultations, signed days, dates)
- :mod:`.encounter`: starting, filling in and amending a consultation
- :mod:`.imaging`: imaging studies and the MRI review
- :mod:`.blocks`: diagnostic blocks and earlier spine procedures
- :mod:`.signing`: the decision's review and signature
- :mod:`.workup_import`: a workup file (docs/interchange.md)
- :mod:`.dicom_import`: an MRI study from DICOM files
"""

from spinepath.consultations.actions.blocks import block_add, block_verify, procedure_add
from spinepath.consultations.actions.dicom_import import dicom_study_import
from spinepath.consultations.actions.encounter import (
    encounter_amend,
    encounter_save,
    encounter_start,
)
from spinepath.consultations.actions.imaging import study_review, study_save
from spinepath.consultations.actions.records import (
    FINDING_FIELDS,
    STUDY_FIELDS,
    finding_values,
    plausible_day,
    require_unsigned_day,
    study_version,
)
from spinepath.consultations.actions.signing import (
    Review,
    ReviewChanged,
    decision_preview,
    decision_review,
    decision_sign,
    new_signature_token,
    review_fingerprint,
)
from spinepath.consultations.actions.workup_import import (
    ImportNeedsChoice,
    ImportNeedsConfirmation,
    attest_imported,
    differences_hash,
    import_conflicts,
    import_differences,
    import_match,
    unstated_on_import,
    workup_import,
)

__all__ = [
    "FINDING_FIELDS",
    "STUDY_FIELDS",
    "ImportNeedsChoice",
    "ImportNeedsConfirmation",
    "Review",
    "ReviewChanged",
    "attest_imported",
    "block_add",
    "block_verify",
    "decision_preview",
    "decision_review",
    "decision_sign",
    "dicom_study_import",
    "differences_hash",
    "encounter_amend",
    "encounter_save",
    "encounter_start",
    "finding_values",
    "import_conflicts",
    "import_differences",
    "import_match",
    "new_signature_token",
    "plausible_day",
    "procedure_add",
    "require_unsigned_day",
    "review_fingerprint",
    "study_review",
    "study_save",
    "study_version",
    "unstated_on_import",
    "workup_import",
]
