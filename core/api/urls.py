from django.urls import path

from core.api.views import TestClockView

urlpatterns = [path("test-clock/", TestClockView.as_view(), name="test-clock")]
