from django.urls import path

from . import views

urlpatterns = [
    path("", views.series_list, name="series-list"),
    path("series/<int:pk>/", views.series_viewer, name="series-viewer"),
    path("series/<int:pk>/review/", views.series_review, name="series-review"),
    path("import/", views.import_upload, name="import-upload"),
    path("import/<int:pk>/", views.import_job, name="import-job"),
]
