import time

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from annotations.models import Series
from inference import actions
from inference.models import JobStatus, ModelVersion, Prediction
from pannusmap.commands import TranslatedCommand
from pannusmap.errors import UserError


class Command(TranslatedCommand):
    help_text = gettext_lazy(
        "Classify every voxel of a series with a trained model, as a worker task."
    )

    def add_arguments(self, parser):
        parser.add_argument("series", type=int, help=gettext_lazy("Series id."))
        parser.add_argument(
            "--model",
            type=int,
            default=None,
            help=gettext_lazy("Model version id (default: newest finished)."),
        )
        parser.add_argument(
            "--in-process",
            action="store_true",
            help=gettext_lazy("Run here instead of in a worker."),
        )
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help=gettext_lazy("Queue the task and return at once."),
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=1800,
            help=gettext_lazy("Seconds to wait for the worker (default 1800)."),
        )

    def handle(self, *args, **options):
        series = Series.objects.filter(pk=options["series"]).first()
        if series is None:
            raise CommandError(_("Series %(id)s does not exist.") % {"id": options["series"]})
        models = ModelVersion.objects.filter(status=JobStatus.DONE)
        model_version = (
            models.filter(pk=options["model"]).first() if options["model"] else models.first()
        )
        if model_version is None:
            raise CommandError(
                _("No finished model version found. Train one first with `manage.py train`.")
            )
        try:
            if options["in_process"]:
                from inference import jobs

                prediction = actions.create_prediction(series, model_version)
                jobs.run_prediction(prediction.pk)
            else:
                prediction = actions.start_prediction(series, model_version)
        except UserError as error:
            raise CommandError(error.message) from None
        if options["no_wait"]:
            self.stdout.write(_("Prediction %(id)s queued.") % {"id": prediction.pk})
            return
        deadline = time.monotonic() + options["timeout"]
        while time.monotonic() < deadline:
            prediction = Prediction.objects.get(pk=prediction.pk)
            if prediction.status in (JobStatus.DONE, JobStatus.FAILED):
                break
            time.sleep(1)
        if prediction.status != JobStatus.DONE:
            raise CommandError(
                _("Prediction %(id)s is %(status)s. %(error)s")
                % {"id": prediction.pk, "status": prediction.status, "error": prediction.error}
            )
        self.stdout.write(
            _("Prediction %(id)s of series %(series)s with model %(model)s done.")
            % {"id": prediction.pk, "series": series.pk, "model": model_version.pk}
        )
        for summary in prediction.joint_summaries:
            self.stdout.write(
                f"  {summary['name']} ({summary['side']}): {summary['synovitis_volume_mm3']:.1f} mm³"
            )
