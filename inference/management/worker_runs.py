"""Worker options and record polling shared by the `train` and `predict` commands."""

import time

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from inference.models import JobStatus


def add_worker_options(parser, default_timeout_s):
    parser.add_argument(
        "--in-process",
        action="store_true",
        help=gettext_lazy(
            "Run here instead of in a worker (for scripts without a running worker)."
        ),
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help=gettext_lazy("Queue the task and return at once."),
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=default_timeout_s,
        help=gettext_lazy("Seconds to wait for the worker (default %(default)s)."),
    )


def wait_until_finished(model_class, pk, timeout_s, stdout):
    """Poll a record with status and progress until it is done or failed; print progress changes."""
    deadline = time.monotonic() + timeout_s
    last_message = None
    while time.monotonic() < deadline:
        record = model_class.objects.get(pk=pk)
        if record.status in (JobStatus.DONE, JobStatus.FAILED):
            return record
        message = f"{record.get_status_display()} {record.progress:.0%} {getattr(record, 'progress_message', '')}"
        if message != last_message:
            stdout.write(message.strip())
            last_message = message
        time.sleep(1)
    raise CommandError(
        _("The task did not finish within %(seconds)s s. Is a worker running (`make worker`)?")
        % {"seconds": timeout_s}
    )
