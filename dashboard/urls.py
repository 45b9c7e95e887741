from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard.views import assignments, common, lockboxes, prospects, search, shell, showings, sync, units

urlpatterns = [
    path("", shell.home, name="home"),
    path("healthz", shell.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("integrations.rentengine.urls")),
    path("account/", common.account_switch, name="account_switch"),
    path("search/", search.search, name="search"),
    path("units/", units.unit_list, name="units"),
    path("units/<int:unit_id>/", units.unit_detail, name="unit"),
    path("prospects/", prospects.prospect_list, name="prospects"),
    path("prospects/<int:prospect_id>/", prospects.prospect_detail, name="prospect"),
    path("prospects/<int:prospect_id>/quick/", prospects.prospect_quick, name="prospect_quick"),
    path("showings/", showings.showing_agenda, name="showings"),
    path("lockboxes/", lockboxes.lockbox_list, name="lockboxes"),
    path("lockboxes/activity/", lockboxes.lockbox_activity, name="lockbox_activity"),
    path("lockboxes/<uuid:lockbox_id>/", lockboxes.lockbox_detail, name="lockbox"),
    path("assignments/", assignments.assignment_list, name="assignments"),
    path("assignments/matching/", assignments.assignment_matching, name="assignment_matching"),
    path("assignments/new/", assignments.assignment_dialog, name="assignment_dialog"),
    path("assignments/create/", assignments.assignment_create, name="assignment_create"),
    path("assignments/<int:job_id>/", assignments.assignment_detail, name="assignment"),
    path("assignments/<int:job_id>/toast/", assignments.assignment_toast, name="assignment_toast"),
    path("assignments/<int:job_id>/retry/", assignments.assignment_retry, name="assignment_retry"),
    path("assignments/<int:job_id>/undo/", assignments.assignment_undo, name="assignment_undo"),
    path("assignments/<int:job_id>/rows/<int:row_id>/<str:decision>/", assignments.assignment_decide, name="assignment_decide"),
    path("sync/", sync.sync_status, name="sync"),
    path("sync/run/", sync.sync_now, name="sync_now"),
    path("sync/test-connection/", sync.sync_test_connection, name="sync_test_connection"),
    *[path(f"{screen}/", shell.coming_soon, {"screen": screen}, name=screen) for screen in shell.COMING],
]
