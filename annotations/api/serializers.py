from django.utils.translation import gettext as _
from rest_framework import serializers

from annotations import access
from annotations.models import ROI, JointRegion, Label, Series


class LabelSerializer(serializers.ModelSerializer):
    display_name = serializers.SerializerMethodField()

    class Meta:
        model = Label
        fields = ["name", "display_name", "color", "order"]

    def get_display_name(self, label) -> str:
        return _(label.display_name)


class SeriesSerializer(serializers.ModelSerializer):
    subject = serializers.CharField(source="study.subject.pseudonym")
    study_instance_uid = serializers.CharField(source="study.study_instance_uid")
    shape = serializers.SerializerMethodField()
    window = serializers.SerializerMethodField()
    unit = serializers.SerializerMethodField()
    can_annotate = serializers.SerializerMethodField()
    can_review = serializers.SerializerMethodField()

    class Meta:
        model = Series
        fields = [
            "id",
            "study_instance_uid",
            "subject",
            "description",
            "modality",
            "shape",
            "pixel_spacing_mm",
            "slice_thickness_mm",
            "slice_positions_mm",
            "image_positions_patient",
            "image_orientation_patient",
            "phase_times_s",
            "time_source",
            "time_is_estimated",
            "window",
            "unit",
            "warnings",
            "can_annotate",
            "can_review",
        ]

    def get_shape(self, series) -> list[int]:
        return list(series.shape)

    def get_window(self, series) -> dict:
        return {"center": series.window_center, "width": series.window_width}

    def get_unit(self, series) -> str:
        return _("modality units")

    def get_can_annotate(self, series) -> bool:
        return access.can_annotate(self.context["request"].user)

    def get_can_review(self, series) -> bool:
        return access.can_review(self.context["request"].user)


class ROISerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="label.name")
    author = serializers.CharField(source="author.username")
    editable = serializers.SerializerMethodField()

    class Meta:
        model = ROI
        fields = [
            "id",
            "series",
            "slice_index",
            "label",
            "polygon",
            "polygon_mm",
            "author",
            "version",
            "is_generated",
            "editable",
            "created",
            "updated",
        ]

    def get_editable(self, roi) -> bool:
        user = self.context["request"].user
        return roi.author_id == user.id and access.can_annotate(user)


class ROIWriteSerializer(serializers.Serializer):
    slice_index = serializers.IntegerField()
    label = serializers.CharField(max_length=32)
    polygon = serializers.JSONField()


class ROIPatchSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=32, required=False)
    polygon = serializers.JSONField(required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(_("Send at least one of: label, polygon."))
        return attrs


class JointRegionSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", default=None, read_only=True)

    class Meta:
        model = JointRegion
        fields = [
            "id",
            "series",
            "name",
            "side",
            "slice_start",
            "slice_end",
            "box",
            "author",
            "source",
        ]
        read_only_fields = ["id", "series", "author", "source"]
