from django.urls import path

from . import api

urlpatterns = [
    path("models/", api.model_list, name="model-list-api"),
    path("models/<int:pk>/", api.model_detail, name="model-detail-api"),
    path("series/<int:pk>/predictions/", api.series_predictions, name="series-predictions"),
    path("predictions/<int:pk>/labelmap/<int:slice_index>/", api.prediction_labelmap, name="prediction-labelmap"),
    path("predictions/<int:pk>/probability/<int:slice_index>/", api.prediction_probability, name="prediction-probability"),
]
