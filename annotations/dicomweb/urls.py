from django.urls import path

from . import views

STUDY = "studies/<str:study>"
SERIES = STUDY + "/series/<str:series>"
INSTANCE = SERIES + "/instances/<str:instance>"

urlpatterns = [
    path("health", views.HealthView.as_view(), name="dicomweb-health"),
    path("studies", views.StudiesView.as_view(), name="dicomweb-studies"),
    path("series", views.AllSeriesView.as_view(), name="dicomweb-all-series"),
    path("instances", views.AllInstancesView.as_view(), name="dicomweb-all-instances"),
    path(STUDY, views.StudyView.as_view(), name="dicomweb-study"),
    path(STUDY + "/metadata", views.StudyMetadataView.as_view(), name="dicomweb-study-metadata"),
    path(STUDY + "/series", views.StudySeriesView.as_view(), name="dicomweb-study-series"),
    path(STUDY + "/instances", views.StudyInstancesView.as_view(), name="dicomweb-study-instances"),
    path(SERIES, views.SeriesView.as_view(), name="dicomweb-series"),
    path(SERIES + "/metadata", views.SeriesMetadataView.as_view(), name="dicomweb-series-metadata"),
    path(SERIES + "/instances", views.SeriesInstancesView.as_view(), name="dicomweb-series-instances"),
    path(INSTANCE, views.InstanceView.as_view(), name="dicomweb-instance"),
    path(INSTANCE + "/metadata", views.InstanceMetadataView.as_view(), name="dicomweb-instance-metadata"),
    path(INSTANCE + "/frames/<str:frames>", views.FramesView.as_view(), name="dicomweb-frames"),
]
