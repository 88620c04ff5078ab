from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InferenceConfig(AppConfig):
    """Django side of the numerical core: training sets, model versions, predictions, tasks."""

    name = "inference"
    verbose_name = _("Training and prediction")
