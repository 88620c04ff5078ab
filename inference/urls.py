from django.urls import path

from . import views

urlpatterns = [
    path("models/", views.model_list, name="model-list"),
    path("models/train/", views.start_training, name="start-training"),
    path("models/<int:pk>/", views.model_detail, name="model-detail"),
    path("models/<int:pk>/predict/", views.predict_all, name="predict-all"),
    path("review/", views.review_summary, name="review-summary"),
    path("export/dataset.zip", views.export_download, name="export-dataset"),
]
