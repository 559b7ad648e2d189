"""The console's Leases page (/console/leases/…), included from config/urls.py."""

from django.urls import path

from leasing import console

app_name = "leasing-console"

urlpatterns = [
    path("", console.leases, name="leases"),
    path("quote/", console.quote, name="quote"),
    path("take/", console.take, name="take"),
    path("<int:pk>/stop/", console.stop, name="stop"),
    path("<int:pk>/terminate/", console.terminate, name="terminate"),
]
