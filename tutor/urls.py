from django.urls import path

from tutor import views

app_name = "tutor"

urlpatterns = [
    path("", views.tutor_index_view, name="index"),
    path("new/", views.conversation_create_view, name="create"),
    path("<int:pk>/", views.conversation_view, name="conversation"),
    path("<int:pk>/ask/", views.message_create_view, name="ask"),
    path("<int:pk>/stream/", views.message_stream_view, name="stream"),
    path("messages/<int:pk>/missed/", views.message_missed_view, name="missed"),
]
