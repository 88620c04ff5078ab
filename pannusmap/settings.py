"""Django settings for PannusMap.

Every deployment-specific value comes from the environment, so the same file serves the demo
(`make run`), the test suite and a production server (docker/compose.yaml).
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use 1/0, true/false or yes/no.")


def _env_int(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None


DEBUG = _env_bool("PANNUSMAP_DEBUG", False)
SECRET_KEY = os.environ.get("PANNUSMAP_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and os.environ.get("PANNUSMAP_ALLOW_INSECURE_KEY") != "1":
        raise ImproperlyConfigured(
            "PANNUSMAP_SECRET_KEY is not set. Set it to a long random string, "
            "or set PANNUSMAP_DEBUG=1 for a local demo."
        )
    SECRET_KEY = "insecure-local-demo-key-do-not-use-in-production"

ALLOWED_HOSTS = os.environ.get("PANNUSMAP_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
CSRF_TRUSTED_ORIGINS = [
    origin for origin in os.environ.get("PANNUSMAP_CSRF_TRUSTED_ORIGINS", "").split(",") if origin
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "procrastinate.contrib.django",
    "annotations",
    "inference.apps.InferenceConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "pannusmap.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "annotations.context.roles",
            ],
        },
    },
]

WSGI_APPLICATION = "pannusmap.wsgi.application"

if not os.environ.get("DATABASE_URL"):
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Use `make run` (it starts a private PostgreSQL under var/), or "
        "set it, e.g. DATABASE_URL=postgresql://user:password@127.0.0.1:5432/pannusmap."
    )
DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point to PostgreSQL (postgresql://...).")
# One test database per test process, so that several test runs can share one server.
DATABASES["default"]["TEST"] = {
    "NAME": os.environ.get(
        "PANNUSMAP_TEST_DATABASE", f"test_{DATABASES['default']['NAME']}_{os.getpid()}"
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = os.environ.get("PANNUSMAP_LANGUAGE", "en")
LANGUAGES = [("en", _("English")), ("ja", _("Japanese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("PANNUSMAP_TIME_ZONE", "Asia/Tokyo")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("PANNUSMAP_STATIC_ROOT", BASE_DIR / "var" / "static"))
STATICFILES_DIRS = [BASE_DIR / "frontend" / "dist"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_MIMETYPES = {".wasm": "application/wasm", ".mjs": "text/javascript"}
# Lets the test server and `runserver` serve the Vite build straight from frontend/dist.
WHITENOISE_USE_FINDERS = True

MEDIA_ROOT = Path(os.environ.get("PANNUSMAP_DATA_DIR", BASE_DIR / "var" / "data"))

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "series-list"
LOGOUT_REDIRECT_URL = "login"

# Browser uploads of whole studies stream to temporary files above this size, so a study of
# hundreds of MB never sits in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = _env_int("PANNUSMAP_MAX_JSON_BYTES", 8 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FILES = _env_int("PANNUSMAP_MAX_UPLOAD_FILES", 20000)
PANNUSMAP_MAX_UPLOAD_BYTES = _env_int("PANNUSMAP_MAX_UPLOAD_BYTES", 4 * 1024**3)
# Scheme, host and port that clients use to reach this server, for links in DICOMweb responses;
# empty means the request's Host header.
PANNUSMAP_PUBLIC_URL = os.environ.get("PANNUSMAP_PUBLIC_URL", "")
PANNUSMAP_MAX_ROI_POINTS = _env_int("PANNUSMAP_MAX_ROI_POINTS", 5000)
# ZIP archives that would expand beyond this, or hold more entries, are rejected unopened.
PANNUSMAP_MAX_UNCOMPRESSED_BYTES = _env_int("PANNUSMAP_MAX_UNCOMPRESSED_BYTES", 8 * 1024**3)
PANNUSMAP_MAX_ARCHIVE_ENTRIES = _env_int("PANNUSMAP_MAX_ARCHIVE_ENTRIES", 100_000)
# Secret mixed into de-identification pseudonyms, so that they cannot be recomputed from a
# known PatientID; set it once per site and keep it.
PANNUSMAP_PSEUDONYM_SALT = os.environ.get("PANNUSMAP_PSEUDONYM_SALT", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        # Scripts may also send a user name and password; the browser uses its session.
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "annotations.api.errors.handle_api_exception",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PannusMap API",
    "DESCRIPTION": "DCE-MRI series, ROIs, TICs, models, predictions and per-joint grades.",
    "VERSION": "0.1.0",
    "PREPROCESSING_HOOKS": ["pannusmap.schema.api_paths_only"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PANNUSMAP_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django adds its own console handler in DEBUG; without this every line appears twice.
        "django": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        "procrastinate": {"level": "WARNING"},
    },
}
