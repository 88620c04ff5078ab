from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from annotations.models import Series
from inference import actions
from inference.management.worker_runs import add_worker_options, wait_until_finished
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
        add_worker_options(parser, default_timeout_s=1800)

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
        prediction = wait_until_finished(Prediction, prediction.pk, options["timeout"], self.stdout)
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
