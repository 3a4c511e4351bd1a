"""Who may state which fact (PATHWAY.md section 7), as one table.

The clinical facts a promise rests on - the red-flag screen, the neurological exam, imaging
findings, the MRI review, diagnostic blocks, the decision - are a clinician's. A coordinator
prepares demographics, payer, intake history, bookings, plans and imports, but nothing a
coordinator enters can make a study reviewed or a generator confirmed. The services ask
:func:`may_state` before every write, whatever the route (form, import, admin, API).
"""

from __future__ import annotations

from typing import Literal

Role = Literal["clinician", "coordinator", "clinic_admin"]
Fact = Literal[
    "demographics",
    "payer",
    "intake_history",
    "review_date",
    "pain_pattern",
    "red_flag_screen",
    "neurological_exam",
    "imaging_findings",
    "mri_review",
    "diagnostic_block",
    "prior_procedure",
    "decision",
    "amendment",
    "workup_import",
    "dicom_import",
    "plan",
    "plan_release",
    "plan_acceptance",
    "procedure",
    "procedure_void",
    "questionnaire_link",
    "paper_questionnaire",
    "reminder_call",
    "reminder_letter",
    "price_list",
    "product_catalogue",
    "adverse_event",
    "safety_review",
    "safety_answers",
    "safety_filing",
    "lookback_notice",
    "reintervention",
    "booking",
    "request_status",
    "sign_in_link",
    "contact_confirmation",
    "visit_notes",
    "staff_accounts",
    "api_token",
    "policy_draft",
]

CLINICIAN: frozenset[Role] = frozenset({"clinician"})
STAFF: frozenset[Role] = frozenset({"clinician", "coordinator", "clinic_admin"})
ADMIN: frozenset[Role] = frozenset({"clinic_admin"})

# What each role may create or change. Anything that can change which pain generator is
# confirmed is a clinician's: the pain pattern (a leg-dominant one excludes a worn disc), an
# earlier spine surgery (a fused level leaves the count of worn discs) and the review date of
# a consultation (it decides which imaging and blocks are part of the workup).
AUTHORS: dict[Fact, frozenset[Role]] = {
    "demographics": STAFF,
    "payer": STAFF,
    "intake_history": STAFF,
    "review_date": CLINICIAN,
    "pain_pattern": CLINICIAN,
    "red_flag_screen": CLINICIAN,
    "neurological_exam": CLINICIAN,
    "imaging_findings": CLINICIAN,
    "mri_review": CLINICIAN,
    "diagnostic_block": CLINICIAN,
    "prior_procedure": CLINICIAN,
    "decision": CLINICIAN,
    "amendment": CLINICIAN,
    # Imported studies arrive unreviewed and blocks unverified; from a coordinator's import
    # only the facts a coordinator may state are taken (the rest are left unrecorded).
    "workup_import": STAFF,
    # A study from DICOM files arrives unreviewed, with the files' own date and no findings.
    "dicom_import": STAFF,
    "plan": STAFF,
    # A draft is the clinic's working document; a clinician decides it is what the patient
    # is offered (PATHWAY.md section 4).
    "plan_release": CLINICIAN,
    "plan_acceptance": STAFF,
    "procedure": CLINICIAN,
    "procedure_void": CLINICIAN,
    "questionnaire_link": STAFF,
    "paper_questionnaire": STAFF,
    # The reminder ladder's work for staff (PATHWAY.md section 11): a call's outcome, a letter
    # printed for the post.
    "reminder_call": STAFF,
    "reminder_letter": STAFF,
    "price_list": ADMIN,
    # The biologic products and lots the clinic uses (PATHWAY.md section 10).
    "product_catalogue": ADMIN,
    # Adverse events (section 10): grading, seriousness and relatedness are a clinician's
    # judgement, and so is the review of a patient's worrying answers. Staff may enter the
    # answers a patient gives on paper or by telephone; the report to the FDA is filed by a
    # clinician or the clinic admin.
    "adverse_event": CLINICIAN,
    "safety_review": CLINICIAN,
    "safety_answers": STAFF,
    "safety_filing": frozenset({"clinician", "clinic_admin"}),
    # Writing to the patients a look-back found is the clinic admin's, as the look-back is.
    "lookback_notice": ADMIN,
    # A surgery or an injection elsewhere at a treated level (it fails the trials' composite):
    # any staff member records what a document says or the patient reports; what a clinician
    # recorded only a clinician marks entered in error. The clinic's own later injections are
    # never typed: they count from the procedure records.
    "reintervention": STAFF,
    # The coordinators' calendar and inbox: any staff member books, moves and cancels
    # appointments (consultations and injection sessions) and handles requests.
    "booking": STAFF,
    "request_status": STAFF,
    # A link to the patient's own pages, emailed to the address on their record.
    "sign_in_link": STAFF,
    # A change of the email or phone made by staff, confirmed in person by another staff
    # member (the patient confirms it themselves from the address on file before it).
    "contact_confirmation": STAFF,
    "visit_notes": STAFF,
    # Who works here, what the EHR may read or write, and the clinic's rules: the clinic admin's.
    "staff_accounts": ADMIN,
    "api_token": ADMIN,
    "policy_draft": ADMIN,
}

FACT_LABELS: dict[Fact, str] = {
    "demographics": "the patient's details",
    "payer": "the payer",
    "intake_history": "the intake history",
    "review_date": "the review date of a consultation",
    "pain_pattern": "the pain pattern",
    "red_flag_screen": "the red-flag screen",
    "neurological_exam": "the focused exam",
    "imaging_findings": "imaging findings",
    "mri_review": "the MRI review",
    "diagnostic_block": "diagnostic blocks",
    "prior_procedure": "earlier spine procedures",
    "decision": "a candidacy decision",
    "amendment": "an amendment to a signed consultation",
    "workup_import": "a workup import",
    "dicom_import": "an MRI import from DICOM",
    "plan": "a treatment plan",
    "plan_release": "the release of a plan to the patient",
    "plan_acceptance": "a plan's acceptance",
    "procedure": "a procedure",
    "procedure_void": "voiding a procedure",
    "questionnaire_link": "a questionnaire link",
    "paper_questionnaire": "a paper questionnaire",
    "reminder_call": "a follow-up reminder call's outcome",
    "reminder_letter": "a follow-up reminder letter printed",
    "price_list": "the price list",
    "product_catalogue": "the catalogue of biologic products and lots",
    "adverse_event": "an adverse event (its grade, seriousness and relatedness)",
    "safety_review": "the review of a patient's safety answers",
    "safety_answers": "a patient's answers to the safety questions",
    "safety_filing": "the filing of an adverse reaction report",
    "lookback_notice": "letters and emails to the patients a look-back found",
    "reintervention": "a re-intervention at a treated level (a surgery or an injection elsewhere)",
    "booking": "bookings",
    "request_status": "consultation requests",
    "sign_in_link": "sign-in links to the patient's own pages",
    "contact_confirmation": "confirming a change of the patient's contact details",
    "visit_notes": "a reassessment visit's notes",
    "staff_accounts": "staff accounts",
    "api_token": "API tokens",
    "policy_draft": "the clinic's policy (drafts, their what-if, adoption)",
}


def may_state(roles: frozenset[str] | set[str], fact: Fact) -> bool:
    """Whether someone holding ``roles`` may create or change ``fact``."""
    return bool(AUTHORS[fact] & roles)


def may_change(roles: frozenset[str] | set[str], fact: Fact, stated_by: str | None) -> bool:
    """Whether someone holding ``roles`` may change (or clear) ``fact`` as it stands, last
    stated by someone in the role ``stated_by`` (None: not recorded, or not known).

    A fact stays stated until the role that may state it changes it (PATHWAY.md section 9): what
    a clinician recorded is never removed or replaced by another role's edit - a form's blank
    field, an autosave, a stale page - even where that role may state the fact itself.
    """
    if not may_state(roles, fact):
        return False
    return not (stated_by == "clinician" and "clinician" not in roles)


def stating_role(roles: frozenset[str] | set[str]) -> str:
    """The role a statement is recorded under: a clinician's when the person is one."""
    return "clinician" if "clinician" in roles else min(roles, default="")


def kept_by_clinician(fact: Fact) -> str:
    """The sentence shown when another role's edit would change what a clinician stated."""
    return f"A clinician recorded {FACT_LABELS[fact]} here: only a clinician can change it."


def refusal(fact: Fact) -> str:
    """The sentence shown to someone who may not state ``fact``."""
    who = " or ".join(sorted(role.replace("_", " ") for role in AUTHORS[fact]))
    return f"Only a {who} can record or change {FACT_LABELS[fact]}."
