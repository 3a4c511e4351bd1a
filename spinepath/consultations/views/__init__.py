"""The consultation's pages, one module per step (the writes they call:
spinepath.consultations.actions)."""

from spinepath.consultations.views.exchange import export, import_workup
from spinepath.consultations.views.imaging import imaging, imaging_dicom, imaging_pacs, study
from spinepath.consultations.views.signing import amend, decision_detail, review, sign
from spinepath.consultations.views.steps import encounter_new, exam, history

__all__ = [
    "amend",
    "decision_detail",
    "encounter_new",
    "exam",
    "export",
    "history",
    "imaging",
    "imaging_dicom",
    "imaging_pacs",
    "import_workup",
    "review",
    "sign",
    "study",
]
