"""Which pages the audit log records when they are opened (ONC 170.315(d)(2)).

Every page a signed-in person opens is recorded (``VIEW``), with the patient it shows when it
shows one, unless it is listed in ``NOT_RECORDED`` (no patient data on it). Downloads and
exports record themselves (``EXPORT``: who took which patients' data). A test checks that every
URL of the application is in exactly one of these tables; docs/security.md lists them.
"""

from __future__ import annotations

# URL name -> what the audit log calls the page.
RECORDED: dict[str, str] = {
    "patients:list": "patient search",
    "patients:chart": "chart",
    "patients:new": "new patient form",
    "patients:edit": "patient details form",
    "patients:fhir": "FHIR bundle (export)",
    "consultations:new": "new consultation",
    "consultations:history": "consultation: history",
    "consultations:exam": "consultation: exam",
    "consultations:imaging": "consultation: imaging",
    "consultations:study": "consultation: MRI study",
    "consultations:review": "consultation: review and decision",
    "consultations:sign": "consultation: sign",
    "consultations:amend": "consultation: amendment",
    "consultations:decision": "signed decision",
    "consultations:export": "workup JSON (export)",
    "consultations:import": "workup import",
    "plans:patient": "plan",
    "plans:plan": "plan",
    "plans:pdf": "plan PDF (export)",
    "plans:accept": "plan acceptance",
    "plans:revise": "plan revision",
    "plans:procedure": "procedure record",
    "plans:void": "procedure void",
    "plans:prices": "price list",
    "followup:worklist": "follow-up worklist",
    "followup:visit": "reassessment visit",
    "followup:link": "questionnaire link",
    "followup:questionnaire": "questionnaire (patient's link)",
    "followup:chart": "outcome chart (SVG)",
    "public:inbox": "consultation requests",
    "public:bookings": "bookings",
    "public:change": "booking change",
    "public:cancel": "booking cancel",
    "public:session_book": "injection session booking",
    "public:change_request_done": "patient's change request handled",
    "portal:home": "patient's own pages: home",
    "portal:consultation": "patient's own pages: consultation",
    "portal:plan": "patient's own pages: plan",
    "portal:plan_pdf": "patient's own pages: plan PDF",
    "portal:appointments": "patient's own pages: appointments",
    "portal:appointment_ics": "patient's own pages: appointment calendar file",
    "portal:visit_ics": "patient's own pages: check-in calendar file",
    "portal:change": "patient's own pages: change request",
    "portal:questionnaires": "patient's own pages: questionnaires",
    "portal:questionnaire_start": "patient's own pages: questionnaire opened",
    "portal:progress": "patient's own pages: progress",
    "portal:send_link": "sign-in link sent to the patient",
    "outcomes:dashboard": "outcomes dashboard",
    "outcomes:csv": "cohort CSV (export)",
    "outcomes:deidentified": "cohort CSV, de-identified (export)",
    "outcomes:excel": "cohort Excel (export)",
    "audit:log": "audit log",
    "audit:csv": "audit log CSV (export)",
    "accounts:staff": "staff accounts",
    "accounts:staff_detail": "staff account",
    "accounts:staff_action": "staff account change",
}

# Pages with no patient data on them: not recorded when opened.
NOT_RECORDED: dict[str, str] = {
    "home": "redirect to the patient list",
    "accounts:login": "sign-in (recorded as sign-in events)",
    "portal:sign_in": "patient's sign-in page (links sent are recorded per patient)",
    "portal:link": "patient's sign-in link (recorded as sign-in events)",
    "portal:sign_out": "patient's sign-out",
    "accounts:logout": "sign-out (recorded as sign-out events)",
    "accounts:mfa": "second step (recorded as second-factor events)",
    "accounts:enrol": "authenticator set-up (recorded as second-factor events)",
    "accounts:recovery": "own account page",
    "accounts:password": "own password change (recorded as a change)",
    "public:home": "public indication page",
    "public:protocol": "public indication page",
    "public:screen": "public self-screen (stores nothing)",
    "public:request": "public consultation request form",
    "outcomes:evidence": "published evidence library",
    "outcomes:dictionary": "data dictionary of the export",
}
