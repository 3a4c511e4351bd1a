"""The staff pages' header is kept per user, roles, section and menu counts
(templates/base.html): what each reader sees is still their own, and it follows changes."""

from __future__ import annotations

from typing import Any

from django.test import Client
from web_helpers import acting, signed_in

from spinepath.accounts.services import staff_roles_set

PAGES = ["/patients/", "/worklist/", "/safety/", "/day/", "/bookings/"]


def header(client: Client, path: str = "/patients/") -> str:
    page = client.get(path).content.decode()
    return page[page.index("<header") : page.index("</header>")]


def test_no_template_text_reaches_a_page(clinician_client: Client) -> None:
    for path in PAGES:
        page = clinician_client.get(path).content.decode()
        for syntax in ("{#", "#}", "{%", "%}", "{{", "}}"):
            assert syntax not in page, (path, syntax)


def test_each_reader_sees_their_own_name_roles_and_menu(
    clinician: Any, coordinator: Any, admin_user: Any
) -> None:
    clinician_header = header(signed_in(clinician))
    coordinator_header = header(signed_in(coordinator))
    admin_header = header(signed_in(admin_user))
    assert "Ana Rivera" in clinician_header and "Outcomes" in clinician_header
    assert "Ana Rivera" not in coordinator_header and "coord" in coordinator_header
    assert "Outcomes" not in coordinator_header and "Prices" not in coordinator_header
    assert "Prices" in admin_header and "Audit log" in admin_header


def test_a_patients_pages_mark_the_patients_section(
    clinician_client: Client, candidate_encounter: Any
) -> None:
    """The chart, the search and a consultation are the Patients section (found by the
    walkthrough: it was never marked)."""
    patient = candidate_encounter.patient_id
    for path in (
        "/patients/",
        f"/patients/{patient}/",
        f"/consultations/{candidate_encounter.pk}/review/",
    ):
        assert 'href="/patients/" aria-current="page"' in header(clinician_client, path), path
    assert 'href="/import/" aria-current="page"' in header(clinician_client, "/import/")


def test_the_section_shown_as_current_follows_the_page(clinician_client: Client) -> None:
    assert 'href="/safety/" aria-current="page"' in header(clinician_client, "/safety/")
    bookings = header(clinician_client, "/bookings/")
    assert 'href="/bookings/" aria-current="page"' in bookings
    assert 'href="/safety/" aria-current="page"' not in bookings


def test_a_changed_role_changes_the_menu_at_once(
    clinician: Any, coordinator: Any, admin_user: Any
) -> None:
    client = signed_in(coordinator)
    assert "Outcomes" not in header(client)
    staff_roles_set(
        actor=acting(admin_user), user_id=coordinator.pk, roles=["coordinator", "clinician"]
    )
    changed = header(client)
    assert "Outcomes" in changed and "clinician" in changed


def test_each_response_carries_its_own_sign_out_token(clinician: Any) -> None:
    first, second = signed_in(clinician), signed_in(clinician)
    tokens = set()
    for client in (first, second):
        page = header(client)
        start = page.index('name="csrfmiddlewaretoken" value="') + 34
        tokens.add(page[start : page.index('"', start)])
    assert len(tokens) == 2
    # The sign-out form posts with it.
    response = first.post("/accounts/logout/", {"csrfmiddlewaretoken": sorted(tokens)[0]})
    assert response.status_code in (200, 302)


def test_names_that_differ_only_in_where_a_colon_falls_are_told_apart(clinician: Any) -> None:
    from django.contrib.auth.models import User

    client = signed_in(clinician)
    User.objects.filter(pk=clinician.pk).update(first_name="A:B", last_name="C")
    assert "A:B C" in header(client)
    User.objects.filter(pk=clinician.pk).update(first_name="A", last_name="B:C")
    assert "A B:C" in header(client)
