"""The analytics app's console pages (/console/…): the operators' Fleet pages (`fleet`), business
cases (`business_cases`) and the finance Revenue page (`revenue`)."""
