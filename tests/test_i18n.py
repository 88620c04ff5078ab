"""Japanese translation: catalogue completeness, compiled catalogue, and pages and API errors in ja."""

import re
import shutil

import polib
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from .conftest import REPO

LOCALE_DIR = REPO / "locale" / "ja" / "LC_MESSAGES"
PO_PATH = LOCALE_DIR / "django.po"
MO_PATH = LOCALE_DIR / "django.mo"
# The folders whose strings the Japanese catalogue covers. tests/, bench/ and docs/ stay out.
SOURCE_FOLDERS = ("annotations", "inference", "pannusmap", "templates")
# printf-style conversions such as %(name)s, %(size).1f and %%, which must survive translation.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


@pytest.fixture(autouse=True)
def reset_language_after_test():
    """Deactivate the language, because LocaleMiddleware leaves the last request's one active."""
    yield
    translation.deactivate()


@pytest.fixture(scope="module")
def catalogue():
    return polib.pofile(str(PO_PATH))


def entry_ids(entries):
    return sorted(entry.msgid for entry in entries)


def test_po_has_no_untranslated_entry(catalogue):
    assert entry_ids(catalogue.untranslated_entries()) == []


def test_po_has_no_fuzzy_entry(catalogue):
    assert entry_ids(catalogue.fuzzy_entries()) == []


def test_po_header_is_japanese(catalogue):
    assert catalogue.metadata["Language"] == "ja"
    assert catalogue.metadata["Plural-Forms"] == "nplurals=1; plural=0;"
    assert not catalogue.metadata_is_fuzzy


def test_translations_keep_placeholders(catalogue):
    changed = []
    for entry in catalogue.translated_entries():
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for text in translations:
            if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(entry.msgid)):
                changed.append((entry.msgid, text))
    assert changed == []


def compiled_pairs(entries):
    pairs = {}
    for entry in entries:
        text = entry.msgstr_plural[0] if entry.msgid_plural else entry.msgstr
        pairs[(entry.msgctxt, entry.msgid)] = text
    return pairs


def test_mo_matches_po(catalogue):
    compiled = polib.mofile(str(MO_PATH))
    assert compiled_pairs(compiled) == compiled_pairs(catalogue.translated_entries()), (
        "locale/ja/LC_MESSAGES/django.mo is older than django.po; run `make messages`."
    )


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext (xgettext) is not installed")
def test_po_covers_source_strings(catalogue, settings, tmp_path, monkeypatch):
    # makemessages writes next to the sources it scans, so it runs on a copy of them.
    for folder in SOURCE_FOLDERS:
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    call_command("makemessages", locale=["ja"], verbosity=0)

    fresh = polib.pofile(str(tmp_path / "locale" / "ja" / "LC_MESSAGES" / "django.po"))
    missing = set(entry_ids(fresh)) - set(entry_ids(catalogue))
    assert sorted(missing) == [], "new strings need Japanese translations; run `make messages`."


@pytest.mark.parametrize(("language", "title"), [("en", "Log in"), ("ja", "ログイン")])
def test_login_page_follows_accept_language(db, language, title):
    response = Client().get(reverse("login"), HTTP_ACCEPT_LANGUAGE=language)
    page = response.content.decode()
    assert f"<h1>{title}</h1>" in page
    assert f'<html lang="{language}">' in page


def test_language_selector_switches_to_japanese(db):
    client = Client()
    response = client.post(reverse("set_language"), {"language": "ja", "next": reverse("login")})
    assert response.status_code == 302
    page = client.get(reverse("login")).content.decode()
    assert "<h1>ログイン</h1>" in page
    assert "ユーザー名" in page


def test_series_list_headers_in_japanese(annotator_a, phantom_series):
    client = Client()
    client.force_login(annotator_a)
    page = client.get(reverse("series-list"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    for header in ("被験者", "説明", "フェーズ数", "スライス数", "最終フェーズ (秒)", "予測"):
        assert f">{header}</th>" in page, header
    assert ">Subject</th>" not in page


def test_unknown_label_error_in_japanese(client_a, phantom_series):
    body = {"slice_index": 1, "label": "tumour", "polygon": [[10, 10], [20, 10], [20, 20]]}
    response = client_a.post(
        f"/api/series/{phantom_series.pk}/rois/", body, format="json", HTTP_ACCEPT_LANGUAGE="ja"
    )
    assert response.status_code == 400
    message = response.json()["label"][0]
    assert message.startswith("不明なラベル 'tumour' です。")
    assert "synovitis" in message


def test_label_names_in_japanese(client_a):
    response = client_a.get("/api/labels/", HTTP_ACCEPT_LANGUAGE="ja")
    names = {label["name"]: label["display_name"] for label in response.json()}
    assert names["synovitis"] == "滑膜炎"
    assert names["muscle"] == "筋肉"


def test_layer_catalogue_in_japanese():
    from inference.api_analysis import translated_catalogue
    from inference.shapes import FAST_WASHOUT

    with translation.override("en"):
        english = {layer["name"]: layer for layer in translated_catalogue()}
    with translation.override("ja"):
        japanese = {layer["name"]: layer for layer in translated_catalogue()}

    legend = {entry["value"]: entry["name"] for entry in japanese["shape_types"]["legend"]}
    assert legend[FAST_WASHOUT] == "急速・ウォッシュアウト型"
    english_names = {entry["name"] for entry in english["shape_types"]["legend"]}
    assert english_names.isdisjoint(legend.values())
    untranslated = [
        name for name, layer in japanese.items()
        if "description" in layer and layer["description"] == english[name]["description"]
    ]
    assert untranslated == []
