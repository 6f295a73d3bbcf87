import datetime as dt

# A Monday with no bank holiday within four weeks either side.
MONDAY = dt.date(2026, 11, 23)
