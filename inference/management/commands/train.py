from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from inference import actions
from inference.management.worker_runs import add_worker_options, wait_until_finished
from inference.models import JobStatus, ModelVersion
from inference.reports import format_report
from pannusmap.commands import TranslatedCommand
from pannusmap.errors import UserError


class Command(TranslatedCommand):
    help_text = gettext_lazy(
        "Train a TIC classifier on all current ROIs with cross-validation split by subject, as a "
        "worker task, and print its report."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--architecture",
            default="tic_cnn1d",
            help=gettext_lazy("tic_cnn1d (default) or resnet50_2d."),
        )
        parser.add_argument(
            "--epochs",
            type=int,
            default=None,
            help=gettext_lazy("Training epochs (default: the architecture's own)."),
        )
        parser.add_argument(
            "--folds",
            type=int,
            default=None,
            help=gettext_lazy("Cross-validation folds, grouped by subject."),
        )
        add_worker_options(parser, default_timeout_s=3600)

    def handle(self, *args, **options):
        hyperparameters = {
            key: options[key] for key in ("epochs", "folds") if options[key] is not None
        }
        user = User.objects.filter(is_superuser=True).order_by("pk").first()
        try:
            if options["in_process"]:
                from inference import jobs

                model_version = actions.create_model_version(
                    user, options["architecture"], **hyperparameters
                )
                jobs.run_training(model_version.pk)
            else:
                model_version = actions.start_training(
                    user, options["architecture"], **hyperparameters
                )
        except UserError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            _("Model version %(id)s: training on %(count)s TICs.")
            % {"id": model_version.pk, "count": model_version.training_set.tic_count}
        )
        if options["no_wait"]:
            return
        model_version = wait_until_finished(
            ModelVersion, model_version.pk, options["timeout"], self.stdout
        )
        if model_version.status == JobStatus.FAILED:
            raise CommandError(_("Training failed: %(error)s") % {"error": model_version.error})
        self.stdout.write(format_report(model_version.report, model_version.classes))
