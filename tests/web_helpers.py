"""Helpers of the web tests: users and imported consultations."""

from __future__ import annotations

from typing import Any

from django.test import Client
from workup_builder import document

from spinepath.accounts.roles import is_clinician, role_names
from spinepath.accounts.services import staff_user_create
from spinepath.actors import Actor
from spinepath.consultations.actions import attest_imported, workup_import
from spinepath.consultations.models import Encounter
from spinepath.pathway.safety import SAFETY_KEYS
from spinepath.pathway.workup import workup_from_dict
from spinepath.patients.services import patient_create

PASSWORD = "correct-horse-battery"


# The staff the web tests' fixtures make (tests/web/conftest.py), also for the data a module's
# tests share (tests/shared_world.py).
def new_clinician() -> Any:
    return staff_user_create(
        actor=Actor.system(),
        username="clin",
        password=PASSWORD,
        role="clinician",
        first_name="Ana",
        last_name="Rivera",
    )


def new_coordinator() -> Any:
    return staff_user_create(
        actor=Actor.system(), username="coord", password=PASSWORD, role="coordinator"
    )


def new_admin() -> Any:
    return staff_user_create(
        actor=Actor.system(), username="boss", password=PASSWORD, role="clinic_admin"
    )


def acting(user: Any) -> Actor:
    """The actor a service is called with in a test: the staff member (with the roles their
    account holds now) at a test address; for None, a coordinator's role with no account (a
    fixture that needs a chart and does not care who made it)."""
    if user is None:
        return Actor(
            "staff", roles=frozenset({"coordinator"}), name="(test fixture)", path="(test)"
        )
    user.__dict__.pop("_spinepath_roles", None)  # the roles as they are now
    return Actor.for_staff(user, role_names(user), address="127.0.0.1", path="(test)")


def signed_in(user: Any) -> Client:
    """A client signed in as the user, past the second step (an authenticator is set up)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def totp_now(device: Any, offset_steps: int = 0) -> str:
    """The code an authenticator app shows now for the device (or ``offset_steps`` later)."""
    import time

    from django_otp.oath import TOTP

    clock = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    clock.time = time.time() + offset_steps * device.step
    return f"{clock.token():06d}"


def import_encounter(
    user: Any,
    names: tuple[str, str] = ("Maria", "Lopez"),
    patient: Any = None,
    **changes: Any,
) -> Encounter:
    """A workup imported as a new patient's consultation. Imported imaging arrives unreviewed
    and blocks unverified; a clinician importing it then reviews and verifies them, as on the
    imaging page (a coordinator's import stays unreviewed). ``patient``: add it to that chart
    (its details changed to the workup's where they differ)."""
    encounter = workup_import(
        workup=workup_from_dict(document(**changes)),
        actor=acting(user),
        names=names,
        patient=patient,
        confirm_changes=patient is not None,
    )
    if is_clinician(user):
        attest_imported(encounter=encounter, actor=acting(user))
    return encounter


# The first step of a consultation as a browser posts it (every field answered).
HISTORY = {
    "assessed_on": "2026-11-02",
    "pain_duration_months": "24",
    "pattern": "axial",
    "physical_therapy_weeks": "12",
    "nsaid_trial": "true",
    "conservative_status": "plateaued",
    "prior_procedures_asked": "true",
    "medications": "ibuprofen",
    "goals": "Garden again",
    "red_cauda_equina": "false",
    "red_infection": "false",
    "red_malignancy": "false",
    "red_fracture": "false",
    "pain_vas": "70",
    **{f"odi_{i}": "2" for i in range(1, 11)},
    # The ICHOM baseline and case-mix (PATHWAY.md section 11).
    "back_pain_nrs": "7",
    "leg_pain_nrs": "3",
    "work_status": "part_time_back_pain",
    "analgesic_use": "daily",
    "opioid_use": "false",
    "height_cm": "168",
    "weight_kg": "72",
    "smoking_status": "never",
    "comorbidities": ["high_blood_pressure"],
}


def start(client: Client, user: Any) -> Encounter:
    patient = patient_create(
        actor=acting(user), details={"given_name": "Maria", "family_name": "Lopez"}
    )
    response = client.post(
        f"/patients/{patient.pk}/consultations/new/",
        {"start_key": f"start-{patient.pk}".ljust(18, "k")},
    )
    assert response.status_code == 302
    return Encounter.objects.get(patient=patient)


# The public self-screen and consultation request as a browser posts them.
SCREEN = {
    "pain_months": "18",
    "where": "back",
    "therapy_weeks": "8",
    "still_improving": "no",
    "tried_anti_inflammatories": "yes",
    "mri": "recent",
    "surgery": "none",
    "stable_weakness": "no",
}
REQUEST = {
    "name": "Maria Lopez",
    "email": "maria@example.org",
    "phone": "",
    "preferred_times": "Tuesday mornings",
    "message": "",
    "consent_to_contact": "on",
}


def decision_in_force(patient: Any) -> Any:
    """The gate's answer for ``patient`` now (``is_candidate``, ``signature``, ``problem``)."""
    from spinepath.consultations.selectors import consultation_standing
    from spinepath.pathway import gates

    return gates.decision_in_force(consultation_standing(patient))


def parallel_responses(posts: list[tuple[Client, str]], data: dict[str, Any]) -> list[Any]:
    """Post ``data`` from each client to its address at the same moment (a barrier); the
    responses. Each thread closes its own database connection."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(len(posts))
    responses: list[Any] = []

    def attempt(client: Client, url: str) -> None:
        try:
            barrier.wait()
            responses.append(client.post(url, data))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=post) for post in posts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def parallel_posts(clients: list[Client], url: str, data: dict[str, Any]) -> list[int]:
    """Post ``data`` to ``url`` from every client at the same moment; the statuses."""
    return [r.status_code for r in parallel_responses([(c, url) for c in clients], data)]


# A patient's "no" to every safety question of a follow-up questionnaire (PATHWAY.md section 10).
NOTHING_WORRYING = {f"safety_{key}": "no" for key in SAFETY_KEYS}
# A patient's answers to the ICHOM low back pain questions of a follow-up questionnaire, each
# required on the patient's page (PATHWAY.md section 11).
LBP_ANSWERED = {
    "back_pain_nrs": "4",
    "leg_pain_nrs": "2",
    "work_status": "full_time",
    "analgesic_use": "occasional",
    "opioid_use": "no",
}


def adopt_policy(text: str, admin: Any) -> None:
    """``text`` (over the clinic's file) adopted as the clinic's policy from now, as the clinic
    admin's adoption does (its what-if left out); rolled back with the test."""
    from spinepath.pathway.policy import parse_policy
    from spinepath.policies.models import AdoptedPolicy
    from spinepath.web.policy import forget_policy

    policy = parse_policy(text)
    AdoptedPolicy.objects.create(
        name=policy.name, version=policy.version, text=text, adopted_by=admin
    )
    forget_policy()


def dashboard_due_and_measured(client: Client, label: str) -> tuple[int, int]:
    """The outcome dashboard's row for a visit (its label, e.g. "6 weeks") as the page shows
    it: how many were due and how many measured."""
    import re

    page = client.get("/outcomes/").content.decode()
    row = re.search(rf'<th scope="row">{re.escape(label)}</th><td>(\d+)</td><td>(\d+)</td>', page)
    assert row is not None, f"no row {label!r} on the dashboard"
    return int(row.group(1)), int(row.group(2))


def sign_button(response: Any) -> dict[str, str]:
    """The review page's Sign form as a browser posts it: its one-time key and the fingerprint
    of what it shows, read from the page."""
    import re

    page = response.content.decode()
    form = re.search(r'<form method="post" action="[^"]*/sign/">(.*?)</form>', page, re.S)
    assert form is not None, "the review shows no Sign button"
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(1)))
    return {"token": fields["token"], "fingerprint": fields["fingerprint"]}


def database_url() -> str:
    """The test database as another process reaches it (a second worker of the server)."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
