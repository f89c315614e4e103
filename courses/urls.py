from django.urls import path

from courses import views

app_name = "courses"

urlpatterns = [
    path("", views.course_list_view, name="list"),
    path("new/", views.course_create_view, name="create"),
    path("join/", views.course_join_view, name="join"),
    path("join/<str:code>/", views.course_join_link_view, name="join-link"),
    path("<int:pk>/", views.course_detail_view, name="detail"),
    path("<int:pk>/edit/", views.course_edit_view, name="edit"),
    path("<int:pk>/leave/", views.course_leave_view, name="leave"),
    path("<int:pk>/units/", views.unit_create_view, name="unit-add"),
    path("<int:pk>/materials/", views.entry_add_view, name="entry-add"),
    path("<int:pk>/invites/", views.invite_create_view, name="invite-add"),
    path("<int:pk>/export/<str:fmt>/", views.course_export_view, name="export"),
    path("<int:pk>/progress/", views.course_progress_view, name="progress"),
    path("<int:pk>/progress.csv", views.course_progress_csv_view, name="progress-csv"),
    path("<int:pk>/anki/", views.course_anki_view, name="anki"),
    path("<int:pk>/reports/", views.course_reports_view, name="reports"),
    path("units/<int:pk>/delete/", views.unit_delete_view, name="unit-delete"),
    path("entries/<int:pk>/remove/", views.entry_remove_view, name="entry-remove"),
    path("invites/<int:pk>/revoke/", views.invite_revoke_view, name="invite-revoke"),
    path("members/<int:pk>/remove/", views.member_remove_view, name="member-remove"),
    path("reports/<int:pk>/resolve/", views.report_resolve_view, name="report-resolve"),
]
