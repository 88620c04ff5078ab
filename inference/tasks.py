"""Procrastinate tasks: long work runs in the worker, never in a web request.

Each task takes the id of a record that already exists and is idempotent: a retried job whose
record is done returns at once. The heavy modules are imported inside the tasks, so that loading
the Django apps (which imports this module) stays fast and needs no torch.
"""

from procrastinate.contrib.django import app


@app.task(queue="training", retry=1)
def train_model(model_version_id: int):
    from . import jobs

    jobs.run_training(model_version_id)


@app.task(queue="prediction", retry=2)
def predict_series(prediction_id: int):
    from . import jobs

    jobs.run_prediction(prediction_id)


@app.task(queue="imports", retry=0)
def import_upload(
    import_job_id: int,
    partial_phase: str = "drop",
    deidentify: bool = False,
    philips_scaling: str = "displayed",
):
    from annotations.imports import fail_import_job, import_options, run_import_job

    try:
        options = import_options(
            partial_phase=partial_phase, deidentify=deidentify, philips_scaling=philips_scaling
        )
    except ValueError as error:
        fail_import_job(import_job_id, error)
        return
    run_import_job(import_job_id, options)


@app.task(queue="analysis", retry=1)
def analyse_series(analysis_id: int):
    from .analysis import run_analysis

    run_analysis(analysis_id)
