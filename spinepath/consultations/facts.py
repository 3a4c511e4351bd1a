"""Which fact each field of a consultation states (PATHWAY.md section 7).

The services ask :func:`spinepath.pathway.authority.may_state` for every changed field; the
forms show the fields a role may not state as read-only.
"""

from __future__ import annotations

from spinepath.pathway.authority import Fact

ENCOUNTER_FACTS: dict[str, Fact] = {
    "assessed_on": "review_date",
    "pain_duration_months": "intake_history",
    "physical_therapy_weeks": "intake_history",
    "nsaid_trial": "intake_history",
    "conservative_status": "intake_history",
    # Whether earlier spine procedures were asked about is the clinician's statement: it is
    # what turns "none recorded" into "none" (PATHWAY.md sections 3 and 7).
    "prior_procedures_asked": "prior_procedure",
    "medications": "intake_history",
    "goals": "intake_history",
    "pain_vas": "intake_history",
    "odi_sections": "intake_history",
    # The ICHOM low back pain measures at baseline and the case-mix (PATHWAY.md section 11):
    # what the patient reports, and height and weight, which a coordinator may record as the
    # rest of the intake (PATHWAY.md section 7).
    "back_pain_nrs": "intake_history",
    "leg_pain_nrs": "intake_history",
    "work_status": "intake_history",
    "analgesic_use": "intake_history",
    "opioid_use": "intake_history",
    "height_cm": "intake_history",
    "weight_kg": "intake_history",
    "smoking_status": "intake_history",
    "comorbidities": "intake_history",
    "pattern": "pain_pattern",
    "red_cauda_equina": "red_flag_screen",
    "red_infection": "red_flag_screen",
    "red_malignancy": "red_flag_screen",
    "red_fracture": "red_flag_screen",
    "motor_deficit": "neurological_exam",
    "radiculopathy_onset": "neurological_exam",
    "facet_pattern": "neurological_exam",
    "si_provocation_positive": "neurological_exam",
    "ligament_tenderness": "neurological_exam",
    "range_of_motion": "neurological_exam",
    "strength": "neurological_exam",
}
