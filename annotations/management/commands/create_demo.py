from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from annotations import demo
from annotations.imports import import_dicom
from pannusmap.commands import TranslatedCommand


class Command(TranslatedCommand):
    help_text = gettext_lazy(
        "Build the demo: generate a phantom hand DCE-MRI cohort, import it, create demo accounts, "
        "joint regions and ROIs generated from the ground truth."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--subjects",
            type=int,
            default=4,
            help=gettext_lazy("Number of phantom subjects (default 4)."),
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=2022,
            help=gettext_lazy("Random seed of the cohort (default 2022)."),
        )
        parser.add_argument(
            "--out",
            type=Path,
            default=None,
            help=gettext_lazy("Folder for the cohort (default: DATA_DIR/demo_cohort)."),
        )
        parser.add_argument(
            "--phases",
            type=int,
            default=27,
            help=gettext_lazy("Phases per subject (default 27, 15 s apart)."),
        )
        parser.add_argument(
            "--slices", type=int, default=12, help=gettext_lazy("Slices per subject (default 12).")
        )
        parser.add_argument(
            "--matrix",
            type=int,
            default=192,
            help=gettext_lazy("Rows and columns per slice (default 192)."),
        )

    def handle(self, *args, **options):
        from inference.phantom import PhantomGeometry
        from inference.phantom_dicom import write_cohort

        out = options["out"] or Path(settings.MEDIA_ROOT) / "demo_cohort"
        geometry = PhantomGeometry(
            phases=options["phases"],
            slices=options["slices"],
            rows=options["matrix"],
            columns=options["matrix"],
            pixel_spacing_mm=160.0 / options["matrix"],
        )
        if not (out / "cohort.json").exists():
            self.stdout.write(
                _("Generating %(n)s phantom subjects in %(out)s …")
                % {"n": options["subjects"], "out": out}
            )
            write_cohort(out, options["subjects"], options["seed"], geometry)
        subject_dirs = sorted(path for path in out.iterdir() if (path / "dicom").is_dir())
        for subject_dir in subject_dirs:
            _result, outcomes = import_dicom([subject_dir / "dicom"])
            for outcome in outcomes:
                self.stdout.write(
                    _("Series %(id)s from %(subject)s: %(shape)s")
                    % {
                        "id": outcome["id"],
                        "subject": subject_dir.name,
                        "shape": " × ".join(map(str, outcome["shape"])),
                    }
                )
        accounts = demo.create_accounts()
        for subject, series_id, joints, rois in demo.prepare_demo_series(out, options["seed"]):
            self.stdout.write(
                _(
                    "%(subject)s (series %(id)s): %(joints)s joint regions and %(rois)s generated ROIs added"
                )
                % {"subject": subject, "id": series_id, "joints": joints, "rois": rois}
            )
        self.stdout.write(_("Demo accounts (username / password / role):"))
        for username, role, password in accounts:
            self.stdout.write(f"  {username} / {password} / {role}")
