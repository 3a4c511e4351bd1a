"""MRI studies from DICOM: a folder, a .zip and a DICOMDIR; the files' patient must be the
record's; only an MRI; a corrupt file named; the same study twice changes nothing; the date
comes from the files and is never typed; the study arrives unreviewed."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from dicom_helpers import study_files, with_dicomdir, zipped
from web_helpers import acting, signed_in

from spinepath.cli import main as cli
from spinepath.consultations.actions import dicom_study_import, study_save
from spinepath.consultations.dicom import DicomProblem, read_path
from spinepath.consultations.models import ImagingStudy
from spinepath.errors import Invalid, NotAllowed
from spinepath.patients.models import Patient
from spinepath.patients.services import patient_create


@pytest.fixture
def patient(db: Any) -> Patient:
    return patient_create(
        actor=acting(None),
        details={
            "given_name": "María",
            "family_name": "López",
            "birth_date": date(1961, 4, 30),
            "sex": "female",
        },
    )


def only(path: Path) -> Any:
    studies = read_path(path)
    assert len(studies) == 1
    return studies[0]


@pytest.mark.parametrize("form", ["folder", "zip", "dicomdir"])
def test_a_study_is_recorded_unreviewed_with_the_files_date(
    form: str, patient: Patient, coordinator: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "study"
    uid = study_files(folder, series=3, instances=4)
    path = {
        "folder": folder,
        "zip": zipped(folder, tmp_path / "study.zip"),
        "dicomdir": with_dicomdir(folder, tmp_path / "disc"),
    }[form]
    record, created = dicom_study_import(
        patient=patient, study=only(path), actor=acting(coordinator)
    )
    assert created and record.study_uid == uid
    assert (record.modality, record.performed_on, record.reviewed) == (
        "MRI",
        date(2026, 10, 20),
        False,
    )
    assert [s["instances"] for s in record.series] == [4, 4, 4]
    assert record.body_part == "LSPINE" and "LUMBAR" in record.description


def test_the_same_study_twice_changes_nothing(
    patient: Patient, coordinator: Any, tmp_path: Path
) -> None:
    study_files(tmp_path / "s")
    first, created = dicom_study_import(
        patient=patient, study=only(tmp_path / "s"), actor=acting(coordinator)
    )
    again, created_again = dicom_study_import(
        patient=patient, study=only(tmp_path / "s"), actor=acting(coordinator)
    )
    assert created and not created_again and first.pk == again.pk
    assert ImagingStudy.objects.count() == 1


def test_another_patients_files_are_refused_naming_each_field(
    patient: Patient, coordinator: Any, tmp_path: Path
) -> None:
    study_files(tmp_path / "s", name="Smith^John", birth=date(1950, 1, 2), sex="M")
    with pytest.raises(Invalid) as refused:
        dicom_study_import(patient=patient, study=only(tmp_path / "s"), actor=acting(coordinator))
    text = " ".join(refused.value.reasons)
    assert "patient name" in text and "birth date" in text and "sex" in text
    assert not ImagingStudy.objects.exists()


def test_names_match_without_accents_or_case(
    patient: Patient, coordinator: Any, tmp_path: Path
) -> None:
    study_files(tmp_path / "s", name="LOPEZ^MARIA^^^")
    _record, created = dicom_study_import(
        patient=patient, study=only(tmp_path / "s"), actor=acting(coordinator)
    )
    assert created


def test_only_an_mri_is_imported(patient: Patient, coordinator: Any, tmp_path: Path) -> None:
    study_files(tmp_path / "ct", modality="CT")
    with pytest.raises(Invalid, match="not an MRI"):
        dicom_study_import(patient=patient, study=only(tmp_path / "ct"), actor=acting(coordinator))


def test_files_without_a_study_date_are_refused(
    patient: Patient, coordinator: Any, tmp_path: Path
) -> None:
    study_files(tmp_path / "s", study_date=None)
    with pytest.raises(Invalid, match="study date"):
        dicom_study_import(patient=patient, study=only(tmp_path / "s"), actor=acting(coordinator))


def test_a_corrupt_file_is_named(tmp_path: Path) -> None:
    study_files(tmp_path / "s", series=1, instances=2)
    victim = sorted((tmp_path / "s").glob("*.dcm"))[0]
    victim.write_bytes(victim.read_bytes()[:300])
    with pytest.raises(DicomProblem, match=victim.name):
        read_path(tmp_path / "s")
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DicomProblem):
        read_path(tmp_path / "bad.zip")


def test_the_date_of_an_imported_study_is_never_typed(
    patient: Patient, coordinator: Any, clinician: Any, tmp_path: Path
) -> None:
    study_files(tmp_path / "s")
    record, _ = dicom_study_import(
        patient=patient, study=only(tmp_path / "s"), actor=acting(coordinator)
    )
    with pytest.raises(Invalid, match="come from its files"):
        study_save(
            patient=patient,
            actor=acting(clinician),
            study_id=record.pk,
            fields={"performed_on": date(2026, 11, 20)},
        )
    # A coordinator never states findings or the review, whatever the study's origin.
    with pytest.raises(NotAllowed):
        study_save(
            patient=patient, actor=acting(coordinator), study_id=record.pk, fields={}, attest=True
        )


def test_the_command_line_imports_and_names_what_is_wrong(
    patient: Patient, coordinator: Any, tmp_path: Path, capsys: Any
) -> None:
    study_files(tmp_path / "s")
    args = ["import-dicom", str(tmp_path / "s"), "--patient", patient.mrn, "--by", "coord"]
    assert cli(args) == 0
    assert "recorded" in capsys.readouterr().out
    assert cli(args) == 0
    assert "nothing changed" in capsys.readouterr().out
    study_files(tmp_path / "other", name="Smith^John")
    assert (
        cli(["import-dicom", str(tmp_path / "other"), "--patient", patient.mrn, "--by", "coord"])
        == 2
    )
    assert "patient name" in capsys.readouterr().err
    assert cli(["import-dicom", str(tmp_path / "s"), "--patient", "NOPE", "--by", "coord"]) == 2
    assert "--patient" in capsys.readouterr().err


def test_the_imaging_step_imports_a_zip_and_names_a_mismatch(
    coordinator: Any, coordinator_client: Any, tmp_path: Path
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from web_helpers import start

    encounter = start(coordinator_client, coordinator)
    patient = encounter.patient
    Patient.objects.filter(pk=patient.pk).update(birth_date=date(1961, 4, 30), sex="female")
    study_files(tmp_path / "s")
    archive = zipped(tmp_path / "s", tmp_path / "s.zip").read_bytes()
    url = f"/consultations/{encounter.pk}/imaging/dicom/"
    done = coordinator_client.post(
        url, {"files": SimpleUploadedFile("study.zip", archive)}, follow=True
    )
    assert b"imported from DICOM" in done.content
    assert b"not reviewed" in done.content
    study = ImagingStudy.objects.get(patient=patient)
    assert study.reviewed is False and study.performed_on == date(2026, 10, 20)
    study_files(tmp_path / "other", name="Smith^John")
    other = zipped(tmp_path / "other", tmp_path / "o.zip").read_bytes()
    refused = coordinator_client.post(
        url, {"files": SimpleUploadedFile("o.zip", other)}, follow=True
    )
    assert b"Nothing was imported" in refused.content and b"patient name" in refused.content
    assert ImagingStudy.objects.filter(patient=patient).count() == 1
    empty = coordinator_client.post(url, {}, follow=True)
    assert b"Choose the DICOM files" in empty.content


def test_only_the_dicom_upload_may_send_a_large_body() -> None:
    from spinepath.site.server import Gate

    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b""]

    gate = Gate(app, max_body=2 * 2**20, trusted_proxy=None, max_upload=2**30)
    statuses: list[str] = []

    def call(path: str, method: str = "POST") -> str:
        environ = {"CONTENT_LENGTH": str(50 * 2**20), "REQUEST_METHOD": method, "PATH_INFO": path}
        gate(environ, lambda status, headers: statuses.append(status))
        return statuses[-1]

    assert call("/consultations/12/imaging/dicom/").startswith("200")
    assert call("/consultations/12/imaging/").startswith("413")
    assert call("/patients/").startswith("413")
    assert call("/consultations/12/imaging/dicom/extra").startswith("413")


def test_a_study_whose_files_name_two_patients_is_refused(
    patient: Patient, coordinator: Any, tmp_path: Path
) -> None:
    uid = study_files(tmp_path / "s", series=1, instances=2)
    study_files(tmp_path / "s2", name="Carter^James", series=1, instances=1, study_uid=uid)
    for path in (tmp_path / "s2").glob("*.dcm"):
        path.rename(tmp_path / "s" / f"x-{path.name}")
    with pytest.raises(Invalid, match="more than one patient"):
        dicom_study_import(patient=patient, study=only(tmp_path / "s"), actor=acting(coordinator))
    assert not ImagingStudy.objects.exists()


def test_a_study_with_another_modality_beside_the_mri_is_refused(
    patient: Patient, coordinator: Any, tmp_path: Path
) -> None:
    uid = study_files(tmp_path / "s", series=1, instances=1)
    study_files(tmp_path / "ct", modality="CT", series=1, instances=1, study_uid=uid)
    for path in (tmp_path / "ct").glob("*.dcm"):
        path.rename(tmp_path / "s" / f"ct-{path.name}")
    with pytest.raises(Invalid, match="not an MRI alone"):
        dicom_study_import(patient=patient, study=only(tmp_path / "s"), actor=acting(coordinator))


def test_files_without_a_given_name_are_refused_without_echoing_them(
    patient: Patient, coordinator: Any, tmp_path: Path
) -> None:
    study_files(tmp_path / "s", name="LOPEZ", sex="")
    with pytest.raises(Invalid) as refused:
        dicom_study_import(patient=patient, study=only(tmp_path / "s"), actor=acting(coordinator))
    assert "family and given names" in " ".join(refused.value.reasons)
    study_files(tmp_path / "o", name="Carter^James")
    with pytest.raises(Invalid) as other:
        dicom_study_import(patient=patient, study=only(tmp_path / "o"), actor=acting(coordinator))
    assert "Carter" not in " ".join(other.value.reasons)


def test_an_encrypted_or_damaged_archive_is_named(tmp_path: Path) -> None:
    study_files(tmp_path / "s", series=1, instances=1)
    archive = zipped(tmp_path / "s", tmp_path / "s.zip")
    data = bytearray(archive.read_bytes())
    data[6] |= 0x1  # the local header's "encrypted" flag
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 0x1
    (tmp_path / "enc.zip").write_bytes(bytes(data))
    with pytest.raises(DicomProblem, match="encrypted"):
        read_path(tmp_path / "enc.zip")


def test_an_mri_arriving_after_the_signature_goes_into_the_next_consultation(
    clinician: Any, coordinator: Any, candidate_encounter: Any, tmp_path: Path, capsys: Any
) -> None:
    """PATHWAY.md section 9: new information does not wait for a locked record. A patient told
    what they need comes back with an MRI dated before the signed review day: it is filed on
    their record and into the next consultation (opened today, then joined); the signed one
    stays exactly as it was signed; nothing is offered until a clinician reviews the new MRI."""
    from spinepath.consultations.actions import decision_sign, study_review
    from spinepath.consultations.models import Encounter
    from spinepath.consultations.selectors import decision_in_force
    from spinepath.consultations.workup import workup_document
    from spinepath.plans.pricing import pricing_problem

    signed_encounter = candidate_encounter
    patient = signed_encounter.patient
    signed = decision_sign(encounter=signed_encounter, actor=acting(clinician), token="n" * 24)
    as_signed = workup_document(signed_encounter)
    assert pricing_problem(patient) is None
    study_files(tmp_path / "new", birth=date(1970, 5, 1), study_date=date(2026, 11, 1))
    args = ["import-dicom", str(tmp_path / "new"), "--patient", patient.mrn, "--by", "coord"]
    assert cli(args) == 0
    assert "recorded" in capsys.readouterr().out
    newest = Encounter.objects.filter(patient=patient).order_by("-id").first()
    assert newest.pk != signed_encounter.pk and newest.status == Encounter.IN_PROGRESS
    study = ImagingStudy.objects.get(study_uid__isnull=False)
    assert study.filed_into == newest and study.reviewed is False
    # The signed consultation stays as signed; the next one holds the new MRI.
    signed_encounter.refresh_from_db()
    assert workup_document(signed_encounter) == as_signed
    assert len(workup_document(newest)["imaging"]) == len(as_signed["imaging"]) + 1
    assert decision_in_force(patient).signed == signed
    # Nothing is offered on an MRI no clinician has read.
    assert "MRI" in (pricing_problem(patient) or "")
    # A second study joins the same consultation.
    study_files(tmp_path / "more", birth=date(1970, 5, 1), study_date=date(2026, 10, 30))
    more, created = dicom_study_import(
        patient=patient, study=only(tmp_path / "more"), actor=acting(coordinator)
    )
    assert created and more.filed_into == newest
    assert Encounter.objects.filter(patient=patient).count() == 2
    # A clinician reviews it, through the new consultation; the gates open again.
    for record in (study, more):
        study_review(through=newest, patient=patient, study_id=record.pk, actor=acting(clinician))
    assert pricing_problem(patient) is None
    assert workup_document(signed_encounter) == as_signed


def test_an_upload_on_a_signed_consultations_page_goes_into_the_next_one(
    clinician: Any, clinician_client: Any, candidate_encounter: Any, tmp_path: Path
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from spinepath.consultations.actions import decision_sign
    from spinepath.consultations.models import Encounter

    decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="u" * 24)
    study_files(tmp_path / "s", birth=date(1970, 5, 1), study_date=date(2026, 11, 2))
    archive = zipped(tmp_path / "s", tmp_path / "s.zip").read_bytes()
    done = clinician_client.post(
        f"/consultations/{candidate_encounter.pk}/imaging/dicom/",
        {"files": SimpleUploadedFile("study.zip", archive)},
        follow=True,
    )
    page = done.content.decode()
    newest = Encounter.objects.exclude(pk=candidate_encounter.pk).get()
    assert "is signed and stays as it was signed" in page
    assert f"filed into the consultation of {newest.assessed_on:%Y-%m-%d}" in page
    assert done.redirect_chain[-1][0] == f"/consultations/{newest.pk}/imaging/"
    assert ImagingStudy.objects.get(study_uid__isnull=False).filed_into == newest
    # The signed consultation's page says where the study belongs.
    signed_page = clinician_client.get(f"/consultations/{candidate_encounter.pk}/imaging/")
    assert (
        f"part of the consultation of {newest.assessed_on:%Y-%m-%d}" in signed_page.content.decode()
    )


def test_an_older_mri_arriving_late_stops_the_plan_until_reviewed(
    clinician: Any, coordinator: Any, candidate_encounter: Any, tmp_path: Path, capsys: Any
) -> None:
    """Found by the attack: an MRI dated before the one the decision rests on, arriving after
    the signature, was never the newest, so plans went on while no clinician had read it."""
    from spinepath.consultations.actions import decision_sign
    from spinepath.plans.pricing import pricing_problem

    patient = candidate_encounter.patient
    signed = decision_sign(encounter=candidate_encounter, actor=acting(clinician), token="o" * 24)
    study_files(tmp_path / "old", birth=date(1970, 5, 1), study_date=date(2026, 7, 1))
    args = ["import-dicom", str(tmp_path / "old"), "--patient", patient.mrn, "--by", "coord"]
    assert cli(args) == 0
    assert "filed into the consultation of" in capsys.readouterr().out
    assert "arrived after the decision was signed" in (pricing_problem(patient) or "")
    page = signed_in(clinician).get(f"/decisions/{signed.pk}/").content.decode()
    assert "Write the plan" not in page and "arrived after the decision was signed" in page
    chart = signed_in(clinician).get(f"/patients/{patient.pk}/").content.decode()
    assert "on hold" in chart and "not in force" not in chart
