"""The console's own routes (/console/…): login, logout, the language switch and the homes.
Apps' pages are included from config/urls.py, `path("console/<area>/", include(...))` (core
imports no app)."""

from django.urls import path
from django.views.i18n import set_language

from core import console

app_name = "console"

urlpatterns = [
    path("", console.home, name="home"),
    path("login/", console.LoginView.as_view(), name="login"),
    path("logout/", console.LogoutView.as_view(), name="logout"),
    path("language/", set_language, name="set-language"),
    path("tenant/", console.tenant_home, name="tenant-home"),
    path("staff/", console.staff_home, name="staff-home"),
]
