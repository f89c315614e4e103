from django.urls import include, path

from materials import views

app_name = "materials"

urlpatterns = [
    path("", views.material_list_view, name="list"),
    path("upload/", views.material_upload_view, name="upload"),
    path("youtube/", views.material_youtube_view, name="youtube"),
    path("<int:pk>/", views.material_detail_view, name="detail"),
    path("<int:pk>/reprocess/", views.material_reprocess_view, name="reprocess"),
    path("<int:pk>/delete/", views.material_delete_view, name="delete"),
    path("<int:pk>/subtitles/", views.material_subtitles_view, name="subtitles"),
    path("<int:pk>/file/", views.material_file_view, name="file"),
    path("<int:pk>/text/", views.material_text_view, name="text"),
    path("<int:pk>/report/", views.material_report_view, name="report"),
    path("", include("materials.study.urls")),
]
