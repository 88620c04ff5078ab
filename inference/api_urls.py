from django.urls import path

from . import api, api_analysis

urlpatterns = [
    path("models/", api.model_list, name="model-list-api"),
    path("models/<int:pk>/", api.model_detail, name="model-detail-api"),
    path("series/<int:pk>/predictions/", api.series_predictions, name="series-predictions"),
    path(
        "predictions/<int:pk>/labelmap/<int:slice_index>/",
        api.prediction_labelmap,
        name="prediction-labelmap",
    ),
    path(
        "predictions/<int:pk>/probability/<int:slice_index>/",
        api.prediction_probability,
        name="prediction-probability",
    ),
    path("series/<int:pk>/analyses/", api_analysis.series_analyses, name="series-analyses"),
    path("analyses/<int:pk>/", api_analysis.analysis_detail, name="analysis-detail"),
    path(
        "analyses/<int:pk>/layers/<str:name>/<int:slice_index>/",
        api_analysis.analysis_layer,
        name="analysis-layer",
    ),
    path("joints/<int:pk>/curve/", api_analysis.joint_curve, name="joint-curve"),
]
