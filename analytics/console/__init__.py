"""The analytics app's console pages (/console/…): the operators' Fleet pages (`fleet`)."""
