"""One way to write a time everywhere ("12:42 PM", "Dec 3, 2026, 12:42 PM"), the same as the lists'
own labels (dashboard/display/moments.py), instead of Django's English defaults ("12:42 p.m.",
"Dec. 3, 2026")."""

DATE_FORMAT = "M j, Y"
TIME_FORMAT = "g:i A"
DATETIME_FORMAT = "M j, Y, g:i A"
SHORT_DATE_FORMAT = "M j, Y"
SHORT_DATETIME_FORMAT = "M j, Y, g:i A"
MONTH_DAY_FORMAT = "F j"
YEAR_MONTH_FORMAT = "F Y"
