"""Shared fixtures: personas, API clients, media folder, a small imported phantom series, a worker.

Every test runs against the real PostgreSQL server of DATABASE_URL (pytest-django creates and
drops a test database there).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from rest_framework.test import APIClient

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
PASSWORD = "correct-horse-battery-staple"

# A small phantom keeps API and task tests fast while keeping the full timing (27 phases, 15 s).
SMALL_GEOMETRY = {
    "phases": 27,
    "slices": 6,
    "rows": 96,
    "columns": 96,
    "pixel_spacing_mm": 160.0 / 96,
}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "data"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def reference_data(db):
    """Labels and role groups; a transactional test's flush removes what the migration created."""
    from annotations.models import Label
    from annotations.reference import ensure_reference_data

    ensure_reference_data(Label, Group)


def make_user(username, role=None):
    from annotations.models import Label
    from annotations.reference import ensure_reference_data

    ensure_reference_data(Label, Group)
    user = User.objects.create_user(username=username, password=PASSWORD)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def annotator_a(db):
    return make_user("anna", "annotator")


@pytest.fixture
def annotator_b(db):
    return make_user("ben", "annotator")


@pytest.fixture
def reviewer(db):
    return make_user("rika", "reviewer")


@pytest.fixture
def admin_user(db):
    return make_user("ada", "admin")


@pytest.fixture
def outsider(db):
    return make_user("oscar")


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def client_a(annotator_a):
    return client_for(annotator_a)


@pytest.fixture
def client_b(annotator_b):
    return client_for(annotator_b)


@pytest.fixture(scope="session")
def phantom_cohort(tmp_path_factory):
    """Two small phantom subjects on disk (DICOM + ground truth), generated once per session."""
    from inference.phantom import PhantomGeometry
    from inference.phantom_dicom import write_cohort

    out = tmp_path_factory.mktemp("phantom")
    write_cohort(out, 2, seed=11, geometry=PhantomGeometry(**SMALL_GEOMETRY))
    return out


def import_subject(subject_dir):
    from annotations.imports import import_dicom
    from annotations.models import Series

    _result, outcomes = import_dicom([subject_dir / "dicom"])
    return Series.objects.get(pk=outcomes[0]["id"])


@pytest.fixture
def phantom_series(reference_data, phantom_cohort):
    """The first phantom subject, imported into the test database."""
    return import_subject(phantom_cohort / "PH001")


@pytest.fixture
def worker_env(db, settings):
    """Environment for a real procrastinate worker process on the test database and media folder."""
    database = connection.settings_dict
    host = database["HOST"] or ""
    url = os.environ["DATABASE_URL"]
    prefix, _slash, _name = url.rpartition("/")
    env = dict(
        os.environ,
        DATABASE_URL=f"{prefix}/{database['NAME']}",
        PANNUSMAP_DATA_DIR=str(settings.MEDIA_ROOT),
    )
    assert host is not None
    return env


def run_worker_until_idle(env, timeout=600):
    """Run `manage.py procrastinate worker --one-shot`: it processes queued jobs, then exits."""
    result = subprocess.run(
        [sys.executable, "manage.py", "procrastinate", "worker", "--one-shot"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result
