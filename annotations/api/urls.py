from django.urls import path

from . import views

urlpatterns = [
    path("labels/", views.label_list, name="label-list"),
    path("series/", views.series_list, name="series-list-api"),
    path("series/<int:pk>/", views.series_detail, name="series-detail"),
    path(
        "series/<int:pk>/frames/<int:phase>/<int:slice_index>/",
        views.series_frame,
        name="series-frame",
    ),
    path("series/<int:pk>/curve/", views.series_curve, name="series-curve"),
    path("series/<int:pk>/rois/", views.series_rois, name="series-rois"),
    path("series/<int:pk>/joints/", views.series_joints, name="series-joints"),
    path("rois/<int:pk>/", views.roi_detail, name="roi-detail"),
    path("rois/<int:pk>/tic/", views.roi_tic, name="roi-tic"),
    path("joints/<int:pk>/", views.joint_detail, name="joint-detail"),
]
