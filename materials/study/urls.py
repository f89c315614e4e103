"""Study pages (included by materials.urls, so named materials:…) and API routes."""

from django.urls import path

from materials.study import apis, private_apis, question_apis, views

urlpatterns = [
    path("<int:pk>/notes/", views.study_notes_view, name="notes"),
    path("<int:pk>/read/", views.reader_view, name="read"),
    path("<int:pk>/study/retry/", views.study_retry_view, name="study-retry"),
    path("<int:pk>/flashcards/", views.flashcard_list_view, name="flashcards"),
    path("<int:pk>/flashcards/add/", views.flashcard_create_view, name="flashcard-add"),
    path("<int:pk>/quiz/", views.quiz_view, name="quiz"),
    path("<int:pk>/export/<str:fmt>/", views.export_view, name="export"),
    path("review/", views.review_view, name="review"),
    path("review/settings/", views.study_settings_view, name="study-settings"),
    path("flashcards/<int:pk>/edit/", views.flashcard_edit_view, name="flashcard-edit"),
    path("flashcards/<int:pk>/suspend/", views.flashcard_suspend_view, name="flashcard-suspend"),
    path("flashcards/<int:pk>/delete/", views.flashcard_delete_view, name="flashcard-delete"),
    path("flashcards/<int:pk>/report/", views.flashcard_report_view, name="flashcard-report"),
    path("flashcards/<int:pk>/review/", views.flashcard_review_view, name="flashcard-review"),
    path("flashcards/<int:pk>/private/", views.flashcard_private_view, name="flashcard-private"),
    path("quiz/attempts/<int:pk>/", views.attempt_view, name="attempt"),
    path("questions/<int:pk>/flashcard/", views.question_flashcard_view, name="question-card"),
    path("questions/<int:pk>/report/", views.question_report_view, name="question-report"),
    path("questions/<int:pk>/edit/", views.question_edit_view, name="question-edit"),
    path("questions/<int:pk>/hide/", views.question_hide_view, name="question-hide"),
]

api_urlpatterns = [
    path("materials/<int:pk>/summary/", apis.SummaryApi.as_view(), name="study-summary"),
    path("materials/<int:pk>/notes/", apis.NotesApi.as_view(), name="study-notes"),
    path(
        "materials/<int:pk>/study/regenerate/",
        apis.RegenerateApi.as_view(),
        name="study-regenerate",
    ),
    path(
        "materials/<int:pk>/flashcards/",
        apis.MaterialFlashcardsApi.as_view(),
        name="material-flashcards",
    ),
    path("materials/<int:pk>/quiz/", apis.QuizApi.as_view(), name="quiz"),
    path(
        "materials/<int:pk>/quiz/attempts/",
        apis.QuizAttemptsApi.as_view(),
        name="quiz-attempts",
    ),
    path(
        "materials/<int:pk>/export/<str:fmt>/",
        apis.ExportApi.as_view(),
        name="study-export",
    ),
    path("flashcards/due/", apis.DueFlashcardsApi.as_view(), name="flashcards-due"),
    path("study/settings/", apis.StudySettingsApi.as_view(), name="study-settings"),
    path("flashcards/<int:pk>/", apis.FlashcardApi.as_view(), name="flashcard"),
    path("flashcards/<int:pk>/review/", apis.FlashcardReviewApi.as_view(), name="flashcard-review"),
    path("flashcards/<int:pk>/report/", apis.FlashcardReportApi.as_view(), name="flashcard-report"),
    path(
        "flashcards/<int:pk>/private/",
        private_apis.PrivateEditApi.as_view(),
        name="flashcard-private",
    ),
    path("quiz/attempts/<int:pk>/", apis.QuizAttemptApi.as_view(), name="quiz-attempt"),
    path(
        "quiz/questions/<int:pk>/flashcard/",
        apis.QuestionFlashcardApi.as_view(),
        name="question-flashcard",
    ),
    path("quiz/questions/<int:pk>/", question_apis.QuestionApi.as_view(), name="question"),
    path(
        "quiz/questions/<int:pk>/report/",
        apis.QuestionReportApi.as_view(),
        name="question-report",
    ),
]
